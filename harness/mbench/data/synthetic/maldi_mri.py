"""Stand-in MALDI / MRI section pairs (paper 13), in the pair-folder layout of :mod:`mbench.data.adapters.maldi_mri`.

``kind="synthetic"`` copies the paper's synthetic design: the reference (fixed, "MALDI") is a filled ellipse with a
line segment and two disks at different intensities; the target (moving, "MRI") is the reference under a smooth
random deformation (Gaussian-smoothed noise, maximum 3-8 px) with a non-linear, non-monotonic intensity remap and
Gaussian noise. ``kind="brain"`` draws a mouse-brain-like coronal section (two hemispheres, cortex, corpus
callosum, hippocampi, ventricles): the MALDI image is a noisy, blocky ion image (MALDI's coarse raster), the MRI a
smooth T2-like slice with CSF-bright ventricles, deformed the same way. The masks are the binarised sections. The
ground-truth field is saved as ``displacement_true.npy`` (2, H, W): ``target(x) = reference(x + d(x))``.

Example:
    >>> import tempfile
    >>> generate_maldi_mri(tempfile.mkdtemp(), n_pairs=2, size=64)
    ['synthetic_01', 'synthetic_02']
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy import ndimage

from mbench.metrics.functional.registration import warp

__all__ = ["brain_section", "generate_maldi_mri", "synthetic_reference"]


def _ellipse(shape: tuple[int, int], centre: tuple[float, float], radii: tuple[float, float],
             angle: float = 0.0) -> np.ndarray:
    y, x = np.indices(shape, dtype=float)
    c, s = np.cos(angle), np.sin(angle)
    dy, dx = y - centre[0], x - centre[1]
    u, v = c * dy + s * dx, -s * dy + c * dx
    return (u / radii[0]) ** 2 + (v / radii[1]) ** 2 <= 1


def synthetic_reference(size: int) -> tuple[np.ndarray, np.ndarray]:
    """Paper 13's synthetic reference: an ellipse (0.5) with a line segment (1.0) and two disks (0.8, 0.25)."""
    shape = (size, size)
    f = size / 256
    obj = _ellipse(shape, (128 * f, 128 * f), (90 * f, 70 * f))
    img = 0.5 * obj.astype(np.float64)
    y, x = np.indices(shape, dtype=float)
    line = (np.abs((y - 128 * f) - 0.6 * (x - 128 * f)) <= 2.5 * f) & (np.abs(x - 128 * f) <= 40 * f)
    img[line & obj] = 1.0
    img[_ellipse(shape, (90 * f, 110 * f), (12 * f, 12 * f))] = 0.8
    img[_ellipse(shape, (170 * f, 140 * f), (14 * f, 14 * f))] = 0.25
    return img, obj


def brain_section(size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A mouse-brain-like coronal section: (MALDI-like ion image, T2-like MRI slice, section mask)."""
    shape = (size, size)
    f = size / 256
    left = _ellipse(shape, (120 * f, 95 * f), (80 * f, 62 * f), 0.2)
    right = _ellipse(shape, (120 * f, 161 * f), (80 * f, 62 * f), -0.2)
    base = _ellipse(shape, (180 * f, 128 * f), (40 * f, 70 * f))
    section = left | right | base
    cortex = section & ~(ndimage.binary_erosion(section, iterations=max(1, int(14 * f))))
    callosum = _ellipse(shape, (105 * f, 128 * f), (6 * f, 60 * f)) & section
    hippo = (_ellipse(shape, (135 * f, 90 * f), (12 * f, 28 * f), 0.5)
             | _ellipse(shape, (135 * f, 166 * f), (12 * f, 28 * f), -0.5)) & section
    ventricles = (_ellipse(shape, (118 * f, 112 * f), (14 * f, 5 * f), 0.3)
                  | _ellipse(shape, (118 * f, 144 * f), (14 * f, 5 * f), -0.3)) & section
    maldi = np.where(section, 0.45, 0.0)
    maldi[cortex] = 0.7
    maldi[callosum] = 0.95  # white-matter lipids
    maldi[hippo] = 0.55
    maldi[ventricles] = 0.2
    mri = np.where(section, 0.35, 0.0)
    mri[cortex] = 0.45
    mri[callosum] = 0.15  # dark white matter on T2
    mri[hippo] = 0.5
    mri[ventricles] = 0.95  # bright CSF
    return maldi, mri, section


def _smooth_field(rng: np.random.Generator, shape: tuple[int, int], amplitude: float, sigma: float) -> np.ndarray:
    field = np.stack([ndimage.gaussian_filter(rng.standard_normal(shape), sigma) for _ in range(2)])
    return field * (amplitude / (np.abs(field).max() + 1e-12))


def _save(path: Path, array: np.ndarray) -> None:
    import nibabel as nib

    nib.save(nib.Nifti1Image(np.ascontiguousarray(array), np.eye(4)), str(path))


def _remap(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A non-linear, non-monotonic intensity look-up (different for every pair)."""
    phase = rng.uniform(0, np.pi)
    return 0.5 + 0.35 * np.sin(3.0 * np.pi * img + phase) * (img > 0.05) + 0.15 * img


def generate_maldi_mri(root: str | Path, *, n_pairs: int = 4, size: int = 256, kind: str = "synthetic",
                       seed: int = 2023) -> list[str]:
    """Write ``n_pairs`` stand-in pairs of ``kind`` (``synthetic`` or ``brain``) and return their ids."""
    root = Path(root)
    ids = []
    for k in range(1, n_pairs + 1):
        rng = np.random.default_rng([seed, k])
        if kind == "synthetic":
            reference, obj = synthetic_reference(size)
            target_clean = reference
        else:
            reference, target_clean, obj = brain_section(size)
            block = max(2, size // 64)  # MALDI's coarse raster, then Poisson-like counting noise
            coarse = reference[::block, ::block]
            reference = np.kron(coarse, np.ones((block, block)))[:size, :size]
            reference = np.clip(reference + rng.normal(0, 0.08, reference.shape) * np.sqrt(reference + 0.01), 0, None)
        amplitude = rng.uniform(3.0, 8.0) * size / 256
        d = _smooth_field(rng, (size, size), amplitude, sigma=size / 10)
        moved = warp(target_clean, d, order=1)
        target = _remap(moved, rng) if kind == "synthetic" else moved
        target = target * (warp(obj.astype(float), d, order=1) > 0.5) if kind == "synthetic" else target
        target = ndimage.gaussian_filter(target, 0.6) + rng.normal(0, 0.03, target.shape)
        folder = root / f"{kind}_{k:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        _save(folder / "maldi.nii.gz", reference.astype(np.float32))
        _save(folder / "maldi_mask.nii.gz", obj.astype(np.uint8))
        _save(folder / "mri.nii.gz", target.astype(np.float32))
        _save(folder / "mri_mask.nii.gz", (warp(obj.astype(np.uint8), d, order=0) > 0).astype(np.uint8))
        np.save(folder / "displacement_true.npy", d.astype(np.float32))
        ids.append(folder.name)
    return ids
