"""A stand-in for paper 1's private SVD cohort: 3D FLAIR with WMH and ischaemic stroke lesions, nnU-Net raw layout.

Writes ``<root>/{imagesTr,labelsTr,imagesTs,labelsTs}/SVD_NNN[_0000].nii.gz``, ``dataset.json`` (channel
``FLAIR``; labels background 0, WMH 1, stroke 2) and ``metadata.csv`` (case, protocol 1-4, quality
high/edge, stroke_type cortical/subcortical/both/none, icv_ml), read unchanged by
:class:`~mbench.data.adapters.nnunet_raw.NnUNetRawAdapter`.

The anatomy: a brain ellipsoid with grey/white matter mixed by a smooth field, dark lateral ventricles and
cortical CSF (FLAIR suppresses fluid). WMH are bright blobs hugging the ventricles (periventricular caps and
bands) plus a few deep punctate ones. A cortical stroke is a large irregular wedge reaching the brain
surface; a subcortical one a small compact deep lesion; some are chronic (hypointense cavity, bright rim).
Protocol 1 cases are 1 mm isotropic 3D acquisitions; protocols 2-4 are thick-slice 2D acquisitions
(slices averaged, partial volume) with lower contrast, as the paper's "edge-of-distribution" scans. The
per-split mix of stroke subtypes and protocols follows the paper's Table 2, scaled down.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
from scipy import ndimage

from mbench.data.synthetic.brats2018 import _smooth_field

__all__ = ["TABLE2", "generate_wmh_stroke"]

# paper 1, Table 2: cases per (split, stroke subtype) and per (split, protocol)
TABLE2 = {
    "train": {"subtype": {"cortical": 74, "subcortical": 71, "both": 1, "none": 16},
              "protocol": {1: 150, 2: 3, 3: 4, 4: 5}},
    "test": {"subtype": {"cortical": 57, "subcortical": 62, "both": 9, "none": 7},
             "protocol": {1: 74, 2: 56, 3: 2, 4: 3}},
}
# slice thickness factor (z voxels averaged into one slice) and lesion contrast per protocol
_PROTOCOL = {1: (1, 1.0), 2: (5, 0.75), 3: (6, 0.7), 4: (4, 0.8)}
# FLAIR means: background, csf, grey, white, wmh, stroke (acute), stroke cavity (chronic)
_FLAIR = np.asarray([0, 120, 560, 470, 900, 1000, 200], np.float32)


def _allocate(counts: dict, n: int, at_least_one: tuple = ()) -> list:
    """Largest-remainder allocation of ``n`` cases over the categories of ``counts`` (each named one kept >= 1)."""
    keys = list(counts)
    total = sum(counts.values())
    raw = np.asarray([counts[k] * n / total for k in keys])
    alloc = np.floor(raw).astype(int)
    for k in at_least_one:
        i = keys.index(k)
        if alloc[i] == 0 and n >= len(at_least_one) + 2:
            alloc[i] = 1
    while alloc.sum() < n:
        alloc[int(np.argmax(raw - alloc))] += 1
    while alloc.sum() > n:
        alloc[int(np.argmax(alloc))] -= 1
    return [k for k, a in zip(keys, alloc) for _ in range(int(a))]


def _blob(rng, coords, centre, radius, roughness=0.35, coarse=(5, 5, 5)):
    x, y, z = coords
    d = np.sqrt(((x - centre[0]) / radius[0]) ** 2 + ((y - centre[1]) / radius[1]) ** 2
                + ((z - centre[2]) / radius[2]) ** 2)
    return d * (1 + roughness * _smooth_field(rng, x.shape, coarse)) < 1.0


def _case(seed: np.random.SeedSequence, shape: tuple[int, int, int], subtype: str
          ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(FLAIR at 1 mm, labels, brain mask)."""
    rng = np.random.default_rng(seed)
    nx, ny, nz = shape
    coords = np.meshgrid(np.arange(nx), np.arange(ny), np.arange(nz), indexing="ij")
    x, y, z = coords
    cx, cy, cz = nx / 2 + rng.uniform(-1.5, 1.5), ny / 2 + rng.uniform(-1.5, 1.5), nz / 2
    ax, ay, az = nx * rng.uniform(0.38, 0.42), ny * rng.uniform(0.42, 0.46), nz * rng.uniform(0.40, 0.45)
    radial = np.sqrt(((x - cx) / ax) ** 2 + ((y - cy) / ay) ** 2 + ((z - cz) / az) ** 2)
    radial = radial * (1 + 0.03 * _smooth_field(rng, shape, (6, 6, 5)))
    brain = radial < 1.0
    folds = _smooth_field(rng, shape, (10, 10, 8))
    grey = brain & ((radial > 0.85) | (folds > 0.45))
    csf = brain & ((radial > 0.97) | ((radial > 0.9) & (folds < -0.35)))
    atrophy = rng.uniform(0.9, 1.4)
    vent_w, vent_l, vent_h = nx * 0.045 * atrophy, ny * 0.17 * atrophy, nz * 0.12 * atrophy
    vdist = np.sqrt(((np.abs(x - cx) - vent_w * 1.3) / vent_w) ** 2 + ((y - cy) / vent_l) ** 2
                    + ((z - cz - nz * 0.04) / vent_h) ** 2)
    ventricles = brain & (vdist < 1.0)

    labels = np.zeros(shape, np.uint8)
    # WMH: periventricular caps/bands (a shell around the ventricles, broken up by a smooth field) + deep foci
    load = rng.uniform(0.15, 0.8)
    shell = brain & ~ventricles & (vdist >= 1.0) & (vdist < 1.0 + 0.9 * load)
    wmh = shell & (_smooth_field(rng, shape, (6, 6, 5)) > 0.15 - 0.4 * load)
    white_deep = brain & ~grey & ~ventricles & (radial < 0.8)
    for _ in range(int(rng.integers(1, 5))):
        pts = np.argwhere(white_deep)
        c = pts[rng.integers(len(pts))]
        wmh |= _blob(rng, coords, c, rng.uniform(1.0, 2.2, 3), 0.3, (4, 4, 4)) & white_deep
    labels[wmh & ~grey] = 1

    stroke = np.zeros(shape, bool)
    kinds = {"cortical": ["cortical"], "subcortical": ["subcortical"], "both": ["cortical", "subcortical"],
             "none": []}[subtype]
    for kind in kinds:
        if kind == "cortical":  # large irregular wedge reaching the surface
            theta, phi = rng.uniform(0, 2 * np.pi), rng.uniform(-0.5, 0.5)
            rim = np.asarray([cx + 0.85 * ax * np.cos(theta) * np.cos(phi), cy + 0.85 * ay * np.sin(theta) * np.cos(phi),
                              cz + 0.85 * az * np.sin(phi)])
            stroke |= _blob(rng, coords, rim, rng.uniform(3.5, 7.0, 3), 0.45, (6, 6, 6)) & brain & ~csf
        else:  # small compact deep lesion (lacunar)
            deep = np.argwhere(brain & ~ventricles & (radial < 0.55) & (vdist > 1.3))
            c = deep[rng.integers(len(deep))]
            stroke |= _blob(rng, coords, c, rng.uniform(1.5, 3.0, 3), 0.2, (4, 4, 4)) & brain & ~ventricles
    labels[stroke] = 2
    chronic = stroke & (rng.random() < 0.25)
    cavity = chronic & (ndimage.distance_transform_edt(chronic) > 1.5)

    tissue = np.zeros(shape, np.uint8)
    tissue[brain] = 3
    tissue[grey] = 2
    tissue[csf | ventricles] = 1
    tissue[labels == 1] = 4
    tissue[labels == 2] = 5
    tissue[cavity] = 6
    means = _FLAIR * rng.uniform(0.9, 1.1)
    img = means[tissue] * (1 + 0.04 * _smooth_field(rng, shape, (16, 16, 12)))
    return img, labels, brain


