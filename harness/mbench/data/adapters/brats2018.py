"""BraTS 2018 training data in its official layout.

``<root>/HGG/<case>/<case>_{flair,t1,t1ce,t2,seg}.nii.gz`` (and ``LGG/`` beside it), labels
0 background, 1 NCR/NET, 2 oedema, 4 enhancing tumour. ``root`` may be the release folder
(``MICCAI_BraTS_2018_Data_Training``) or a folder holding the case folders directly.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mbench.data.adapter import DatasetAdapter
from mbench.errors import MbenchError

__all__ = ["BraTS2018Adapter", "BRATS_LABELS"]

BRATS_LABELS = {"NCR": 1, "ED": 2, "ET": 4}
_FILES = ("flair", "t1", "t1ce", "t2", "seg")


class BraTS2018Adapter(DatasetAdapter):
    """Adapter for the BraTS 2018 release layout.

    Args:
        root: release folder or folder of case folders.
        grades: which grade folders to read (the M-VAAL paper uses ``["HGG"]``).
        modalities: the image files to read per case.
    """

    def __init__(self, root: Path, grades: tuple[str, ...] | list[str] = ("HGG",),
                 modalities: tuple[str, ...] | list[str] = ("t1ce", "flair")) -> None:
        super().__init__(root, grades=list(grades), modalities=list(modalities))
        bad = [m for m in modalities if m not in _FILES[:-1]]
        if bad:
            raise MbenchError(f"unknown BraTS modality {bad}", expected="flair, t1, t1ce, t2", found=str(bad))
        self.grades, self.modalities = list(grades), list(modalities)
        self._dirs = self._find_cases()

    def _find_cases(self) -> dict[str, Path]:
        if not self.root.is_dir():
            raise MbenchError(f"BraTS data folder not found: {self.root}",
                              expected="a folder with HGG/<case>/<case>_t1ce.nii.gz etc.",
                              fix="set data.root to the unpacked MICCAI_BraTS_2018_Data_Training folder")
        parents = [self.root / g for g in self.grades if (self.root / g).is_dir()] or [self.root]
        dirs = {d.name: d for p in parents for d in sorted(p.iterdir())
                if d.is_dir() and (d / f"{d.name}_seg.nii.gz").exists()}
        if not dirs:
            raise MbenchError(f"no BraTS cases under {self.root}",
                              expected=f"folders {'/'.join(self.grades)}/<case>/<case>_seg.nii.gz",
                              found=", ".join(sorted(p.name for p in self.root.iterdir())[:8]) or "an empty folder",
                              fix="point data.root at the BraTS 2018 training release folder")
        return dirs

    def case_ids(self) -> list[str]:
        return sorted(self._dirs)

    def _path(self, case_id: str, kind: str) -> Path:
        path = self.case_entry(self._dirs, case_id) / f"{case_id}_{kind}.nii.gz"
        if not path.exists():
            raise MbenchError(f"missing file {path}", expected=f"{case_id}_{{{','.join(_FILES)}}}.nii.gz",
                              fix="re-extract the case from the BraTS release")
        return path

    @staticmethod
    def _read(path: Path) -> np.ndarray:
        import nibabel as nib

        return np.asanyarray(nib.load(str(path)).dataobj)

    def load_input(self, case_id: str) -> dict[str, np.ndarray]:
        return {m: self._read(self._path(case_id, m)).astype(np.float32) for m in self.modalities}

    def load_reference(self, case_id: str) -> np.ndarray:
        seg = self._read(self._path(case_id, "seg")).astype(np.uint8)
        unexpected = set(np.unique(seg).tolist()) - {0, *BRATS_LABELS.values()}
        if unexpected:
            raise MbenchError(f"{case_id}: unexpected labels in segmentation", expected="0, 1, 2, 4",
                              found=str(sorted(unexpected)), fix="check the file is a BraTS 2018 label map")
        return seg

    def files(self, case_id: str) -> list[Path]:
        return [self._path(case_id, m) for m in (*self.modalities, "seg")]

    def spacing(self, case_id: str) -> tuple[float, ...]:
        """Voxel spacing in mm from the segmentation header."""
        import nibabel as nib

        return tuple(float(z) for z in nib.load(str(self._path(case_id, "seg"))).header.get_zooms()[:3])
