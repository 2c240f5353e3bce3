"""GestaltMatcher Database (GMDB, Hsieh et al. 2022; access on application): faces labelled by syndrome.

GMDB's release metadata (``gmdb_metadata/``) lists the images of each set; the harness reads this layout (the
images folder name and the landmark file are the harness's convention, documented for users)::

    <root>/gmdb_metadata/gmdb_frequent_train_images_<version>.csv   image_id,label[,patient_id]
    <root>/gmdb_metadata/gmdb_frequent_test_images_<version>.csv    image_id,label[,patient_id]
    <root>/gmdb_metadata/gmdb_rare_gallery_images_<version>.csv     image_id,label,split   (split = episode 0..9)
    <root>/gmdb_metadata/gmdb_rare_test_images_<version>.csv        image_id,label,split
    <root>/gmdb_images/<image_id>.<jpg|png>                          aligned face photographs
    <root>/gmdb_landmarks.csv                                       image_id,x0,y0,...,x<K-1>,y<K-1>  (K = 5 or 68)

GMDB-Frequent are the base classes (train / test); GMDB-Rare the novel ones, evaluated over the release's 10
gallery (support) / test (query) episodes (:meth:`GMDBAdapter.episodes`). Landmarks (dlib 68-point or 5-point, in
pixels of the stored image) are needed for keypoint-guided mixup only. The reference of an image is its syndrome
label (an integer id); groups are ``patient_id`` when given, else the image.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from mbench.data.adapter import DatasetAdapter
from mbench.errors import MbenchError

__all__ = ["GMDBAdapter"]


def _read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as fh:
        return [{k.strip(): (v or "").strip() for k, v in row.items()} for row in csv.DictReader(fh)]


class GMDBAdapter(DatasetAdapter):
    """GMDB v1.0.3 metadata layout (see the module docstring)."""

    ndim = 2

    def __init__(self, root: Path, version: str = "v1.0.3", images_dir: str = "gmdb_images",
                 landmarks_file: str = "gmdb_landmarks.csv") -> None:
        super().__init__(root, version=version, images_dir=images_dir, landmarks_file=landmarks_file)
        self.version, self.images_dir, self.landmarks_file = version, images_dir, landmarks_file
        self._tables = {name: self._table(name) for name in ("frequent_train", "frequent_test", "rare_gallery",
                                                             "rare_test")}
        self._cases: dict[str, dict[str, str]] = {}
        for name, rows in self._tables.items():
            for row in rows:
                case = row["image_id"]
                known = self._cases.setdefault(case, {"label": row["label"], "patient": row.get("patient_id") or case,
                                                      "set": name.split("_")[0]})
                if known["label"] != row["label"]:
                    raise MbenchError(f"GMDB image {case} has two labels", found=f"{known['label']}, {row['label']}",
                                      fix="restore the release's metadata files")
        self._images = self._find_images()

    def _table(self, name: str) -> list[dict[str, str]]:
        path = self.root / "gmdb_metadata" / f"gmdb_{name}_images_{self.version}.csv"
        if not path.is_file():
            raise MbenchError(f"no GMDB metadata under {self.root}", expected=str(path), found="missing",
                              fix="set data.root to the GMDB release folder (with gmdb_metadata/ and gmdb_images/)")
        rows = _read_csv(path)
        need = {"image_id", "label"} | ({"split"} if name.startswith("rare") else set())
        if rows and not need <= set(rows[0]):
            raise MbenchError(f"{path.name}: missing columns {sorted(need - set(rows[0]))}", found=str(sorted(rows[0])))
        return rows

    def _find_images(self) -> dict[str, Path]:
        folder = self.root / self.images_dir
        found = {p.stem: p for p in folder.glob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".png")}
        missing = sorted(set(self._cases) - set(found))
        if missing:
            raise MbenchError(f"{len(missing)} GMDB images listed in the metadata are missing from {folder}",
                              found=f"e.g. {missing[:3]}", fix="point data.root at the complete release")
        return {c: found[c] for c in self._cases}

    def case_ids(self) -> list[str]:
        return sorted(self._cases)

    def _case(self, case_id: str) -> dict[str, str]:
        if case_id not in self._cases:
            raise MbenchError(f"GMDB image {case_id!r} not in the metadata", found=f"{len(self._cases)} images")
        return self._cases[case_id]

    def load_input(self, case_id: str) -> dict[str, np.ndarray]:
        """``image``: (H, W, 3) uint8 RGB."""
        from PIL import Image

        self._case(case_id)
        with Image.open(self._images[case_id]) as im:
            return {"image": np.asarray(im.convert("RGB"))}

    def load_reference(self, case_id: str) -> np.ndarray:
        """The syndrome label (0-d int64)."""
        return np.asarray(int(self._case(case_id)["label"]), dtype=np.int64)

    def files(self, case_id: str) -> list[Path]:
        meta = [self.root / "gmdb_metadata" / f"gmdb_{n}_images_{self.version}.csv" for n in self._tables]
        return [self._images[case_id], *meta]

    def groups(self) -> dict[str, str]:
        return {c: v["patient"] for c, v in self._cases.items()}

    def case_attributes(self) -> dict[str, dict[str, str]]:
        return {c: {"class": v["label"], "set": v["set"]} for c, v in self._cases.items()}

    def official_splits(self) -> dict[str, list[str]]:
        """``frequent_train``, ``frequent_test`` and ``rare`` (every GMDB-Rare image)."""
        rare = {r["image_id"] for n in ("rare_gallery", "rare_test") for r in self._tables[n]}
        return {"frequent_train": sorted({r["image_id"] for r in self._tables["frequent_train"]}),
                "frequent_test": sorted({r["image_id"] for r in self._tables["frequent_test"]}),
                "rare": sorted(rare)}

    def episodes(self) -> list[dict[str, list[str]]]:
        """The release's support (gallery) / query (test) episodes of GMDB-Rare, by its ``split`` column."""
        splits = sorted({int(r["split"]) for n in ("rare_gallery", "rare_test") for r in self._tables[n]})
        return [{"support": sorted(r["image_id"] for r in self._tables["rare_gallery"] if int(r["split"]) == k),
                 "query": sorted(r["image_id"] for r in self._tables["rare_test"] if int(r["split"]) == k)}
                for k in splits]

    def keypoints(self, case_id: str) -> tuple[np.ndarray, tuple[int, int]]:
        """Facial landmarks (K, 2) as (x, y) pixels of the stored image, and that image's (height, width)."""
        table = self.__dict__.get("_landmarks")
        if table is None:
            path = self.root / self.landmarks_file
            if not path.is_file():
                raise MbenchError(f"no facial landmarks file {path}",
                                  expected="image_id,x0,y0,...: dlib 68- or 5-point landmarks per image",
                                  fix="detect landmarks (e.g. dlib shape_predictor_68) and write that CSV, or use "
                                      "mixup: none / input")
            table = {r["image_id"]: np.asarray([float(r[f"{a}{i}"]) for i in range(sum(k.startswith("x") for k in r))
                                                for a in ("x", "y")]).reshape(-1, 2) for r in _read_csv(path)}
            self.__dict__["_landmarks"] = table
        if case_id not in table:
            raise MbenchError(f"no landmarks for GMDB image {case_id!r}", fix=f"add it to {self.landmarks_file}")
        from PIL import Image

        with Image.open(self._images[case_id]) as im:
            size = (im.size[1], im.size[0])
        return table[case_id], size
