"""Shoulder implant radiographs labelled by make and model (paper 9, Mishra et al. 2023): users' own data.

The paper's relabelled set (UCI images plus a surgeon's, corrected by orthopaedic surgeons) is not released, so this
is a documented layout for one's own data (and the stand-in's)::

    <root>/labels.csv          columns: image, make, model, view[, patient]
    <root>/images/<image>      PNG / JPG radiographs, grey or RGB, any size

Only ``view == AP`` rows are read (the paper discards the lateral views). The class of an image is
``"<make> <model>"``; ``classes`` lists the classes used, in code order, so a label-subset view (Depuy's 4 models,
the 3 others) reads the same folder with fewer classes and other rows are left out. Groups are the ``patient``
column when present (one implant per patient is typical), else each image. :meth:`case_attributes` gives
``{"class", "make"}`` (the split manifest stratifies by class).
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from mbench.data.adapter import DatasetAdapter
from mbench.errors import MbenchError

__all__ = ["ShoulderImplantAdapter", "SHOULDER_IMPLANT_CLASSES"]

# Table 1 of the paper, in the card's code order: (make, model)
SHOULDER_IMPLANT_CLASSES = (("Biomet", "Biomodular"), ("Smith and Nephew", "Cofield II"),
                            ("Depuy", "Global Advantage"), ("Depuy", "Global"), ("Depuy", "Global Fracture"),
                            ("Depuy", "HRP"), ("Zimmer", "Bigliani"))
_COLUMNS = ("image", "make", "model", "view")


class ShoulderImplantAdapter(DatasetAdapter):
    """AP radiographs listed in ``labels.csv``; the reference is the class code (index in ``classes``)."""

    ndim = 2

    def __init__(self, root: Path, classes: list[str] | None = None, view: str = "AP") -> None:
        names = list(classes) if classes else [f"{make} {model}" for make, model in SHOULDER_IMPLANT_CLASSES]
        super().__init__(root, classes=names, view=view)
        self.classes, self.view = tuple(names), view
        self._rows = self._read()

    def _read(self) -> dict[str, dict[str, str]]:
        table = self.root / "labels.csv"
        if not table.is_file():
            raise MbenchError(f"no shoulder-implant layout under {self.root}",
                              expected="labels.csv (image, make, model, view[, patient]) and images/<image>",
                              found="no labels.csv", fix="set data.root to your folder (see tasks/shoulder_implant)")
        with open(table, newline="") as fh:
            reader = csv.DictReader(fh)
            missing = [c for c in _COLUMNS if c not in (reader.fieldnames or [])]
            if missing:
                raise MbenchError(f"{table}: missing columns {missing}", expected=", ".join(_COLUMNS),
                                  found=str(reader.fieldnames), fix="add the columns (patient is optional)")
            rows = {}
            for row in reader:
                name = f"{row['make'].strip()} {row['model'].strip()}"
                if row["view"].strip().upper() != self.view.upper() or name not in self.classes:
                    continue
                path = self.root / "images" / row["image"].strip()
                if not path.is_file():
                    raise MbenchError(f"shoulder implant image listed in labels.csv is missing: {path}",
                                      fix="restore the image or remove its row")
                case = Path(row["image"].strip()).stem
                if case in rows:
                    raise MbenchError(f"{table}: image {case!r} listed twice", fix="list each image once")
                rows[case] = {"path": str(path), "class": name, "make": row["make"].strip(),
                              "patient": (row.get("patient") or "").strip() or case}
        if not rows:
            raise MbenchError(f"{table}: no {self.view} images of the classes {list(self.classes)}",
                              fix="check the make / model spelling against the card's classes")
        return rows

    def case_ids(self) -> list[str]:
        return sorted(self._rows)

    def _row(self, case_id: str) -> dict[str, str]:
        return self.case_entry(self._rows, case_id, "shoulder implant", "images")

    def load_input(self, case_id: str) -> dict[str, np.ndarray]:
        """``image``: (H, W) uint8 grey (the paper converts to greyscale)."""
        from PIL import Image

        with Image.open(self._row(case_id)["path"]) as im:
            return {"image": np.asarray(im.convert("L"))}

    def load_reference(self, case_id: str) -> np.ndarray:
        return np.asarray(self.classes.index(self._row(case_id)["class"]), dtype=np.int64)

    def files(self, case_id: str) -> list[Path]:
        return [Path(self._row(case_id)["path"]), self.root / "labels.csv"]

    def groups(self) -> dict[str, str]:
        return {c: r["patient"] for c, r in self._rows.items()}

    def case_attributes(self) -> dict[str, dict[str, str]]:
        return {c: {"class": r["class"], "make": r["make"]} for c, r in self._rows.items()}
