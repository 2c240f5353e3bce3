"""Users' own 3D data in the nnU-Net v2 raw layout, with an optional per-case metadata CSV.

::

    <root>/dataset.json                # {"channel_names": {"0": "FLAIR"}, "labels": {"background": 0, "WMH": 1,
                                       #  "stroke": 2}, "numTraining": 162, "file_ending": ".nii.gz"}
    <root>/imagesTr/<case>_0000.nii.gz # one file per channel: _0000, _0001, ... in channel_names order
    <root>/labelsTr/<case>.nii.gz      # integer label map on the same grid
    <root>/imagesTs/<case>_0000.nii.gz # the fixed test cases (labels in labelsTs/, which nnU-Net itself
    <root>/labelsTs/<case>.nii.gz      #   does not read, but an evaluation needs)
    <root>/metadata.csv                # optional: case,<attribute>,... (e.g. protocol, stroke_type); a
                                       #   ``patient`` column groups cases that must not cross splits

The release's own split is the folder: ``official_splits()`` gives ``train`` (imagesTr) and ``test``
(imagesTs). Spacing comes from the NIfTI header.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np

from mbench.data.adapter import DatasetAdapter
from mbench.errors import MbenchError

__all__ = ["NnUNetRawAdapter"]

_PARTS = {"train": ("imagesTr", "labelsTr"), "test": ("imagesTs", "labelsTs")}


class NnUNetRawAdapter(DatasetAdapter):
    """Adapter for an nnU-Net v2 raw dataset folder.

    Args:
        root: the ``DatasetXXX_Name`` folder.
        metadata: CSV file (relative to root) with a ``case`` column and attribute columns; ``None``: none.
        required_attributes: metadata columns that must exist and be filled for every case.
    """

    def __init__(self, root: Path, metadata: str | None = "metadata.csv",
                 required_attributes: list[str] | tuple[str, ...] = ()) -> None:
        super().__init__(root, metadata=metadata, required_attributes=list(required_attributes))
        self.info = self._dataset_json()
        self.channel_names = [self.info["channel_names"][k] for k in sorted(self.info["channel_names"], key=int)]
        self.ending = self.info.get("file_ending", ".nii.gz")
        self._cases = self._find_cases()
        self._meta = self._read_metadata(metadata, list(required_attributes))

    def _dataset_json(self) -> dict:
        path = self.root / "dataset.json"
        if not path.exists():
            raise MbenchError(f"no dataset.json in {self.root}",
                              expected="an nnU-Net v2 raw folder: dataset.json, imagesTr/, labelsTr/, imagesTs/, labelsTs/",
                              fix="set data.root to the DatasetXXX folder (see the family README for the layout)")
        info = json.loads(path.read_text())
        for key in ("channel_names", "labels"):
            if key not in info:
                raise MbenchError(f"dataset.json lacks {key!r}", expected="nnU-Net v2 keys channel_names, labels, "
                                  "file_ending", found=str(sorted(info)), fix="write an nnU-Net v2 dataset.json")
        return info

    def _find_cases(self) -> dict[str, str]:
        cases: dict[str, str] = {}
        suffix = f"_0000{self.ending}"
        for part, (images, labels) in _PARTS.items():
            folder = self.root / images
            if not folder.is_dir():
                continue
            for path in sorted(folder.glob(f"*{suffix}")):
                case = path.name[: -len(suffix)]
                if not (self.root / labels / f"{case}{self.ending}").exists():
                    raise MbenchError(f"case {case} has no label map", expected=f"{labels}/{case}{self.ending}",
                                      fix="every image needs its label file (labelsTs too, for evaluation)")
                cases[case] = part
        if not cases:
            raise MbenchError(f"no cases under {self.root}", expected=f"imagesTr/<case>{suffix}",
                              found=", ".join(sorted(p.name for p in self.root.iterdir())[:8]),
                              fix="point data.root at the nnU-Net raw dataset folder")
        return cases

    def _read_metadata(self, name: str | None, required: list[str]) -> dict[str, dict[str, str]]:
        if name is None:
            return {}
        path = self.root / name
        if not path.exists():
            if required:
                raise MbenchError(f"metadata file {path} not found", expected=f"a CSV with columns case,{','.join(required)}",
                                  fix="write the metadata CSV (see the family README)")
            return {}
        with open(path, newline="") as fh:
            rows = list(csv.DictReader(fh))
        if rows and "case" not in rows[0]:
            raise MbenchError(f"{path.name} has no 'case' column", found=str(list(rows[0])))
        meta = {r["case"]: {k: v for k, v in r.items() if k != "case"} for r in rows}
        missing = [c for c in self._cases if c not in meta] if required else []
        bad = [(c, a) for c in self._cases for a in required if c in meta and not meta[c].get(a)]
        if missing or bad:
            raise MbenchError(f"{path.name} does not describe every case", expected=f"columns {required} for every case",
                              found=f"{len(missing)} cases missing (e.g. {missing[:3]}), {len(bad)} empty cells",
                              fix="complete the metadata CSV")
        return meta

    def case_ids(self) -> list[str]:
        return sorted(self._cases)

    def official_splits(self) -> dict[str, list[str]]:
        return {part: sorted(c for c, p in self._cases.items() if p == part) for part in _PARTS
                if any(p == part for p in self._cases.values())}

    def groups(self) -> dict[str, str]:
        return {c: self._meta.get(c, {}).get("patient") or c for c in self.case_ids()}

    def case_attributes(self) -> dict[str, dict[str, str]]:
        return {c: {k: v for k, v in self._meta.get(c, {}).items() if k != "patient"} for c in self.case_ids()}

    def _image(self, case: str, channel: int) -> Path:
        return self.root / _PARTS[self.case_entry(self._cases, case)][0] / f"{case}_{channel:04d}{self.ending}"

    def _label(self, case: str) -> Path:
        return self.root / _PARTS[self._cases[case]][1] / f"{case}{self.ending}"

    @staticmethod
    def _read(path: Path) -> np.ndarray:
        import nibabel as nib

        if not path.exists():
            raise MbenchError(f"missing file {path}", fix="every case needs one image per channel of dataset.json")
        return np.asanyarray(nib.load(str(path)).dataobj)

    def load_input(self, case_id: str) -> dict[str, np.ndarray]:
        return {name: self._read(self._image(case_id, k)).astype(np.float32)
                for k, name in enumerate(self.channel_names)}

    def load_reference(self, case_id: str) -> np.ndarray:
        seg = self._read(self._label(case_id))
        allowed = {int(v) for v in self.info["labels"].values() if not isinstance(v, list)}
        found = set(np.unique(seg).astype(int).tolist())
        if found - allowed:
            raise MbenchError(f"{case_id}: label map holds values dataset.json does not declare",
                              expected=str(sorted(allowed)), found=str(sorted(found - allowed)))
        return seg.astype(np.int16)

    def files(self, case_id: str) -> list[Path]:
        return [*(self._image(case_id, k) for k in range(len(self.channel_names))), self._label(case_id)]

    def spacing(self, case_id: str) -> tuple[float, ...]:
        import nibabel as nib

        return tuple(float(z) for z in nib.load(str(self._label(case_id))).header.get_zooms()[:3])
