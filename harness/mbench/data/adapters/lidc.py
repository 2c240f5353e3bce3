"""LIDC-IDRI (TCIA) chest CT as 2D axial slices in HU: ``LIDC-IDRI-xxxx/<study>/<series>/*.dcm``.

A case is one slice, ``<patient>_sNN``: the NN-th of ``slices_per_patient`` evenly spaced slices (the middle of
each of NN equal runs of the z-sorted series) of the patient's CT series with the most images (LIDC-IDRI also
holds CR/DX radiograph series; only ``Modality == CT`` counts). Patients are the groups, so a patient's slices
never cross splits. Case ids come from the folder names alone; a patient's series is indexed (headers only,
``stop_before_pixels``) the first time one of its slices is read. HU = stored value x RescaleSlope +
RescaleIntercept (pydicom's modality LUT).

Example:
    >>> from mbench.data.synthetic.lidc import generate_lidc
    >>> import tempfile, pathlib
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> _ = generate_lidc(root, n_patients=2, n_slices=6, size=32, seed=0)
    >>> a = LidcIdriAdapter(root, slices_per_patient=3)
    >>> a.case_ids()[:2], a.load_reference("LIDC-IDRI-0001_s01").shape
    (['LIDC-IDRI-0001_s00', 'LIDC-IDRI-0001_s01'], (32, 32))
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from mbench.data.adapter import DatasetAdapter
from mbench.errors import MbenchError

__all__ = ["LidcIdriAdapter"]


class LidcIdriAdapter(DatasetAdapter):
    """LIDC-IDRI DICOM series, evenly spaced axial slices per patient (see the module docstring)."""

    ndim = 2

    def __init__(self, root: Path, *, slices_per_patient: int = 10, **params: Any) -> None:
        super().__init__(root, slices_per_patient=slices_per_patient, **params)
        if slices_per_patient < 1:
            raise MbenchError("slices_per_patient must be positive", found=slices_per_patient)
        self.k = int(slices_per_patient)
        if not self.root.is_dir():
            raise MbenchError(f"LIDC-IDRI folder not found: {self.root}",
                              expected="a folder holding LIDC-IDRI-xxxx/<study>/<series>/*.dcm",
                              fix="download LIDC-IDRI from TCIA (NBIA Data Retriever, 'Classic Directory Name' "
                                  "layout) and set data.root to the folder holding the LIDC-IDRI-xxxx folders")
        self._series = lru_cache(maxsize=None)(self._index_series)

    def patients(self) -> list[str]:
        """Patient folders ``LIDC-IDRI-xxxx``, sorted."""
        return sorted(p.name for p in self.root.glob("LIDC-IDRI-*") if p.is_dir())

    def case_ids(self) -> list[str]:
        return [f"{p}_s{j:02d}" for p in self.patients() for j in range(self.k)]

    def groups(self) -> dict[str, str]:
        return {c: c.rsplit("_s", 1)[0] for c in self.case_ids()}

    def _index_series(self, patient: str) -> tuple[Path, ...]:
        """The z-sorted files of the patient's largest CT series."""
        import pydicom

        best: list[Path] = []
        for series in sorted(p for p in (self.root / patient).glob("*/*") if p.is_dir()):
            files = sorted(series.glob("*.dcm"))
            if not files:
                continue
            if getattr(pydicom.dcmread(files[0], stop_before_pixels=True), "Modality", "") != "CT":
                continue
            if len(files) > len(best):
                best = files
        if not best:
            raise MbenchError(f"{patient}: no CT series found", expected=f"{self.root / patient}/<study>/<series>/"
                              "*.dcm with Modality CT", found="none", fix="re-download the patient from TCIA")

        def z(path: Path) -> float:
            ds = pydicom.dcmread(path, stop_before_pixels=True)
            pos = getattr(ds, "ImagePositionPatient", None)
            return float(pos[2]) if pos is not None else float(getattr(ds, "InstanceNumber", 0))

        return tuple(sorted(best, key=lambda p: (z(p), str(p))))

    def _file(self, case_id: str) -> Path:
        patient, _, j = case_id.rpartition("_s")
        if not patient or not j.isdigit() or int(j) >= self.k:
            raise MbenchError(f"not a LIDC-IDRI slice id: {case_id!r}", expected=f"<patient>_sNN with NN < {self.k}",
                              found=case_id)
        files = self._series(patient)
        if len(files) < self.k:
            raise MbenchError(f"{patient}: the CT series has fewer images than slices_per_patient",
                              expected=f">= {self.k}", found=str(len(files)))
        return files[int((int(j) + 0.5) * len(files) / self.k)]

    def _read(self, case_id: str) -> Any:
        import pydicom

        return pydicom.dcmread(self._file(case_id))

    def load_reference(self, case_id: str) -> np.ndarray:
        """The slice in HU, float32 (H, W)."""
        from pydicom.pixels import apply_modality_lut

        ds = self._read(case_id)
        return np.asarray(apply_modality_lut(ds.pixel_array, ds), dtype=np.float32)

    def load_input(self, case_id: str) -> dict[str, np.ndarray]:
        """The same slice (super-resolution inputs are made from it by the task's degradation chain)."""
        return {"ct": self.load_reference(case_id)}

    def files(self, case_id: str) -> list[Path]:
        return [self._file(case_id)]

    def spacing(self, case_id: str) -> tuple[float, ...] | None:
        import pydicom

        ds = pydicom.dcmread(self._file(case_id), stop_before_pixels=True)
        return tuple(float(v) for v in ds.PixelSpacing)
