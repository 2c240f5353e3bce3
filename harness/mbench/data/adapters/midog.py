"""MIDOG 2021 (Aubreville et al., Med. Image Anal. 84, 102699, 2023; Zenodo 10.5281/zenodo.4643381), release layout.

``<root>/MIDOG.json`` (COCO-style: ``images`` with ``file_name`` ``001.tiff`` and ``id`` 1, ``categories``
1 = mitotic figure, 2 = hard negative (imposter), ``annotations`` with ``bbox`` = ``[x1, y1, x2, y2]`` in pixels,
**not** COCO's ``[x, y, w, h]``: the release's boxes are 50 x 50 px squares around the cell centre) and the
images ``<root>/images/<id>.tiff`` (or directly ``<root>/<id>.tiff``, as on Zenodo): RGB TIFF regions of about
2 mm^2 (e.g. 7215 x 5412 px) cropped from whole-slide images, one tumour case each.

Scanner (domain) by image id, as the release documents: 001-050 Hamamatsu XR, 051-100 Hamamatsu S360,
101-150 Aperio ScanScope CS2, 151-200 Leica GT450 (images only, no annotations). Only scanners listed in
``scanners`` are cases (default: the three labelled ones). Case id: the file stem (``"001"``); every image is
its own group (one tumour case per image). :meth:`MidogAdapter.case_attributes` gives ``{"scanner": ...}``.

Images are read with ``tifffile``: memory-mapped when the TIFF is uncompressed, else decoded once into a
``.npy`` under the mbench cache and memory-mapped from there, so tiles are cut without holding slides in RAM.
"""

from __future__ import annotations

import hashlib
import json
from functools import cached_property
from pathlib import Path

import numpy as np

from mbench.data.adapter import DatasetAdapter
from mbench.errors import MbenchError

__all__ = ["MidogAdapter", "MIDOG_SCANNERS", "midog_scanner"]

# first id, last id, scanner name (release documentation, imig.science/midog2021/download-dataset)
MIDOG_SCANNERS = ((1, 50, "Hamamatsu XR"), (51, 100, "Hamamatsu S360"), (101, 150, "Aperio CS2"),
                  (151, 200, "Leica GT450"))
LABELLED = ["Hamamatsu XR", "Hamamatsu S360", "Aperio CS2"]


def midog_scanner(image_id: int) -> str:
    """The scanner of a MIDOG 2021 image id.

    Example:
        >>> midog_scanner(1), midog_scanner(51), midog_scanner(150)
        ('Hamamatsu XR', 'Hamamatsu S360', 'Aperio CS2')
    """
    for lo, hi, name in MIDOG_SCANNERS:
        if lo <= int(image_id) <= hi:
            return name
    raise MbenchError(f"MIDOG image id {image_id} is outside the documented 1-200 range",
                      expected="ids 1-200 (001.tiff-200.tiff)", found=str(image_id))


