"""Stand-ins for paper 20's test sets: abdominal CT (Learn2Reg AbdomenCTCT layout) and MRI (AMOS 2022 layout).

Every subject is one analytic template anatomy (body outline, spine, liver, spleen, kidneys, aorta and IVC tubes,
stomach, pancreas, gallbladder, oesophagus, adrenals, portal/splenic vein, duodenum, bladder) seen through a
subject-specific smooth deformation: a small random affine plus Gaussian-smoothed noise (max about 4 voxels),
evaluated analytically, so shapes stay smooth and inter-subject pairs need a genuine deformable registration.
Images look like the modality: CT in HU (fat -100, organs 40-60, contrast-enhanced vessels 200, kidneys 150, bone
700, air -1000, noise 15 HU); MRI as T1-like intensities with a smooth bias field and Rician noise. The
*predicted* segmentations the registrars see (``predictionsTr/`` and ``predictions/``) are the reference corrupted
the way an nnU-Net errs: a random 1-voxel erosion or dilation per structure and occasional dropout of small ones.

Example:
    >>> import tempfile
    >>> ids = generate_learn2reg(tempfile.mkdtemp(), n_cases=3, shape=(24, 20, 32))
    >>> ids
    ['AbdomenCTCT_0001', 'AbdomenCTCT_0002', 'AbdomenCTCT_0003']
"""

from __future__ import annotations

import json
from itertools import pairwise
from pathlib import Path

import numpy as np
from scipy import ndimage

__all__ = ["AMOS_LABELS", "L2R_LABELS", "abdomen_subject", "generate_amos", "generate_learn2reg"]

L2R_LABELS = ["spleen", "right_kidney", "left_kidney", "gallbladder", "esophagus", "liver", "stomach", "aorta",
              "ivc", "portal_splenic_vein", "pancreas", "right_adrenal", "left_adrenal"]  # codes 1..13
AMOS_LABELS = ["spleen", "right_kidney", "left_kidney", "gallbladder", "esophagus", "liver", "stomach", "aorta",
               "ivc", "pancreas", "right_adrenal", "left_adrenal", "duodenum", "bladder", "prostate_uterus"]  # 1..15

# name: (kind, centre (x, y, z) in [-1, 1], radii / tube (radius, z-range)); x = patient left-right, y = back-front
_ANATOMY = {
    "liver": ("ellipsoid", (-0.35, 0.05, 0.35), (0.38, 0.42, 0.33)),
    "spleen": ("ellipsoid", (0.5, -0.25, 0.4), (0.14, 0.2, 0.2)),
    "right_kidney": ("ellipsoid", (-0.38, -0.45, 0.0), (0.11, 0.13, 0.2)),
    "left_kidney": ("ellipsoid", (0.38, -0.45, 0.05), (0.11, 0.13, 0.2)),
    "stomach": ("ellipsoid", (0.3, 0.25, 0.38), (0.2, 0.18, 0.2)),
    "pancreas": ("ellipsoid", (0.08, 0.0, 0.05), (0.32, 0.07, 0.07)),
    "duodenum": ("ellipsoid", (-0.18, 0.08, -0.1), (0.08, 0.08, 0.16)),
    "gallbladder": ("ellipsoid", (-0.25, 0.4, 0.02), (0.07, 0.07, 0.1)),
    "right_adrenal": ("ellipsoid", (-0.27, -0.4, 0.3), (0.05, 0.05, 0.06)),
    "left_adrenal": ("ellipsoid", (0.27, -0.4, 0.33), (0.05, 0.05, 0.06)),
    "bladder": ("ellipsoid", (0.0, 0.3, -0.85), (0.2, 0.15, 0.12)),
    "aorta": ("tube_z", (0.1, -0.3, 0.0), (0.09, -0.95, 0.95)),
    "ivc": ("tube_z", (-0.14, -0.25, 0.0), (0.09, -0.95, 0.7)),
    "esophagus": ("tube_z", (0.05, -0.14, 0.0), (0.06, 0.55, 0.95)),
    "portal_splenic_vein": ("tube_x", (0.05, -0.08, 0.18), (0.05, -0.3, 0.45)),
}
_CT_HU = {"liver": 60, "spleen": 50, "right_kidney": 150, "left_kidney": 150, "stomach": 10, "pancreas": 40,
          "duodenum": 20, "gallbladder": 0, "right_adrenal": 35, "left_adrenal": 35, "bladder": 5, "aorta": 200,
          "ivc": 150, "esophagus": 30, "portal_splenic_vein": 170, "prostate_uterus": 40}
_MR = {"liver": 520, "spleen": 380, "right_kidney": 450, "left_kidney": 450, "stomach": 200, "pancreas": 560,
       "duodenum": 260, "gallbladder": 120, "right_adrenal": 400, "left_adrenal": 400, "bladder": 90, "aorta": 150,
       "ivc": 180, "esophagus": 300, "portal_splenic_vein": 220, "prostate_uterus": 350}


