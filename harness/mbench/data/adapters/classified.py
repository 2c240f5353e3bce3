"""Image-classification layouts: one RGB image and one integer class code per case (the card's ``target:
class_code``). Subclasses (fundus, MED-NODE ...) only find their images and labels; reading, hashing and the
``class`` case attribute are shared here.
"""

from __future__ import annotations

from abc import abstractmethod
from pathlib import Path

import numpy as np

from mbench.data.adapter import DatasetAdapter
from mbench.errors import MbenchError

__all__ = ["ClassifiedImagesAdapter", "read_rgb"]


def read_rgb(path: Path) -> np.ndarray:
    """An image file as (H, W, 3) uint8 RGB."""
    from PIL import Image

    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


class ClassifiedImagesAdapter(DatasetAdapter):
    """Base of image-classification layouts: subclasses fill ``self._cases`` = {case id: (image path, class code)}."""

    ndim = 2
    name = "images"

    def __init__(self, root: Path, **params) -> None:
        super().__init__(root, **params)
        self._cases: dict[str, tuple[Path, int]] = self._find()
        if not self._cases:
            raise MbenchError(f"{self.name}: no labelled images under {self.root}", fix="set data.root to the release")

    @abstractmethod
    def _find(self) -> dict[str, tuple[Path, int]]:
        """The cases of the layout under ``self.root``."""

    def case_ids(self) -> list[str]:
        return sorted(self._cases)

    def _case(self, case_id: str) -> tuple[Path, int]:
        return self.case_entry(self._cases, case_id, self.name, "images")

    def load_input(self, case_id: str) -> dict[str, np.ndarray]:
        return {"image": read_rgb(self._case(case_id)[0])}

    def load_reference(self, case_id: str) -> np.ndarray:
        return np.asarray(self._case(case_id)[1], dtype=np.int64)

    def files(self, case_id: str) -> list[Path]:
        return [self._case(case_id)[0]]

    def case_attributes(self) -> dict[str, dict[str, str]]:
        return {c: {"class": str(code)} for c, (_, code) in self._cases.items()}
