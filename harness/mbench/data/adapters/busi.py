"""BUSI, the breast ultrasound dataset of Al-Dhabyani et al. (Data in Brief 2020), in its release layout.

``<root>/Dataset_BUSI_with_GT/{benign,malignant,normal}/<class> (<n>).png`` with ``<class> (<n>)_mask.png`` and,
for some images, further masks ``<class> (<n>)_mask_1.png``, ``_mask_2.png`` ... (one per lesion), which are
merged (union). ``root`` may be the ``Dataset_BUSI_with_GT`` folder itself. Images are read as grey (H, W) uint8
(the release stores some as RGB); masks are thresholded at grey level 128. Normal images have empty masks.

Case id: the image's file stem, e.g. ``benign (12)`` (unique, since it carries the class); each image is its own
group (the release gives no patient ids). :meth:`BusiAdapter.case_attributes` gives ``{"class": ...}``.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from mbench.data.adapter import DatasetAdapter
from mbench.errors import MbenchError

__all__ = ["BusiAdapter", "BUSI_CLASSES"]

BUSI_CLASSES = ("benign", "malignant", "normal")
_MASK = re.compile(r"^(?P<stem>.+)_mask(?:_(?P<k>\d+))?$")


class BusiAdapter(DatasetAdapter):
    """BUSI: grey images per class folder, one or more binary masks per image (merged)."""

    ndim = 2
    release_folder = "Dataset_BUSI_with_GT"

    def __init__(self, root: Path, threshold: int = 128) -> None:
        super().__init__(root, threshold=threshold)
        if not (self.root / "benign").is_dir() and (self.root / self.release_folder).is_dir():
            self.root = self.root / self.release_folder
        self.threshold = threshold
        self._cases = self._find()

    def _find(self) -> dict[str, tuple[str, Path, list[Path]]]:
        if not all((self.root / c).is_dir() for c in BUSI_CLASSES):
            found = sorted(p.name for p in self.root.iterdir())[:8] if self.root.is_dir() else "no such folder"
            raise MbenchError(f"no BUSI layout under {self.root}",
                              expected="Dataset_BUSI_with_GT/{benign,malignant,normal}/<class> (<n>).png",
                              found=str(found), fix="set data.root to the unzipped Dataset_BUSI_with_GT folder")
        cases: dict[str, tuple[str, Path, list[Path]]] = {}
        for cls in BUSI_CLASSES:
            images, masks = {}, {}
            for p in sorted((self.root / cls).glob("*.png")):
                m = _MASK.match(p.stem)
                if m:
                    masks.setdefault(m["stem"], []).append((int(m["k"] or 0), p))
                else:
                    images[p.stem] = p
            missing = sorted(set(images) - set(masks))
            if missing:
                raise MbenchError(f"BUSI: images without a mask under {self.root / cls}",
                                  expected="<name>_mask.png beside every <name>.png", found=str(missing[:3]),
                                  fix="restore the folder from the release")
            for stem, path in images.items():
                cases[stem] = (cls, path, [q for _, q in sorted(masks[stem])])
        if not cases:
            raise MbenchError(f"BUSI: no images under {self.root}", fix="set data.root to the BUSI folder")
        return cases

    def case_ids(self) -> list[str]:
        return sorted(self._cases)

    def _case(self, case_id: str) -> tuple[str, Path, list[Path]]:
        return self.case_entry(self._cases, case_id, "BUSI", "images")

    def load_input(self, case_id: str) -> dict[str, np.ndarray]:
        from PIL import Image

        with Image.open(self._case(case_id)[1]) as im:
            return {"image": np.asarray(im.convert("L"))}

    def load_reference(self, case_id: str) -> np.ndarray:
        """The union of the image's masks, (H, W) uint8 0/1."""
        from PIL import Image

        _, image_path, mask_paths = self._case(case_id)
        with Image.open(image_path) as im:
            shape = (im.size[1], im.size[0])
        out = np.zeros(shape, np.uint8)
        for path in mask_paths:
            with Image.open(path) as im:
                mask = np.asarray(im.convert("L")) >= self.threshold
            if mask.shape != shape:
                raise MbenchError(f"BUSI case {case_id}: mask {path.name} and image sizes differ",
                                  expected=str(shape), found=str(mask.shape), fix="re-extract the release")
            out |= mask.astype(np.uint8)
        return out

    def files(self, case_id: str) -> list[Path]:
        _, image_path, mask_paths = self._case(case_id)
        return [image_path, *mask_paths]

    def case_attributes(self) -> dict[str, dict[str, str]]:
        return {c: {"class": v[0]} for c, v in self._cases.items()}
