"""Synthetic HECKTOR 2021 stand-in in the release layout (``hecktor_nii/<id>_ct|_pt|_gtvt.nii.gz`` + CSVs).

A neck cross-section in LPS millimetres: a soft-tissue body (40 +- 20 HU) in air (-1000 HU), the airway (air),
a vertebra and a mandible arc (bone, ~700 HU), and an oropharyngeal primary tumour (an ellipsoid beside the
airway, slightly denser than soft tissue). PET (SUV) on its own coarser grid: ~1 in the body, mild symmetric
tonsil uptake, and the tumour hot (peak SUV 5-15) with a smooth Gaussian fall-off, plus noise. The GTVt mask is
the tumour ellipsoid on the CT grid. Each patient gets a 144-mm-style bounding box (here ``box_mm`` wide) around
the oropharynx, written to ``hecktor2021_bbox_training.csv`` in LPS mm, as the release does.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

__all__ = ["generate_hecktor2021", "CENTRES"]

CENTRES = ("CHGJ", "CHMR", "CHUM", "CHUS", "CHUP")


def _grid(shape: tuple[int, int, int], spacing: tuple[float, float, float], origin: np.ndarray) -> tuple[np.ndarray, ...]:
    """LPS coordinates (mm) of the voxel centres of an (i, j, k) grid."""
    axes = [origin[a] + spacing[a] * np.arange(shape[a]) for a in range(3)]
    return tuple(np.meshgrid(*axes, indexing="ij"))


def _affine(spacing: tuple[float, float, float], origin: np.ndarray) -> np.ndarray:
    """NIfTI (RAS) affine of an LPS-aligned grid: RAS x, y = -(LPS x, y)."""
    aff = np.diag([-spacing[0], -spacing[1], spacing[2], 1.0])
    aff[:3, 3] = [-origin[0], -origin[1], origin[2]]
    return aff


def generate_hecktor2021(root: Path, n_patients: int = 20, fov_mm: float = 80.0, ct_spacing=(2.0, 2.0, 4.0),
                         pet_spacing=(4.0, 4.0, 5.0), box_mm: float = 48.0, seed: int = 2021) -> list[str]:
    """Write ``n_patients`` cases (ids ``<centre><nnn>``) and the bounding-box / patient-info CSVs; return the ids."""
    import nibabel as nib

    rng = np.random.default_rng(seed)
    root = Path(root)
    (root / "hecktor_nii").mkdir(parents=True, exist_ok=True)
    origin = np.full(3, -fov_mm / 2)
    ids, boxes, info = [], [], []
    for k in range(n_patients):
        centre = CENTRES[k % len(CENTRES)]
        pid = f"{centre}{k + 1:03d}"
        tumour_c = np.asarray([rng.uniform(-6, 6), rng.uniform(-12, 0), rng.uniform(-8, 8)])
        radii = rng.uniform(4.0, 9.0, 3)
        side = 1 if tumour_c[0] >= 0 else -1
        tumour_c[0] += side * 6  # beside the airway
        peak = rng.uniform(5, 15)
        body_r = np.asarray([rng.uniform(30, 36), rng.uniform(26, 32)])

        def anatomy(x, y, z):
            body = (x / body_r[0]) ** 2 + (y / body_r[1]) ** 2 <= 1
            airway = (x / 5.0) ** 2 + ((y + 4) / 4.0) ** 2 <= 1
            spine = (x / 8.0) ** 2 + ((y - 16) / 7.0) ** 2 <= 1
            arc = np.abs(np.hypot(x / 1.1, y + 2) - 24) <= 2.5
            mandible = arc & (y < -8) & (z > 4)
            t = ((x - tumour_c[0]) / radii[0]) ** 2 + ((y - tumour_c[1]) / radii[1]) ** 2 \
                + ((z - tumour_c[2]) / radii[2]) ** 2
            return body, airway, spine, mandible, t

        ct_shape = tuple(int(round(fov_mm / s)) for s in ct_spacing)
        x, y, z = _grid(ct_shape, ct_spacing, origin)
        body, airway, spine, mandible, t = anatomy(x, y, z)
        ct = np.full(ct_shape, -1000.0)
        ct[body] = 40 + rng.normal(0, 20, int(body.sum()))
        ct[body & (t <= 1)] += 25
        ct[airway & body] = -990
        ct[(spine | mandible) & body] = 700 + rng.normal(0, 60, int(((spine | mandible) & body).sum()))
        gtvt = (t <= 1) & body & ~airway

        pet_shape = tuple(int(round(fov_mm / s)) for s in pet_spacing)
        px, py, pz = _grid(pet_shape, pet_spacing, origin)
        pbody, pair, _, _, pt_t = anatomy(px, py, pz)
        tonsils = sum(np.exp(-(((px - sx) / 5) ** 2 + ((py + 6) / 5) ** 2 + (pz / 12) ** 2)) for sx in (-10, 10))
        pet = pbody * (1.0 + 1.5 * tonsils) + peak * np.exp(-pt_t / 1.2) * (pt_t <= 2.5)
        pet = np.clip(pet * ~pair + rng.normal(0, 0.15, pet_shape) * pbody, 0, None)

        aff_ct, aff_pt = _affine(ct_spacing, origin), _affine(pet_spacing, origin)
        nib.save(nib.Nifti1Image(ct.astype(np.int16), aff_ct), str(root / "hecktor_nii" / f"{pid}_ct.nii.gz"))
        nib.save(nib.Nifti1Image(pet.astype(np.float32), aff_pt), str(root / "hecktor_nii" / f"{pid}_pt.nii.gz"))
        nib.save(nib.Nifti1Image(gtvt.astype(np.uint8), aff_ct), str(root / "hecktor_nii" / f"{pid}_gtvt.nii.gz"))
        start = np.round(tumour_c + rng.uniform(-4, 4, 3) - box_mm / 2, 1)
        start = np.clip(start, origin, origin + fov_mm - box_mm)
        stop = start + box_mm
        boxes.append({"PatientID": pid, "x1": start[0], "x2": stop[0], "y1": start[1], "y2": stop[1],
                      "z1": start[2], "z2": stop[2]})
        info.append({"PatientID": pid, "CenterID": CENTRES.index(centre), "Gender": "M" if k % 3 else "F",
                     "Age": int(rng.integers(45, 80))})
        ids.append(pid)
    for name, rows in (("hecktor2021_bbox_training.csv", boxes), ("hecktor2021_patient_info_training.csv", info)):
        with open(root / name, "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    return ids
