"""Lung gross pathology photographs with tumour masks (Gil et al., paper 2): a user-data folder layout.

The paper's data are private (15 NSCLC patients, 116 RGB photographs of sliced resected lungs, two
acquisition sets A and B). Users bring their own in this layout::

    <root>/images/<image>.png|jpg     RGB photograph (any size; the card resizes)
    <root>/masks/<image>.png          tumour mask, same stem and size: grey >= 128 is tumour
    <root>/patients.csv               header ``image,patient,source``: one row per image (``source``
                                      optional, e.g. A / B, used to report results per subgroup)

Each image is a case; ``patient`` is its group, so cross-validation folds never split a patient.
"""

from __future__ import annotations

import csv
from pathlib import Path

from mbench.data.adapters.kvasir import ImageMaskFolderAdapter
from mbench.errors import MbenchError

__all__ = ["LungGrossPathAdapter"]


class LungGrossPathAdapter(ImageMaskFolderAdapter):
    """``images/``, ``masks/`` and ``patients.csv`` (image -> patient, source); see the module docstring."""

    dataset = "lung gross pathology"

    def __init__(self, root: Path, image_dir: str = "images", mask_dir: str = "masks", threshold: int = 128,
                 table: str = "patients.csv") -> None:
        super().__init__(root, image_dir=image_dir, mask_dir=mask_dir, threshold=threshold)
        self.params["table"] = table
        self.table = self.root / table
        self._rows = self._read_table()

    def _read_table(self) -> dict[str, dict[str, str]]:
        if not self.table.is_file():
            raise MbenchError(f"{self.dataset}: no patient table {self.table}", expected="patients.csv with columns "
                              "image,patient[,source]", fix="write one row per image naming its patient")
        with open(self.table, newline="") as fh:
            reader = csv.DictReader(fh)
            if not {"image", "patient"} <= set(reader.fieldnames or []):
                raise MbenchError(f"{self.table}: missing columns", expected="image,patient[,source]",
                                  found=str(reader.fieldnames))
            rows = {Path(r["image"].strip()).stem: {k: (v or "").strip() for k, v in r.items()} for r in reader}
        missing = sorted(set(self.case_ids()) - set(rows))
        if missing:
            raise MbenchError(f"{self.table}: images without a patient", found=f"{len(missing)}, e.g. {missing[:3]}",
                              fix="add a row per image")
        return rows

    def groups(self) -> dict[str, str]:
        return {c: self._rows[c]["patient"] for c in self.case_ids()}

    def case_attributes(self) -> dict[str, dict[str, str]]:
        return {c: {"source": self._rows[c].get("source") or "all"} for c in self.case_ids()}

    def files(self, case_id: str) -> list[Path]:
        return [*self._pair(case_id), self.table]
