"""Head-and-neck MRI -> SPR stand-in: 3D phantoms with Dixon channels and an SPR map, one NIfTI per channel.

Per patient a head-like ellipsoid on a 1.3 x 1.3 x 3.0 mm grid: subcutaneous fat, soft tissue, a skull shell,
a mandible and vertebrae (bone), and air cavities (nasal / oral airway) inside the body. Bone and air are both
dark on every MRI channel (the reason for the paper's bone channel); fat is bright in-phase and in the fat
image, dark in the water image. Each channel is a per-tissue mean x a smooth bias field + Rician-like noise.
The target is SPR x 1000 per tissue (air 1, fat 950, soft tissue 1040, bone 1450-1750) with smooth variation,
plus a couch slab outside the body that the body mask excludes (as the paper's mask removes the couch).

Example:
    >>> import tempfile, pathlib
    >>> generate_hn_mri2spr(pathlib.Path(tempfile.mkdtemp()), n_patients=1, shape=(16, 16, 6), seed=0)
    ['HN001']
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy import ndimage

__all__ = ["TISSUE_SPR", "generate_hn_mri2spr"]

AIR, FAT, SOFT, BONE = 1, 2, 3, 4
TISSUE_SPR = {0: 0.0, AIR: 1.0, FAT: 950.0, SOFT: 1040.0, BONE: 1600.0}
# per-tissue means: in-phase (T1-W), opposed-phase, water (fat-suppressed), fat (water-suppressed)
_MRI = {"in_phase": {AIR: 15, FAT: 850, SOFT: 420, BONE: 70},
        "opposed_phase": {AIR: 15, FAT: 250, SOFT: 380, BONE: 60},
        "water": {AIR: 10, FAT: 70, SOFT: 500, BONE: 45},
        "fat": {AIR: 10, FAT: 760, SOFT: 60, BONE: 120}}


def _tissues(shape: tuple[int, int, int], rng: np.random.Generator, spacing: tuple[float, ...]) -> np.ndarray:
    grid = np.meshgrid(*[(np.arange(n) - (n - 1) / 2) * s for n, s in zip(shape, spacing)], indexing="ij")
    x, y, z = grid
    half = [n * s / 2 for n, s in zip(shape, spacing)]
    ax, ay, az = half[0] * rng.uniform(0.72, 0.82), half[1] * rng.uniform(0.78, 0.88), half[2] * 1.6
    r = np.sqrt((x / ax) ** 2 + (y / ay) ** 2 + (z / az) ** 2)
    lab = np.zeros(shape, np.uint8)
    lab[r <= 1] = FAT
    lab[r <= 0.9] = SOFT
    skull = (r <= 0.82) & (r > 0.82 - rng.uniform(0.07, 0.1)) & (y < ay * 0.1)
    lab[skull] = BONE
    mandible = (np.abs(np.sqrt((x / (ax * 0.6)) ** 2 + ((y - ay * 0.2) / (ay * 0.55)) ** 2) - 0.85) < 0.08) & \
        (y > ay * 0.2) & (z < 0)
    lab[mandible & (r <= 0.9)] = BONE
    spine = ((x / (ax * 0.14)) ** 2 + ((y + ay * 0.55) / (ay * 0.12)) ** 2) <= 1
    lab[spine & (r <= 0.9)] = BONE
    airway = ((x - rng.uniform(-2, 2)) / (ax * 0.1)) ** 2 + ((y - ay * 0.1) / (ay * 0.12)) ** 2 <= 1
    lab[airway & (r <= 0.85)] = AIR
    sinus = (((x / (ax * 0.25)) ** 2 + ((y - ay * 0.45) / (ay * 0.15)) ** 2 + ((z - az * 0.3) / (az * 0.25)) ** 2)
             <= 1)
    lab[sinus & (r <= 0.85)] = AIR
    return lab


def _smooth_field(shape: tuple[int, ...], rng: np.random.Generator, amplitude: float, sigma: float) -> np.ndarray:
    f = ndimage.gaussian_filter(rng.normal(0, 1, shape), sigma)
    return 1 + amplitude * f / (np.abs(f).max() + 1e-9)


def _save(path: Path, vol: np.ndarray, affine: np.ndarray) -> None:
    import nibabel as nib

    nib.save(nib.Nifti1Image(vol, affine), path)


def generate_hn_mri2spr(root: Path, *, n_patients: int = 16, shape: tuple[int, int, int] = (64, 64, 24),
                        spacing: tuple[float, float, float] = (1.3, 1.3, 3.0), seed: int = 2023) -> list[str]:
    """Write the stand-in under ``root`` and return the patient ids (``HN001`` ...)."""
    root, shape = Path(root), tuple(int(s) for s in shape)
    affine = np.diag([*spacing, 1.0])
    ids = []
    for p in range(n_patients):
        rng = np.random.default_rng([seed, p])
        case = f"HN{p + 1:03d}"
        ids.append(case)
        (root / case).mkdir(parents=True, exist_ok=True)
        lab = _tissues(shape, rng, spacing)
        body = lab > 0
        bone = lab == BONE
        bias = _smooth_field(shape, rng, 0.15, 6)
        for name, means in _MRI.items():
            vol = np.zeros(shape, np.float32)
            for t, m in means.items():
                vol[lab == t] = m * rng.uniform(0.95, 1.05)
            vol = vol * bias
            vol = np.hypot(vol + rng.normal(0, 12, shape), rng.normal(0, 12, shape)).astype(np.float32)
            _save(root / case / f"{name}.nii.gz", vol, affine)
            if name == "water":
                _save(root / case / "bone.nii.gz", (vol * bone).astype(np.float32), affine)
        spr = np.zeros(shape, np.float32)
        for t, v in TISSUE_SPR.items():
            spr[lab == t] = v
        cortical = bone & ~ndimage.binary_erosion(bone)
        spr[cortical] = 1750.0
        spr[bone & ~cortical] = 1450.0
        spr[body & (lab != AIR)] *= _smooth_field(shape, rng, 0.015, 4)[body & (lab != AIR)]
        couch = np.zeros(shape, bool)
        couch[:, -3:-1, :] = True  # the treatment couch below the head, outside the body mask
        spr[couch & ~body] = 1100.0
        _save(root / case / "spr.nii.gz", spr, affine)
        _save(root / case / "body_mask.nii.gz", body.astype(np.uint8), affine)
    return ids
