"""Colour fundus photographs with image-level labels (paper 21, ToFi-ML): APTOS 2019, iChallenge-AMD, ORIGA.

The reference of a case is one integer class code (a 0-d array; the card's ``target: class_code``). Images are
read as (H, W, 3) uint8 RGB at their native size. No release gives patient ids, so each image is its own group
(APTOS holds both eyes of some patients: a known, unavoidable leak of the public release).

* **APTOS 2019** (Kaggle "APTOS 2019 Blindness Detection"): ``<root>/train.csv`` with columns ``id_code,diagnosis``
  (grade 0-4) and ``<root>/train_images/<id_code>.png``. ``binary=True`` maps grade 0 -> 0 (no DR), 1-4 -> 1.
* **iChallenge-AMD** (ADAM, ISBI 2020): ``<root>/Training400/{AMD,Non-AMD}/<name>.jpg`` (names A0001..., N0001...);
  ``root`` may be the ``Training400`` folder itself. AMD -> 1, Non-AMD -> 0.
* **ORIGA(-light)**: ``<root>/<csv>`` (default ``OrigaList.csv``) with an image-name column (default ``Filename``)
  and a 0/1 glaucoma column (default ``Glaucoma``), images under ``<root>/<image_dir>`` (default ``Images``). The
  ORIGA distributions differ, so these names are adapter parameters (``data.params`` of the card); a mismatch stops
  with an error naming them.
"""

from __future__ import annotations

import csv
from pathlib import Path

from mbench.data.adapters.classified import ClassifiedImagesAdapter
from mbench.errors import MbenchError

__all__ = ["AptosAdapter", "AdamAmdAdapter", "OrigaAdapter"]


def _read_table(path: Path, columns: tuple[str, ...], dataset: str) -> list[dict[str, str]]:
    if not path.is_file():
        raise MbenchError(f"{dataset}: label table not found", expected=str(path), found="no such file",
                          fix="set data.root to the release folder (see tasks/fundus/README.md)")
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    missing = [c for c in columns if rows and c not in rows[0]]
    if not rows or missing:
        raise MbenchError(f"{dataset}: {path.name} lacks the expected columns", expected=", ".join(columns),
                          found=", ".join(rows[0]) if rows else "an empty table",
                          fix="check the table, or set the column names in the card's data.params")
    return rows


class AptosAdapter(ClassifiedImagesAdapter):
    """APTOS 2019: ``train.csv`` (id_code, diagnosis 0-4) + ``train_images/<id_code>.png``."""

    name = "APTOS 2019"

    def __init__(self, root: Path, binary: bool = False) -> None:
        self.binary = bool(binary)
        super().__init__(root, binary=binary)

    def _find(self) -> dict[str, tuple[Path, int]]:
        cases = {}
        for row in _read_table(self.root / "train.csv", ("id_code", "diagnosis"), self.name):
            grade = int(row["diagnosis"])
            if not 0 <= grade <= 4:
                raise MbenchError("APTOS: diagnosis outside 0-4", found=f"{row['id_code']}: {grade}")
            path = self.root / "train_images" / f"{row['id_code']}.png"
            if not path.is_file():
                raise MbenchError("APTOS: an image of train.csv is missing", expected=str(path),
                                  fix="unzip train_images next to train.csv")
            cases[row["id_code"]] = (path, int(grade > 0) if self.binary else grade)
        return cases


class AdamAmdAdapter(ClassifiedImagesAdapter):
    """iChallenge-AMD (ADAM) training set: ``Training400/AMD/*.jpg`` (1) and ``Training400/Non-AMD/*.jpg`` (0)."""

    name = "iChallenge-AMD"
    classes = {"Non-AMD": 0, "AMD": 1}

    def _find(self) -> dict[str, tuple[Path, int]]:
        base = self.root / "Training400" if (self.root / "Training400").is_dir() else self.root
        if not all((base / c).is_dir() for c in self.classes):
            raise MbenchError(f"no iChallenge-AMD layout under {self.root}",
                              expected="Training400/AMD/*.jpg and Training400/Non-AMD/*.jpg",
                              found=str(sorted(p.name for p in base.iterdir())[:8]) if base.is_dir() else "no folder",
                              fix="set data.root to the unzipped training set")
        return {p.stem: (p, code) for cls, code in self.classes.items()
                for p in sorted((base / cls).iterdir()) if p.suffix.lower() in (".jpg", ".jpeg", ".png")}


class OrigaAdapter(ClassifiedImagesAdapter):
    """ORIGA: a label table (image name, 0/1 glaucoma) and an image folder; names configurable."""

    name = "ORIGA"

    def __init__(self, root: Path, table: str = "OrigaList.csv", image_dir: str = "Images",
                 id_column: str = "Filename", label_column: str = "Glaucoma") -> None:
        self.table, self.image_dir, self.id_column, self.label_column = table, image_dir, id_column, label_column
        super().__init__(root, table=table, image_dir=image_dir, id_column=id_column, label_column=label_column)

    def _find(self) -> dict[str, tuple[Path, int]]:
        cases = {}
        for row in _read_table(self.root / self.table, (self.id_column, self.label_column), self.name):
            path = self.root / self.image_dir / row[self.id_column]
            if not path.is_file():
                raise MbenchError("ORIGA: an image of the label table is missing", expected=str(path),
                                  fix="check data.params image_dir / id_column against the release")
            label = int(float(row[self.label_column]))
            if label not in (0, 1):
                raise MbenchError("ORIGA: glaucoma label not 0/1", found=f"{row[self.id_column]}: {label}")
            cases[Path(row[self.id_column]).stem] = (path, label)
        return cases