class MidogAdapter(DatasetAdapter):
    """MIDOG 2021: TIFF regions + one COCO-style ``MIDOG.json``; references are boxes, not label maps.

    ``load_reference`` returns an (n, 5) float array ``[x1, y1, x2, y2, category_id]``; :meth:`annotations` the
    boxes and labels of the requested categories.
    """

    ndim = 2

    def __init__(self, root: Path, scanners: list[str] | None = None, annotation_file: str = "MIDOG.json",
                 image_dir: str = "images") -> None:
        super().__init__(root, scanners=scanners, annotation_file=annotation_file, image_dir=image_dir)
        self.scanners = list(scanners) if scanners is not None else list(LABELLED)
        unknown = [s for s in self.scanners if s not in {n for *_, n in MIDOG_SCANNERS}]
        if unknown:
            raise MbenchError(f"unknown MIDOG scanners {unknown}", expected=str([n for *_, n in MIDOG_SCANNERS]),
                              found=str(unknown))
        self.annotation_path = self.root / annotation_file
        if not self.annotation_path.is_file():
            found = sorted(p.name for p in self.root.iterdir())[:8] if self.root.is_dir() else "no such folder"
            raise MbenchError(f"no MIDOG 2021 layout under {self.root}",
                              expected=f"{annotation_file} and images/<id>.tiff (or <id>.tiff)", found=str(found),
                              fix="set data.root to the folder holding MIDOG.json and the TIFF images (Zenodo 4643381)")
        self.image_folder = self.root / image_dir if (self.root / image_dir).is_dir() else self.root

    @cached_property
    def _coco(self) -> dict:
        try:
            data = json.loads(self.annotation_path.read_text())
            images = {int(im["id"]): im for im in data["images"]}
            categories = {int(c["id"]): str(c["name"]) for c in data["categories"]}
            annotations = data["annotations"]
        except (ValueError, KeyError, TypeError) as exc:
            raise MbenchError(f"{self.annotation_path} is not a MIDOG COCO file ({exc})",
                              expected="images, categories and annotations lists", fix="restore MIDOG.json") from None
        by_image: dict[int, list[list[float]]] = {i: [] for i in images}
        for a in annotations:
            by_image.setdefault(int(a["image_id"]), []).append([*map(float, a["bbox"]), float(a["category_id"])])
        return {"images": images, "categories": categories, "by_image": by_image}

    @property
    def categories(self) -> dict[int, str]:
        """Category id -> name, from the file (1 mitotic figure, 2 hard negative in the release)."""
        return dict(self._coco["categories"])

    @cached_property
    def _cases(self) -> dict[str, dict]:
        cases = {}
        for image_id, im in sorted(self._coco["images"].items()):
            if midog_scanner(image_id) not in self.scanners:
                continue
            case = Path(im["file_name"]).stem
            path = self.image_folder / im["file_name"]
            if path.is_file():
                cases[case] = {"id": image_id, "path": path, "width": int(im["width"]), "height": int(im["height"])}
        if not cases:
            raise MbenchError(f"MIDOG: none of the images listed in {self.annotation_path.name} is under "
                              f"{self.image_folder}", expected="e.g. images/001.tiff", fix="download the TIFF files")
        return cases

    def case_ids(self) -> list[str]:
        return sorted(self._cases)

    def _case(self, case_id: str) -> dict:
        if case_id not in self._cases:
            raise MbenchError(f"MIDOG case {case_id!r} not found under {self.root}",
                              expected=f"one of {len(self._cases)} images of {self.scanners}", found=case_id)
        return self._cases[case_id]

    def scanner(self, case_id: str) -> str:
        return midog_scanner(self._case(case_id)["id"])

    def case_attributes(self) -> dict[str, dict[str, str]]:
        return {c: {"scanner": midog_scanner(v["id"])} for c, v in self._cases.items()}

    def image_size(self, case_id: str) -> tuple[int, int]:
        """(width, height) as MIDOG.json lists them."""
        c = self._case(case_id)
        return c["width"], c["height"]

    def open_image(self, case_id: str) -> np.ndarray:
        """The RGB image (H, W, 3) uint8, memory-mapped (uncompressed TIFF, or a decoded copy in the mbench cache)."""
        import tifffile

        path = self._case(case_id)["path"]
        try:
            image = tifffile.memmap(path, mode="r")
        except (ValueError, OSError):
            from mbench.paths import cache_dir

            stat = path.stat()
            key = hashlib.sha256(f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}".encode()).hexdigest()[:16]
            cached = cache_dir() / "midog_npy" / f"{path.stem}-{key}.npy"
            if not cached.is_file():
                cached.parent.mkdir(parents=True, exist_ok=True)
                tmp = cached.with_suffix(".tmp.npy")
                np.save(tmp, np.ascontiguousarray(tifffile.imread(path)))
                tmp.replace(cached)
            image = np.load(cached, mmap_mode="r")
        if image.ndim != 3 or image.shape[2] < 3:
            raise MbenchError(f"MIDOG image {path.name} is not RGB", expected="(H, W, 3)", found=str(image.shape))
        return image[:, :, :3]

    def load_input(self, case_id: str) -> dict[str, np.ndarray]:
        return {"image": np.asarray(self.open_image(case_id))}

    def load_reference(self, case_id: str) -> np.ndarray:
        rows = self._coco["by_image"].get(self._case(case_id)["id"], [])
        return np.asarray(rows, dtype=float).reshape(-1, 5)

    def annotations(self, case_id: str, categories: list[int] | None = None) -> dict[str, np.ndarray]:
        """``{"boxes": (n, 4) [x1, y1, x2, y2], "labels": (n,)}`` of the given category ids (default all)."""
        ref = self.load_reference(case_id)
        if categories is not None:
            ref = ref[np.isin(ref[:, 4].astype(int), categories)]
        return {"boxes": ref[:, :4].copy(), "labels": ref[:, 4].astype(int)}

    def files(self, case_id: str) -> list[Path]:
        return [self._case(case_id)["path"], self.annotation_path]