def _smooth_field(rng: np.random.Generator, shape: tuple[int, ...], amplitude: float, sigma: float) -> np.ndarray:
    noise = rng.standard_normal((3, *shape))
    field = np.stack([ndimage.gaussian_filter(n, sigma, mode="reflect") for n in noise])
    return field * (amplitude / (np.abs(field).max() + 1e-12))


def abdomen_subject(rng: np.random.Generator, shape: tuple[int, int, int], names: list[str],
                    max_displacement: float = 3.0) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """One subject: a label map (codes = 1 + index in ``names``; absent names are not drawn) and tissue masks
    (``body``, ``spine``, ``air``) for the image, on a grid of ``shape``."""
    grid = np.indices(shape, dtype=np.float64)
    disp = _smooth_field(rng, shape, max_displacement, sigma=min(shape) / 6)
    scale = 1 + rng.uniform(-0.06, 0.06, 3)
    shift = rng.uniform(-1.5, 1.5, 3)
    half = (np.asarray(shape, float) - 1) / 2
    coords = [((grid[k] + disp[k] - half[k] - shift[k]) / half[k]) * scale[k] for k in range(3)]
    x, y, z = coords
    labels = np.zeros(shape, np.int16)
    order = ["liver", "spleen", "right_kidney", "left_kidney", "stomach", "duodenum", "pancreas", "gallbladder",
             "right_adrenal", "left_adrenal", "bladder", "portal_splenic_vein", "ivc", "aorta", "esophagus"]
    for name in order:  # later structures (vessels) drawn over earlier ones
        if name not in names:
            continue
        kind, c, r = _ANATOMY[name]
        if kind == "ellipsoid":
            inside = ((x - c[0]) / r[0]) ** 2 + ((y - c[1]) / r[1]) ** 2 + ((z - c[2]) / r[2]) ** 2 <= 1
        elif kind == "tube_z":
            inside = (((x - c[0]) ** 2 + (y - c[1]) ** 2) <= r[0] ** 2) & (z >= r[1]) & (z <= r[2])
        else:
            inside = (((y - c[1]) ** 2 + (z - c[2]) ** 2) <= r[0] ** 2) & (x >= r[1]) & (x <= r[2])
        labels[inside] = names.index(name) + 1
    body = (x / 0.95) ** 2 + (y / 0.8) ** 2 <= 1
    spine = ((x / 0.12) ** 2 + ((y + 0.62) / 0.12) ** 2 <= 1)
    air = ((x - 0.3) / 0.12) ** 2 + ((y - 0.32) / 0.07) ** 2 + ((z - 0.45) / 0.08) ** 2 <= 1
    labels[~body] = 0
    return labels, {"body": body, "spine": spine, "air": air & (labels == names.index("stomach") + 1)
                    if "stomach" in names else air}


def _image(rng: np.random.Generator, labels: np.ndarray, tissue: dict[str, np.ndarray], names: list[str],
           modality: str) -> np.ndarray:
    table = _CT_HU if modality == "CT" else _MR
    if modality == "CT":
        img = np.full(labels.shape, -1000.0)
        img[tissue["body"]] = -100.0
        img[ndimage.binary_erosion(tissue["body"], iterations=2)] = 30.0  # muscle / soft tissue under the fat
    else:
        img = np.zeros(labels.shape)
        img[tissue["body"]] = 700.0  # T1-bright fat
        img[ndimage.binary_erosion(tissue["body"], iterations=2)] = 330.0
    img[tissue["spine"] & tissue["body"]] = 700.0 if modality == "CT" else 250.0
    for code, name in enumerate(names, start=1):
        img[labels == code] = table.get(name, 40 if modality == "CT" else 300)
    img[tissue["air"]] = -800.0 if modality == "CT" else 10.0
    img = ndimage.gaussian_filter(img, 0.7)
    if modality == "CT":
        return (img + rng.normal(0, 15, img.shape)).astype(np.float32)
    bias = 1 + 0.25 * _smooth_field(rng, labels.shape, 1.0, min(labels.shape) / 3)[0]
    img = img * bias
    noisy = np.hypot(img + rng.normal(0, 20, img.shape), rng.normal(0, 20, img.shape))  # Rician magnitude
    return noisy.astype(np.float32)


def predicted_labels(rng: np.random.Generator, labels: np.ndarray, small: tuple[int, ...]) -> np.ndarray:
    """The reference corrupted like a segmenter's output: per structure a random 1-voxel erosion / dilation /
    nothing (kept only where it leaves Dice >= 0.75 against the reference, so large structures err at the boundary),
    small structures (``small`` codes) dropped with probability 0.2."""
    out = np.zeros_like(labels)
    for code in [int(c) for c in np.unique(labels) if c != 0]:
        mask = labels == code
        if code in small and rng.random() < 0.2:
            continue
        op = rng.integers(3)
        if op:
            cand = ndimage.binary_erosion(mask) if op == 1 else \
                ndimage.binary_dilation(mask) & (out == 0) & ((labels == 0) | (labels == code))
            if 2 * (cand & mask).sum() >= 0.75 * (cand.sum() + mask.sum()):
                mask = cand
        out[mask] = code
    return out