def _acquire(rng, img, labels, brain, protocol):
    """Apply the protocol: lesion contrast, thick slices (averaged), bias field and Rician noise."""
    factor, contrast = _PROTOCOL[protocol]
    base = np.where(labels > 0, ndimage.median_filter(img, size=5), img)
    img = base + contrast * (img - base)
    img = ndimage.gaussian_filter(img, sigma=0.6)
    if factor > 1:
        nz = img.shape[2] // factor * factor
        img = img[:, :, :nz].reshape(*img.shape[:2], -1, factor).mean(axis=3)
        # a thick slice shows a lesion that fills a third of it (partial volume); stroke wins over WMH
        votes = [(labels[:, :, :nz] == k).reshape(*labels.shape[:2], -1, factor).mean(axis=3) for k in (1, 2)]
        labels = np.where(votes[1] >= 1 / 3, 2, np.where(votes[0] >= 1 / 3, 1, 0)).astype(np.uint8)
        brain = brain[:, :, :nz].reshape(*brain.shape[:2], -1, factor).mean(axis=3) >= 0.5
    img = img * (1 + 0.1 * _smooth_field(rng, img.shape, (3, 3, 2)))
    sigma = 0.04 * _FLAIR[3] * (1.0 if protocol == 1 else 1.6)
    img = np.sqrt((img + rng.normal(0, sigma, img.shape)) ** 2 + rng.normal(0, sigma, img.shape) ** 2)
    img[~ndimage.binary_dilation(brain, iterations=2)] = 0
    return np.round(img).astype(np.int16), labels, brain, (1.0, 1.0, float(factor))


