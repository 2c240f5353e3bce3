"""A CAMUS-like stand-in: apical 2- and 4-chamber echocardiograms with speckle, in the CAMUS MetaImage layout.

Writes ``<root>/training/patientNNNN/patientNNNN_{2CH,4CH}_{ED,ES}[_gt].mhd`` (+ ``.raw``) for the first
``n_train`` patients and ``<root>/testing/...`` for the next ``n_test``, as the CAMUS release (450 / 50).
Labels: 0 background, 1 left-ventricle cavity, 2 myocardium, 3 left atrium.

Appearance: a fan-shaped ultrasound sector on black, with multiplicative Rayleigh speckle, depth
attenuation and a bright myocardial wall around a dark blood pool; the atrium is a dark ellipse below
the ventricle's base. End-systole has a smaller cavity and a thicker wall. Image sizes vary a little
per patient (as in CAMUS), so the task's resize is exercised.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy import ndimage

from mbench.data.adapters.metaimage import write_mhd
from mbench.data.synthetic.textures import ellipse_mask, smooth_field, to_uint8

__all__ = ["generate_camus"]


def _view(rng: np.random.Generator, shape: tuple[int, int], phase: str, anatomy: dict) -> tuple[np.ndarray, np.ndarray]:
    h, w = shape
    yy, xx = np.mgrid[:h, :w].astype(np.float32)
    apex = (0.02 * h, w / 2)
    radius = np.hypot(yy - apex[0], xx - apex[1])
    angle = np.arctan2(xx - apex[1], yy - apex[0])
    sector = (radius < 0.97 * h) & (np.abs(angle) < np.deg2rad(anatomy["half_angle"]))

    squeeze = 0.78 if phase == "ES" else 1.0
    lv_centre = (anatomy["lv_y"] * h, w / 2 + anatomy["shift"] * w)
    lv_r = (anatomy["lv_len"] * h * (0.9 + 0.1 * squeeze), anatomy["lv_wid"] * w * squeeze)
    tilt = anatomy["tilt"]
    cavity = ellipse_mask(shape, lv_centre, lv_r, tilt)
    wall = anatomy["wall"] * w * (1.25 if phase == "ES" else 1.0)
    outer = ellipse_mask(shape, lv_centre, (lv_r[0] + wall, lv_r[1] + wall), tilt)
    base_y = lv_centre[0] + lv_r[0] * 0.85
    outer &= yy < base_y  # the ventricle is open at the mitral valve
    cavity &= yy < base_y
    la_centre = (base_y + anatomy["la_len"] * h * 0.95, lv_centre[1] + anatomy["la_shift"] * w)
    atrium = ellipse_mask(shape, la_centre, (anatomy["la_len"] * h * (1.1 if phase == "ES" else 1.0),
                                             anatomy["la_wid"] * w), tilt) & (yy > base_y + 2)
    labels = np.zeros(shape, np.uint8)
    labels[outer] = 2
    labels[cavity] = 1
    labels[atrium & ~outer] = 3
    labels[~sector] = 0

    tissue = 0.42 + 0.12 * smooth_field(rng, shape, 6.0)
    tissue[outer & ~cavity] = 0.85 + 0.1 * smooth_field(rng, shape, 3.0)[outer & ~cavity]
    tissue[cavity | (labels == 3)] = 0.08
    tissue = ndimage.gaussian_filter(tissue, 1.2)
    speckle = rng.rayleigh(0.8, shape).astype(np.float32)
    attenuation = np.exp(-1.1 * radius / h)
    image = 255 * tissue * speckle * attenuation * anatomy["gain"]
    image[~sector] = 0
    return to_uint8(image), labels


def generate_camus(root: Path, *, n_train: int = 40, n_test: int = 10, height: int = 192, seed: int = 2019,
                   spacing: tuple[float, float] = (0.308, 0.154)) -> list[str]:
    """Write the stand-in under ``root`` and return the patient ids (``patient0001`` ...).

    Example:
        >>> import tempfile, pathlib
        >>> generate_camus(pathlib.Path(tempfile.mkdtemp()), n_train=2, n_test=1, height=64)
        ['patient0001', 'patient0002', 'patient0003']
    """
    patients = []
    for i, child in enumerate(np.random.SeedSequence(seed).spawn(n_train + n_test)):
        rng = np.random.default_rng(child)
        name = f"patient{i + 1:04d}"
        folder = Path(root) / ("training" if i < n_train else "testing") / name
        folder.mkdir(parents=True, exist_ok=True)
        h = int(round(height * rng.uniform(0.92, 1.08)))
        shape = (h, int(round(h * rng.uniform(0.78, 0.86))))
        for view in ("2CH", "4CH"):
            anatomy = dict(half_angle=rng.uniform(34, 40), lv_y=rng.uniform(0.36, 0.42), lv_len=rng.uniform(0.22, 0.28),
                           lv_wid=rng.uniform(0.13, 0.17), wall=rng.uniform(0.035, 0.05), tilt=rng.uniform(-0.15, 0.15),
                           shift=rng.uniform(-0.04, 0.04), la_len=rng.uniform(0.1, 0.13), la_wid=rng.uniform(0.1, 0.14),
                           la_shift=rng.uniform(-0.03, 0.03), gain=rng.uniform(0.8, 1.1))
            for phase in ("ED", "ES"):
                image, labels = _view(rng, shape, phase, anatomy)
                stem = folder / f"{name}_{view}_{phase}"
                write_mhd(stem.with_suffix(".mhd"), image[None], (1.0, *spacing))
                write_mhd(folder / f"{name}_{view}_{phase}_gt.mhd", labels[None], (1.0, *spacing))
        patients.append(name)
    return patients