def _save(path: Path, array: np.ndarray, spacing: tuple[float, float, float]) -> None:
    import nibabel as nib

    path.parent.mkdir(parents=True, exist_ok=True)
    img = nib.Nifti1Image(array, np.diag([*spacing, 1.0]))
    img.header.set_zooms(spacing)
    nib.save(img, str(path))


def _write_case(root: Path, image_rel: str, label_rel: str, pred_rel: str, rng: np.random.Generator,
                shape: tuple[int, int, int], spacing: tuple[float, float, float], names: list[str],
                modality: str, small: tuple[int, ...]) -> None:
    labels, tissue = abdomen_subject(rng, shape, names)
    _save(root / image_rel, _image(rng, labels, tissue, names, modality), spacing)
    _save(root / label_rel, labels.astype(np.int16), spacing)
    _save(root / pred_rel, predicted_labels(rng, labels, small).astype(np.int16), spacing)


def generate_learn2reg(root: str | Path, *, n_cases: int = 30, shape: tuple[int, int, int] = (48, 40, 64),
                       spacing: tuple[float, float, float] = (4.0, 4.0, 4.0), seed: int = 2022) -> list[str]:
    """Write a Learn2Reg AbdomenCTCT stand-in (CT, 13 labels) and return its case ids."""
    root = Path(root)
    ids, training = [], []
    small = tuple(L2R_LABELS.index(n) + 1 for n in ("gallbladder", "esophagus", "right_adrenal", "left_adrenal"))
    for k in range(1, n_cases + 1):
        name = f"AbdomenCTCT_{k:04d}_0000.nii.gz"
        _write_case(root, f"imagesTr/{name}", f"labelsTr/{name}", f"predictionsTr/{name}",
                    np.random.default_rng([seed, k]), tuple(shape), tuple(spacing), L2R_LABELS, "CT", small)
        ids.append(f"AbdomenCTCT_{k:04d}")
        training.append({"image": f"./imagesTr/{name}", "label": f"./labelsTr/{name}"})
    val = ids[-min(len(ids), 5):]  # the release lists its own validation pairs; the stand-in pairs its last cases
    meta = {"name": "AbdomenCTCT", "description": "mbench stand-in in the Learn2Reg AbdomenCTCT layout",
            "tensorImageSize": {"0": "3D"}, "modality": {"0": "CT"}, "numTraining": len(ids),
            "labels": {"0": {"0": "background", **{str(i + 1): n for i, n in enumerate(L2R_LABELS)}}},
            "training": training,
            "registration_val": [{"fixed": f"./imagesTr/{f}_0000.nii.gz", "moving": f"./imagesTr/{m}_0000.nii.gz"}
                                 for f, m in pairwise(val)]}
    (root / "AbdomenCTCT_dataset.json").write_text(json.dumps(meta, indent=1))
    return ids


def generate_amos(root: str | Path, *, case_numbers: list[int], shape: tuple[int, int, int] = (48, 32, 48),
                  spacing: tuple[float, float, float] = (4.0, 4.0, 5.0), seed: int = 2022) -> list[str]:
    """Write an AMOS 2022 stand-in (MRI cases, numbers >= 500; 15 labels incl. bladder) and return its case ids."""
    root = Path(root) / "amos22"
    names = AMOS_LABELS[:14]  # prostate / uterus is not drawn
    small = tuple(AMOS_LABELS.index(n) + 1 for n in ("gallbladder", "esophagus", "right_adrenal", "left_adrenal"))
    training, ids = [], []
    for number in case_numbers:
        name = f"amos_{number:04d}.nii.gz"
        _write_case(root, f"imagesTr/{name}", f"labelsTr/{name}", f"predictions/{name}",
                    np.random.default_rng([seed, number]), tuple(shape), tuple(spacing), names,
                    "MR" if number >= 500 else "CT", small)
        training.append({"image": f"./imagesTr/{name}", "label": f"./labelsTr/{name}"})
        ids.append(f"amos_{number:04d}")
    meta = {"name": "AMOS", "description": "mbench stand-in in the AMOS 2022 layout", "tensorImageSize": "3D",
            "modality": {"0": "CT", "1": "MRI"}, "labels": {"0": "background",
                                                            **{str(i + 1): n for i, n in enumerate(AMOS_LABELS)}},
            "numTraining": len(training), "training": training, "validation": []}
    (root / "dataset.json").write_text(json.dumps(meta, indent=1))
    return sorted(ids)
