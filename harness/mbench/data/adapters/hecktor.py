"""HECKTOR 2021 (MICCAI head-and-neck tumour challenge, AIcrowd release) training data: CT + PET + GTVt.

Release layout (paper 24 used the 2021 training set, 224 patients)::

    <root>/hecktor_nii/<PatientID>_ct.nii.gz      CT in HU
    <root>/hecktor_nii/<PatientID>_pt.nii.gz      PET in SUV (its own, coarser grid)
    <root>/hecktor_nii/<PatientID>_gtvt.nii.gz    primary tumour mask (on the CT grid)
    <root>/hecktor2021_bbox_training.csv          PatientID,x1,x2,y1,y2,z1,z2 (mm, 144 mm boxes)
    <root>/hecktor2021_patient_info_training.csv  PatientID,CenterID,... (optional: the centre attribute)

The challenge's own preprocessing (its ``resample.py``, which paper 24 follows: "cropped around the provided
bounding box to 144 x 144 x 144 mm^3 and resampled to 1 x 1 x 1 mm^3") is done here: every image is resampled,
by its NIfTI affine, onto the box's grid of ``voxel_mm`` voxels whose first voxel centre is (x1, y1, z1).
The box coordinates are ITK physical (LPS) millimetres, as SimpleITK reports them; NIfTI affines are RAS, so
x and y change sign. Images are linearly interpolated (outside the scan: CT -1024 HU, PET 0), the mask by nearest
neighbour. Arrays are returned in (x, y, z) index order (axial slices along the last axis), spacing ``voxel_mm``.

Case id = PatientID (one scan per patient, so the patient is the group); the centre (CenterID, or the id's
4-letter prefix CHGJ / CHMR / CHUM / CHUS / CHUP) is a case attribute.
"""

from __future__ import annotations

import csv
import re
from functools import cached_property
from pathlib import Path

import numpy as np

from mbench.data.adapter import DatasetAdapter
from mbench.errors import MbenchError

__all__ = ["Hecktor2021Adapter", "resample_to_box", "box_from_row"]

_MODALITIES = {"CT": ("ct", -1024.0), "PT": ("pt", 0.0)}
_ID = re.compile(r"^(?P<id>.+)_gtvt\.nii(\.gz)?$")


def box_from_row(row: dict[str, str]) -> tuple[np.ndarray, np.ndarray]:
    """(start, stop) LPS mm of a bounding-box CSV row (x1..z2)."""
    try:
        start = np.asarray([float(row["x1"]), float(row["y1"]), float(row["z1"])])
        stop = np.asarray([float(row["x2"]), float(row["y2"]), float(row["z2"])])
    except (KeyError, ValueError) as exc:
        raise MbenchError(f"malformed bounding-box row {row}", expected="columns PatientID,x1,x2,y1,y2,z1,z2 (mm)",
                          found=str(exc)) from None
    if np.any(stop <= start):
        raise MbenchError("bounding box with x2 <= x1, y2 <= y1 or z2 <= z1", found=str(row))
    return start, stop


def resample_to_box(data: np.ndarray, affine: np.ndarray, start_lps: np.ndarray, shape: tuple[int, int, int],
                    voxel_mm: float, *, order: int, cval: float) -> np.ndarray:
    """``data`` (i, j, k) with NIfTI ``affine`` (RAS) resampled on the grid ``start_lps + voxel_mm * index``.

    Example:
        >>> vol = np.arange(27, dtype=float).reshape(3, 3, 3)
        >>> aff = np.diag([-1.0, -1.0, 1.0, 1.0])  # RAS = (-i, -j, k): LPS = (i, j, k)
        >>> bool(np.array_equal(resample_to_box(vol, aff, np.zeros(3), (3, 3, 3), 1.0, order=1, cval=0), vol))
        True
    """
    from scipy import ndimage

    grid = np.indices(shape, dtype=np.float64).reshape(3, -1) * voxel_mm + np.asarray(start_lps, float)[:, None]
    ras = grid * np.asarray([-1.0, -1.0, 1.0])[:, None]
    inv = np.linalg.inv(affine)
    vox = inv[:3, :3] @ ras + inv[:3, 3:4]
    out = ndimage.map_coordinates(np.asarray(data, np.float32), vox, order=order, mode="constant", cval=cval,
                                  prefilter=False)
    return out.reshape(shape).astype(np.float32)


