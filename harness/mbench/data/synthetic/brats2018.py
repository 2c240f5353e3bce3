"""A BraTS 2018-like stand-in: multi-modal brain MRI volumes with gliomas, in the official layout.

Writes ``<root>/HGG/<case>/<case>_{flair,t1,t1ce,t2,seg}.nii.gz`` with labels 0 (background),
1 (necrotic / non-enhancing core, NCR), 2 (peritumoural oedema, ED) and 4 (enhancing tumour, ET),
exactly as the BraTS 2018 training release, so the real adapter reads it unchanged.

The anatomy: a brain ellipsoid inside a scalp shell, grey and white matter mixed by a smooth
random field, CSF in ventricles and at the cortex. Each patient has one tumour of random size
and position with an irregular boundary: oedema (bright in FLAIR and T2), an enhancing rim
(bright in T1ce only), and usually a necrotic core (dark in T1ce, bright in T2). Intensities
carry a smooth bias field and Rician noise. Everything is drawn from ``numpy.random.SeedSequence``
so the same parameters always give the same arrays.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy import ndimage

__all__ = ["generate_brats2018", "MODALITIES"]

MODALITIES = ("flair", "t1", "t1ce", "t2")

# Mean intensity per tissue class and modality (arbitrary scanner units, roughly BraTS-like contrast).
_TISSUES = ("background", "csf", "grey", "white", "scalp", "oedema", "necrosis", "enhancing")
_MEANS = {
    "t1":    (0, 300, 560, 760, 880, 470, 290, 520),
    "t1ce":  (0, 310, 570, 770, 900, 500, 240, 1150),
    "t2":    (0, 1250, 720, 520, 420, 1050, 1200, 820),
    "flair": (0, 140, 620, 480, 380, 1080, 760, 900),
}


def _interpolation_matrix(n: int, c: int) -> np.ndarray:
    """(n, c) matrix that linearly interpolates c coarse samples onto n fine ones."""
    pos = np.linspace(0, c - 1, n)
    lo = np.minimum(np.floor(pos).astype(int), c - 2) if c > 1 else np.zeros(n, int)
    frac = pos - lo
    mat = np.zeros((n, c), dtype=np.float32)
    mat[np.arange(n), lo] = 1 - frac
    if c > 1:
        mat[np.arange(n), lo + 1] = frac
    return mat


def _smooth_field(rng: np.random.Generator, shape: tuple[int, ...], coarse: tuple[int, ...]) -> np.ndarray:
    """Smooth random field in [-1, 1]: coarse Gaussian noise, linearly interpolated (separably)."""
    field = rng.standard_normal(coarse).astype(np.float32)
    for axis, (n, c) in enumerate(zip(shape, coarse)):
        field = np.moveaxis(np.tensordot(_interpolation_matrix(n, c), field, axes=(1, axis)), 0, axis)
    return field / (np.abs(field).max() + 1e-8)


def _tumour_masks(rng: np.random.Generator, coords: list[np.ndarray], brain: np.ndarray,
                  shape: tuple[int, int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (whole tumour, tumour core, necrosis) boolean masks with irregular boundaries."""
    x, y, z = coords
    nx, ny, nz = shape
    inside = np.argwhere(brain[nx // 4: 3 * nx // 4, ny // 4: 3 * ny // 4, nz // 4: 3 * nz // 4])
    centre = inside[rng.integers(len(inside))] + np.array([nx // 4, ny // 4, nz // 4])
    r_xy = rng.uniform(0.13, 0.25) * nx
    r_z = rng.uniform(0.16, 0.32) * nz
    aspect = rng.uniform(0.75, 1.3)
    d = np.sqrt(((x - centre[0]) / (r_xy * aspect)) ** 2 + ((y - centre[1]) / (r_xy / aspect)) ** 2
                + ((z - centre[2]) / r_z) ** 2)
    d = d * (1 + 0.22 * _smooth_field(rng, shape, (6, 6, 4)))
    whole = (d < 1.0) & brain
    core_frac = rng.uniform(0.5, 0.8)
    core = d < core_frac
    necrosis_frac = rng.uniform(0.35, 0.7) * core_frac if rng.random() < 0.85 else 0.0
    necrosis = d < necrosis_frac
    return whole, core & whole, necrosis & whole


def _patient(seed: np.random.SeedSequence, shape: tuple[int, int, int]) -> tuple[dict[str, np.ndarray], np.ndarray]:
    rng = np.random.default_rng(seed)
    nx, ny, nz = shape
    x, y, z = np.meshgrid(np.arange(nx), np.arange(ny), np.arange(nz), indexing="ij")
    cx, cy, cz = nx / 2 + rng.uniform(-3, 3), ny / 2 + rng.uniform(-3, 3), nz / 2
    ax, ay, az = nx * rng.uniform(0.33, 0.38), ny * rng.uniform(0.40, 0.45), nz * rng.uniform(0.55, 0.62)
    radial = np.sqrt(((x - cx) / ax) ** 2 + ((y - cy) / ay) ** 2 + ((z - cz) / az) ** 2)
    radial = radial * (1 + 0.03 * _smooth_field(rng, shape, (8, 8, 4)))
    brain = radial < 1.0
    scalp = (radial >= 1.06) & (radial < 1.16)

    folds = _smooth_field(rng, shape, (14, 14, 6))
    grey = brain & ((radial > 0.86) | (folds > 0.35))
    csf = brain & (((radial > 0.95) & (folds < -0.2)) | (radial > 0.985))
    vent = (np.abs(x - cx) - nx * 0.05) ** 2 / (nx * 0.05) ** 2 + (y - cy - ny * 0.02) ** 2 / (ny * 0.13) ** 2 \
        + (z - cz) ** 2 / (nz * 0.18) ** 2 < 1.0
    csf |= brain & vent & (np.abs(x - cx) > 1)

    whole, core, necrosis = _tumour_masks(rng, [x, y, z], brain, shape)
    labels = np.zeros(shape, dtype=np.uint8)
    labels[whole] = 2
    labels[core] = 4
    labels[necrosis] = 1

    tissue = np.zeros(shape, dtype=np.uint8)  # index into _TISSUES
    tissue[scalp] = 4
    tissue[brain] = 3
    tissue[grey] = 2
    tissue[csf] = 1
    tissue[labels == 2] = 5
    tissue[labels == 1] = 6
    tissue[labels == 4] = 7

    bias = 1 + 0.12 * _smooth_field(rng, shape, (3, 3, 2))
    texture = 1 + 0.05 * _smooth_field(rng, shape, (24, 24, 10))
    images = {}
    for modality in MODALITIES:
        means = np.asarray(_MEANS[modality], dtype=np.float32) * rng.uniform(0.9, 1.1)
        img = means[tissue] * texture
        img = ndimage.gaussian_filter(img, sigma=(0.7, 0.7, 0.4))
        img *= bias
        sigma = 0.03 * means[3]
        noisy = np.sqrt((img + rng.normal(0, sigma, shape)) ** 2 + rng.normal(0, sigma, shape) ** 2)
        noisy[~(brain | scalp)] = 0  # BraTS volumes are skull-stripped-style: zero outside the head
        images[modality] = np.round(noisy).astype(np.int16)
    return images, labels


def generate_brats2018(root: Path, *, n_patients: int = 120, shape: tuple[int, int, int] = (128, 128, 40),
                       spacing: tuple[float, float, float] = (1.875, 1.875, 3.875), seed: int = 2018,
                       id_prefix: str = "Brats18_SYN", case_ids: list[str] | None = None) -> list[str]:
    """Write the stand-in under ``root`` and return the case ids, in the BraTS 2018 HGG layout.

    Case ids are ``<id_prefix>_<NNN>_1``, or exactly ``case_ids`` when given (then ``n_patients``
    is ignored), e.g. the real release's ids to exercise the real split manifest end to end.

    Example:
        >>> import tempfile, pathlib
        >>> ids = generate_brats2018(pathlib.Path(tempfile.mkdtemp()), n_patients=2, shape=(32, 32, 8))
        >>> ids
        ['Brats18_SYN_001_1', 'Brats18_SYN_002_1']
    """
    import nibabel as nib

    shape = tuple(int(s) for s in shape)
    affine = np.diag([-spacing[0], -spacing[1], spacing[2], 1.0])
    names = list(case_ids) if case_ids is not None else [f"{id_prefix}_{i + 1:03d}_1" for i in range(n_patients)]
    ids = []
    for case, child in zip(names, np.random.SeedSequence(seed).spawn(len(names))):
        images, labels = _patient(child, shape)
        folder = Path(root) / "HGG" / case
        folder.mkdir(parents=True, exist_ok=True)
        for modality, volume in images.items():
            nib.save(nib.Nifti1Image(volume, affine), folder / f"{case}_{modality}.nii.gz")
        nib.save(nib.Nifti1Image(labels, affine), folder / f"{case}_seg.nii.gz")
        ids.append(case)
    return ids
