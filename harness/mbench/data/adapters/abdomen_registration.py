"""Abdominal registration datasets in NIfTI: Learn2Reg AbdomenCTCT and AMOS 2022 (MRI), paper 20's test sets.

Learn2Reg AbdomenCTCT (the release folder, or its parent)::

    AbdomenCTCT_dataset.json          # "training": [{"image": "./imagesTr/AbdomenCTCT_0001_0000.nii.gz",
                                      #               "label": "./labelsTr/AbdomenCTCT_0001_0000.nii.gz"}, ...],
                                      # "registration_val": [{"fixed": "./imagesTr/...", "moving": "..."}, ...]
    imagesTr/AbdomenCTCT_0001_0000.nii.gz ...   labelsTr/AbdomenCTCT_0001_0000.nii.gz ...
    predictionsTr/AbdomenCTCT_0001_0000.nii.gz  # the segmenter's predicted labels (not in the release; optional)

AMOS 2022 (``amos22/``)::

    dataset.json                      # "training" / "validation" lists of {"image", "label"}
    imagesTr/amos_0507.nii.gz ...   labelsTr/amos_0507.nii.gz ...   imagesVa/ labelsVa/
    predictions/amos_0507.nii.gz      # the segmenter's predicted labels (not in the release; optional)

Case ids are the file stems (``AbdomenCTCT_0001``, ``amos_0548``). AMOS mixes CT (ids < 500) and MRI (ids >= 500,
the AMOS convention); ``modality`` keeps one. Arrays are returned in the NIfTI's stored voxel order, spacing from
the header in mm. Paper 20's registrars see *predicted* segmentations (nnU-Net in the paper): the adapter returns
them under ``predicted_labels`` when the predictions folder holds the case.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np

from mbench.data.adapter import DatasetAdapter
from mbench.errors import MbenchError

__all__ = ["AmosAdapter", "Learn2RegAdapter"]


def _nifti(path: Path, dtype: Any) -> np.ndarray:
    import nibabel as nib

    return np.asarray(nib.load(str(path)).dataobj, dtype=dtype)


class _NiftiPairs(DatasetAdapter):
    """Cases as (image, label[, predicted label]) NIfTI files listed by a dataset.json."""

    ndim = 3
    json_name = "dataset.json"
    predictions = "predictions"

    def __init__(self, root: Path, predictions: str | None = None, **params: Any) -> None:
        super().__init__(Path(root), **params)
        self.root = self._find_root(Path(root))
        self.predictions = predictions or self.predictions
        self.meta = json.loads((self.root / self.json_name).read_text())
        self._cases = self._index()

    def _find_root(self, root: Path) -> Path:
        for cand in (root, *sorted(p for p in root.glob("*") if p.is_dir())):
            if (cand / self.json_name).is_file():
                return cand
        raise MbenchError(f"no {self.json_name} under {root}", expected=f"the release folder holding "
                          f"{self.json_name}, imagesTr/ and labelsTr/", found=str(root),
                          fix="point data.root at the unpacked release (see the task family README)")

    @staticmethod
    def _stem(path: str) -> str:
        return Path(path).name.removesuffix(".nii.gz").removesuffix(".nii")

    def case_id(self, image: str) -> str:
        """The case id of an image path of dataset.json."""
        return self._stem(image)

    def _entries(self) -> list[dict]:
        return list(self.meta.get("training") or [])

    def _keep(self, case: str) -> bool:
        return True

    def _index(self) -> dict[str, tuple[Path, Path]]:
        cases = {}
        for entry in self._entries():
            image, label = self.root / entry["image"], self.root / entry.get("label", "")
            case = self.case_id(entry["image"])
            if self._keep(case) and image.is_file() and label.is_file():
                cases[case] = (image, label)
        if not cases:
            raise MbenchError(f"{self.root / self.json_name} lists no case with both image and label on disk",
                              expected="imagesTr/ and labelsTr/ beside the json", found="none",
                              fix="unpack the complete release")
        return cases

    def case_ids(self) -> list[str]:
        return sorted(self._cases)

    def _paths(self, case_id: str) -> tuple[Path, Path]:
        return self.case_entry(self._cases, case_id)

    def prediction_path(self, case_id: str) -> Path:
        """Where the predicted segmentation of a case is expected (same file name as its label)."""
        return self.root / self.predictions / self._paths(case_id)[1].name

    def load_input(self, case_id: str) -> dict[str, np.ndarray]:
        """``image`` (float32) and, when present, ``predicted_labels`` (int16) of a case."""
        out = {"image": _nifti(self._paths(case_id)[0], np.float32)}
        pred = self.prediction_path(case_id)
        if pred.is_file():
            out["predicted_labels"] = _nifti(pred, np.int16)
        return out

    def load_reference(self, case_id: str) -> np.ndarray:
        return _nifti(self._paths(case_id)[1], np.int16)

    def files(self, case_id: str) -> list[Path]:
        pred = self.prediction_path(case_id)
        return [*self._paths(case_id), *([pred] if pred.is_file() else [])]

    def spacing(self, case_id: str) -> tuple[float, ...]:
        import nibabel as nib

        return tuple(float(z) for z in nib.load(str(self._paths(case_id)[0])).header.get_zooms()[:3])


class Learn2RegAdapter(_NiftiPairs):
    """A Learn2Reg dataset (``AbdomenCTCT`` by default): ``<name>_dataset.json``, imagesTr/labelsTr; case ids drop
    the ``_0000`` channel suffix. :meth:`registration_pairs` gives the release's ``registration_val`` pairs."""

    predictions = "predictionsTr"

    def __init__(self, root: Path, dataset: str = "AbdomenCTCT", predictions: str | None = None) -> None:
        self.json_name = f"{dataset}_dataset.json"
        super().__init__(root, predictions=predictions, dataset=dataset)

    def case_id(self, image: str) -> str:
        return re.sub(r"_0000$", "", self._stem(image))

    def registration_pairs(self) -> list[tuple[str, str]]:
        """(fixed, moving) case ids of the release's ``registration_val`` list."""
        return [(self.case_id(p["fixed"]), self.case_id(p["moving"])) for p in self.meta.get("registration_val", [])]


class AmosAdapter(_NiftiPairs):
    """AMOS 2022 (``dataset.json``; training and validation lists), restricted to one modality: ``MR`` (case
    numbers >= 500) or ``CT`` (< 500)."""

    def __init__(self, root: Path, modality: str = "MR", predictions: str | None = None) -> None:
        if modality not in ("MR", "CT"):
            raise MbenchError(f"unknown AMOS modality {modality!r}", expected="MR or CT", found=str(modality))
        self.modality = modality
        super().__init__(root, predictions=predictions, modality=modality)

    def _entries(self) -> list[dict]:
        return [*(self.meta.get("training") or []), *(self.meta.get("validation") or [])]

    def _keep(self, case: str) -> bool:
        number = int(re.sub(r"\D", "", case) or -1)
        return (number >= 500) == (self.modality == "MR")