class Hecktor2021Adapter(DatasetAdapter):
    """HECKTOR 2021 training release; modalities ``CT`` (HU) and ``PT`` (SUV), reference 1 = GTVt.

    Args:
        root: the unpacked ``hecktor2021_train`` folder.
        voxel_mm: isotropic output spacing (the challenge and paper 24: 1 mm).
        image_dir: folder of the NIfTI files under ``root``.
        bbox_csv: the bounding-box file under ``root``.
    """

    def __init__(self, root: Path, voxel_mm: float = 1.0, image_dir: str = "hecktor_nii",
                 bbox_csv: str = "hecktor2021_bbox_training.csv") -> None:
        super().__init__(root, voxel_mm=voxel_mm, image_dir=image_dir, bbox_csv=bbox_csv)
        self.voxel_mm = float(voxel_mm)
        self.folder = self.root / image_dir
        self.bbox_path = self.root / bbox_csv
        if not self.folder.is_dir() or not self.bbox_path.is_file():
            raise MbenchError(f"HECKTOR 2021 data not found under {self.root}",
                              expected=f"{image_dir}/<PatientID>_ct|_pt|_gtvt.nii.gz and {bbox_csv}",
                              found=", ".join(sorted(p.name for p in self.root.iterdir())[:6]) if self.root.is_dir()
                              else "no such folder",
                              fix="set data.root to the unpacked hecktor2021_train folder")

    @cached_property
    def _boxes(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        with open(self.bbox_path, newline="") as fh:
            return {row["PatientID"]: box_from_row(row) for row in csv.DictReader(fh)}

    @cached_property
    def _ids(self) -> list[str]:
        ids = sorted(m.group("id") for p in self.folder.iterdir() if (m := _ID.match(p.name)))
        for case in ids:
            for suffix in ("ct", "pt"):
                if not self._file(case, suffix).exists():
                    raise MbenchError(f"HECKTOR case {case} lacks its {suffix.upper()} image",
                                      expected=f"{case}_{suffix}.nii.gz in {self.folder}", fix="re-extract the release")
            if case not in self._boxes:
                raise MbenchError(f"HECKTOR case {case} has no bounding box", expected=f"a row in {self.bbox_path.name}",
                                  fix="use the release's bounding-box CSV")
        return ids

    def _file(self, case: str, suffix: str) -> Path:
        gz = self.folder / f"{case}_{suffix}.nii.gz"
        return gz if gz.exists() or not (self.folder / f"{case}_{suffix}.nii").exists() else \
            self.folder / f"{case}_{suffix}.nii"

    def case_ids(self) -> list[str]:
        return list(self._ids)

    def _shape(self, case: str) -> tuple[int, int, int]:
        start, stop = self._boxes[case]
        return tuple(int(round(float(n))) for n in (stop - start) / self.voxel_mm)  # type: ignore[return-value]

    def _resampled(self, case: str, suffix: str, *, order: int, cval: float) -> np.ndarray:
        import nibabel as nib

        img = nib.load(str(self._file(case, suffix)))
        return resample_to_box(np.asanyarray(img.dataobj), img.affine, self._boxes[case][0], self._shape(case),
                               self.voxel_mm, order=order, cval=cval)

    def load_input(self, case_id: str) -> dict[str, np.ndarray]:
        return {name: self._resampled(case_id, suffix, order=1, cval=cval)
                for name, (suffix, cval) in _MODALITIES.items()}

    def load_reference(self, case_id: str) -> np.ndarray:
        return (self._resampled(case_id, "gtvt", order=0, cval=0.0) > 0.5).astype(np.uint8)

    def spacing(self, case_id: str) -> tuple[float, float, float]:
        return (self.voxel_mm,) * 3

    def files(self, case_id: str) -> list[Path]:
        return [self._file(case_id, s) for s in ("ct", "pt", "gtvt")] + [self.bbox_path]

    def case_attributes(self) -> dict[str, dict[str, str]]:
        info = self.root / "hecktor2021_patient_info_training.csv"
        centres: dict[str, str] = {}
        if info.is_file():
            with open(info, newline="") as fh:
                centres = {r["PatientID"]: str(r.get("CenterID", "")) for r in csv.DictReader(fh)}
        return {c: {"centre": centres.get(c) or c[:4]} for c in self._ids}
