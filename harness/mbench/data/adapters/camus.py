"""CAMUS (Leclerc et al., IEEE TMI 2019): 2D echocardiography in its MetaImage release layout.

``<root>/training/patient0001/patient0001_{2CH,4CH}_{ED,ES}.mhd`` (+ ``.raw``) with ground truth
``..._{ED,ES}_gt.mhd``, for patients 1-450, and ``<root>/testing/patient0451/...`` for patients 451-500
(the official test set). Labels: 0 background, 1 left-ventricle cavity (endocardium), 2 myocardium
(epicardium ring), 3 left atrium.

A case is one view of one patient at one phase, ``patient0001_2CH`` (the phase is fixed per adapter,
``ED`` by default); the patient is the group, so both views stay in one split. The release folders
are the official split (:meth:`CamusAdapter.official_splits`: ``train`` and ``test``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mbench.data.adapter import DatasetAdapter
from mbench.data.adapters.metaimage import read_mhd
from mbench.errors import MbenchError

__all__ = ["CamusAdapter", "CAMUS_LABELS"]

CAMUS_LABELS = {"LV": 1, "MYO": 2, "LA": 3}
_FOLDERS = {"train": "training", "test": "testing"}


class CamusAdapter(DatasetAdapter):
    """Adapter for the CAMUS MetaImage release.

    Args:
        root: folder holding ``training/`` and ``testing/``.
        views: the views to read (``2CH``, ``4CH``).
        phase: ``ED`` (end-diastole) or ``ES`` (end-systole).
        reader: MetaImage reader, ``auto`` or ``simpleitk``.
    """

    ndim = 2

    def __init__(self, root: Path, views: tuple[str, ...] | list[str] = ("2CH", "4CH"), phase: str = "ED",
                 reader: str = "auto") -> None:
        super().__init__(root, views=list(views), phase=phase, reader=reader)
        if phase not in ("ED", "ES") or not set(views) <= {"2CH", "4CH"}:
            raise MbenchError("bad CAMUS view or phase", expected="views from 2CH, 4CH; phase ED or ES",
                              found=f"views {list(views)}, phase {phase!r}")
        self.views, self.phase, self.reader = list(views), phase, reader
        self._cases = self._find()

    def _find(self) -> dict[str, tuple[str, Path]]:
        cases: dict[str, tuple[str, Path]] = {}
        for split, folder in _FOLDERS.items():
            base = self.root / folder
            if not base.is_dir():
                continue
            for patient in sorted(p for p in base.iterdir() if p.is_dir() and p.name.startswith("patient")):
                for view in self.views:
                    if (patient / f"{patient.name}_{view}_{self.phase}_gt.mhd").is_file():
                        cases[f"{patient.name}_{view}"] = (split, patient)
        if not cases:
            found = sorted(p.name for p in self.root.iterdir())[:8] if self.root.is_dir() else "no such folder"
            raise MbenchError(f"no CAMUS cases under {self.root}",
                              expected=f"training/patientNNNN/patientNNNN_{{2CH,4CH}}_{self.phase}[_gt].mhd "
                                       "(and testing/ beside it)", found=str(found),
                              fix="set data.root to the unpacked CAMUS folder holding training/ and testing/")
        return cases

    def case_ids(self) -> list[str]:
        return sorted(self._cases)

    def groups(self) -> dict[str, str]:
        """Case -> patient: both views of a patient stay in one split."""
        return {c: p.name for c, (_, p) in self._cases.items()}

    def official_splits(self) -> dict[str, list[str]]:
        """``train`` (the training folder, patients 1-450) and ``test`` (the testing folder, 451-500)."""
        out: dict[str, list[str]] = {}
        for case, (split, _) in sorted(self._cases.items()):
            out.setdefault(split, []).append(case)
        return out

    def _path(self, case_id: str, gt: bool) -> Path:
        patient = self.case_entry(self._cases, case_id, "CAMUS")[1]
        view = case_id.rsplit("_", 1)[1]
        path = patient / f"{patient.name}_{view}_{self.phase}{'_gt' if gt else ''}.mhd"
        if not path.is_file():
            raise MbenchError(f"missing file {path}", fix="re-extract the patient folder from the release")
        return path

    def load_input(self, case_id: str) -> dict[str, np.ndarray]:
        return {"image": read_mhd(self._path(case_id, False), self.reader)[0].astype(np.float32)}

    def load_reference(self, case_id: str) -> np.ndarray:
        seg = read_mhd(self._path(case_id, True), self.reader)[0].astype(np.uint8)
        unexpected = set(np.unique(seg).tolist()) - {0, 1, 2, 3}
        if unexpected:
            raise MbenchError(f"{case_id}: unexpected labels in the ground truth", expected="0, 1, 2, 3",
                              found=str(sorted(unexpected)), fix="check the file is a CAMUS _gt.mhd")
        return seg

    def spacing(self, case_id: str) -> tuple[float, ...]:
        """Pixel spacing (rows, cols) in mm from the ground-truth header."""
        return read_mhd(self._path(case_id, True), self.reader)[1][:2]

    def files(self, case_id: str) -> list[Path]:
        out = []
        for gt in (False, True):
            header = self._path(case_id, gt)
            out += [header, header.with_suffix(".raw")]
        return [p for p in out if p.is_file()]
