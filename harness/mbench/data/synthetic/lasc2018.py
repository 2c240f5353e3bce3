"""Synthetic LASC 2018 stand-in in the release layout (``Training Set/<case>/lgemri.nrrd`` + ``laendo.nrrd``).

A late-gadolinium-enhancement chest MRI (uint8, as the release): bright subcutaneous fat, nulled (dark)
myocardium, mid-grey blood pools, a left atrium made of two or three overlapping ellipsoids (body, appendage,
pulmonary-vein stub) whose one-voxel wall enhances in random patches (fibrosis), a left ventricle and an
aorta, a smooth bias field and Rician noise. Scans alternate between two in-plane sizes, as the release has
576 x 576 and 640 x 640 scans; the mask (0 / 255) is the atrial cavity.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy import ndimage

__all__ = ["generate_lasc2018"]

_ALPHABET = np.array(list("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"))


def _ellipsoid(x, y, z, c, r) -> np.ndarray:
    return ((x - c[0]) / r[0]) ** 2 + ((y - c[1]) / r[1]) ** 2 + ((z - c[2]) / r[2]) ** 2 <= 1


def generate_lasc2018(root: Path, n_cases: int = 16, sizes=(72, 80), n_slices: int = 16, spacing_xy: float = 5.0,
                      spacing_z: float = 6.875, seed: int = 2018) -> list[str]:
    """Write ``n_cases`` scans with 20-character ids like the release's; return the ids."""
    import nrrd

    rng = np.random.default_rng(seed)
    ids = []
    for k in range(n_cases):
        case = "".join(rng.choice(_ALPHABET, 20))
        n = int(sizes[k % len(sizes)])
        fov = n * spacing_xy
        ax = [(np.arange(n) - n / 2) * spacing_xy, (np.arange(n) - n / 2) * spacing_xy,
              (np.arange(n_slices) - n_slices / 2) * spacing_z]
        x, y, z = np.meshgrid(*ax, indexing="ij")
        body = (x / (0.45 * fov)) ** 2 + (y / (0.33 * fov)) ** 2 <= 1
        fat = body & ~((x / (0.45 * fov - 12)) ** 2 + (y / (0.33 * fov - 12)) ** 2 <= 1)
        la_c = np.asarray([rng.uniform(-10, 10), rng.uniform(5, 20), rng.uniform(-8, 8)])
        la = _ellipsoid(x, y, z, la_c, rng.uniform([20, 15, 18], [30, 22, 28]))
        for _ in range(int(rng.integers(1, 3))):  # appendage / pulmonary-vein stub
            off = rng.uniform([-25, -10, -15], [25, 10, 15])
            la |= _ellipsoid(x, y, z, la_c + off, rng.uniform([8, 6, 8], [14, 10, 14]))
        lv = _ellipsoid(x, y, z, la_c + [rng.uniform(-15, 15), -40, -10], [28, 24, 30]) & ~la
        aorta = ((x - la_c[0] - 25) / 11) ** 2 + ((y - la_c[1] + 15) / 11) ** 2 <= 1
        wall = ndimage.binary_dilation(la, iterations=1) & ~la
        lv_wall = ndimage.binary_dilation(lv, iterations=2) & ~lv & ~la
        patches = ndimage.gaussian_filter(rng.normal(size=la.shape), 1.5) > 0.15
        img = np.where(body, 55.0, 3.0)
        img[fat] = 190
        img[lv_wall | wall] = 25  # nulled myocardium
        img[wall & patches] = 210  # enhancing (fibrotic) atrial wall
        img[lv | (aorta & body)] = 115
        img[la] = 120 + 6 * np.sin(z[la] / 9)
        bias = 1 + 0.25 * np.sin(x / fov * np.pi + rng.uniform(0, 6)) * np.cos(y / fov * np.pi)
        img = ndimage.gaussian_filter(img * bias, 0.6)
        noisy = np.hypot(img + rng.normal(0, 9, img.shape), rng.normal(0, 9, img.shape))
        header = {"space": "left-posterior-superior",
                  "space directions": np.diag([spacing_xy, spacing_xy, spacing_z]),
                  "space origin": np.asarray([-fov / 2, -fov / 2, 0.0])}
        folder = Path(root) / "Training Set" / case
        folder.mkdir(parents=True, exist_ok=True)
        nrrd.write(str(folder / "lgemri.nrrd"), np.clip(noisy, 0, 255).astype(np.uint8), header)
        nrrd.write(str(folder / "laendo.nrrd"), (la * 255).astype(np.uint8), header)
        ids.append(case)
    return ids