def generate_wmh_stroke(root: Path, *, n_train: int = 16, n_test: int = 14, shape: tuple[int, int, int] = (64, 64, 48),
                        seed: int = 2023) -> list[str]:
    """Write the stand-in under ``root`` and return the case ids (``SVD_001`` ...; training cases first).

    Example:
        >>> import tempfile, pathlib
        >>> ids = generate_wmh_stroke(pathlib.Path(tempfile.mkdtemp()), n_train=3, n_test=2, shape=(32, 32, 20))
        >>> ids
        ['SVD_001', 'SVD_002', 'SVD_003', 'SVD_004', 'SVD_005']
    """
    import nibabel as nib

    root = Path(root)
    shape = tuple(int(s) for s in shape)
    plan = []
    rng = np.random.default_rng(seed)
    for split, n in (("train", n_train), ("test", n_test)):
        subtypes = _allocate(TABLE2[split]["subtype"], n, at_least_one=("none",) if split == "test" else ())
        protocols = _allocate(TABLE2[split]["protocol"], n, at_least_one=(2,) if split == "test" else ())
        rng.shuffle(protocols)
        plan += [(split, s, int(p)) for s, p in zip(subtypes, protocols)]
    for sub in ("imagesTr", "labelsTr", "imagesTs", "labelsTs"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    rows, ids = [], []
    for k, ((split, subtype, protocol), child) in enumerate(zip(plan, np.random.SeedSequence(seed).spawn(len(plan)))):
        case = f"SVD_{k + 1:03d}"
        img, labels, brain = _case(child, shape, subtype)
        img, labels, brain, spacing = _acquire(np.random.default_rng(child.spawn(1)[0]), img, labels, brain, protocol)
        affine = np.diag([*spacing, 1.0])
        images, labs = ("imagesTr", "labelsTr") if split == "train" else ("imagesTs", "labelsTs")
        nib.save(nib.Nifti1Image(img, affine), root / images / f"{case}_0000.nii.gz")
        nib.save(nib.Nifti1Image(labels.astype(np.uint8), affine), root / labs / f"{case}.nii.gz")
        rows.append({"case": case, "protocol": protocol, "quality": "high" if protocol == 1 else "edge",
                     "stroke_type": subtype, "icv_ml": round(float(brain.sum() * np.prod(spacing)) / 1000, 3)})
        ids.append(case)
    with open(root / "metadata.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    (root / "dataset.json").write_text(json.dumps({
        "name": "SVD WMH and stroke (mbench stand-in)", "channel_names": {"0": "FLAIR"},
        "labels": {"background": 0, "WMH": 1, "stroke": 2}, "numTraining": n_train, "file_ending": ".nii.gz",
        "description": "synthetic stand-in for Phitidis et al. (MIUA 2023) in the nnU-Net v2 raw layout"}, indent=1))
    return ids
