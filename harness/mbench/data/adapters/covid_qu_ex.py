"""COVID-QU-Ex (Tahir et al. 2021, Kaggle), chest X-rays with lung masks, in the release layout.

``<root>/<Train|Val|Test>/<COVID-19|Non-COVID|Normal>/images/<name>.png`` with the lung mask of the same name in
``lung masks/`` (and, in the "Infection Segmentation Data" subset, ``infection masks/``, not read). ``root`` is the
folder holding ``Train``/``Val``/``Test``: ``Infection Segmentation Data`` (5,826 images, the 3,728 / 932 / 1,166
split M-VAAL uses) or ``Lung Segmentation Data`` (33,920 images); the release's doubled folder
(``Infection Segmentation Data/Infection Segmentation Data``) is accepted. Images are 256 x 256 grey PNGs.

Case id: ``<split>/<class>/<stem>`` (unique across the release); each image is its own group (the release gives no
patient ids). The reference is the class code (index in ``classes``); ``load_input`` gives the image and the lung
mask (``lung_mask``, 0 / 255), the auxiliary modality of M-VAAL. The release's own split is
:meth:`CovidQuExAdapter.official_splits` (``train``, ``val``, ``test``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mbench.data.adapter import DatasetAdapter
from mbench.errors import MbenchError

__all__ = ["CovidQuExAdapter", "COVID_QU_EX_CLASSES", "COVID_QU_EX_SPLITS"]

COVID_QU_EX_CLASSES = ("COVID-19", "Non-COVID", "Normal")
COVID_QU_EX_SPLITS = {"Train": "train", "Val": "val", "Test": "test"}
_MASK_FOLDER = "lung masks"


class CovidQuExAdapter(DatasetAdapter):
    """COVID-QU-Ex: one grey chest X-ray per case, its lung mask as a second input, a class code as reference."""

    ndim = 2

    def __init__(self, root: Path, classes: list[str] | tuple[str, ...] = COVID_QU_EX_CLASSES) -> None:
        super().__init__(root, classes=list(classes))
        if not (self.root / "Train").is_dir():
            nested = [p for p in self.root.iterdir() if (p / "Train").is_dir()] if self.root.is_dir() else []
            if len(nested) == 1:
                self.root = nested[0]
        self.classes = tuple(classes)
        self._cases = self._find()

    def _find(self) -> dict[str, tuple[str, str, Path, Path]]:
        folders = [self.root / s / c for s in COVID_QU_EX_SPLITS for c in self.classes]
        missing = [str(f.relative_to(self.root)) for f in folders if not (f / "images").is_dir()]
        if missing:
            found = sorted(p.name for p in self.root.iterdir())[:8] if self.root.is_dir() else "no such folder"
            raise MbenchError(f"no COVID-QU-Ex layout under {self.root} (missing {missing[:3]})",
                              expected="<Train|Val|Test>/<COVID-19|Non-COVID|Normal>/{images,lung masks}/<name>.png",
                              found=str(found),
                              fix="set data.root to the unzipped 'Infection Segmentation Data' (or 'Lung Segmentation "
                                  "Data') folder of COVID-QU-Ex")
        cases: dict[str, tuple[str, str, Path, Path]] = {}
        for split, name in COVID_QU_EX_SPLITS.items():
            for cls in self.classes:
                folder = self.root / split / cls
                for image in sorted((folder / "images").glob("*.png")):
                    mask = folder / _MASK_FOLDER / image.name
                    if not mask.is_file():
                        raise MbenchError(f"COVID-QU-Ex: {image} has no lung mask", expected=str(mask),
                                          fix="restore the 'lung masks' folder from the release")
                    cases[f"{split}/{cls}/{image.stem}"] = (name, cls, image, mask)
        if not cases:
            raise MbenchError(f"COVID-QU-Ex: no images under {self.root}", fix="set data.root to the release folder")
        return cases

    def case_ids(self) -> list[str]:
        return sorted(self._cases)

    def _case(self, case_id: str) -> tuple[str, str, Path, Path]:
        return self.case_entry(self._cases, case_id, "COVID-QU-Ex", "images")

    def load_input(self, case_id: str) -> dict[str, np.ndarray]:
        """``image``: (H, W) uint8 grey; ``lung_mask``: (H, W) uint8, 0 or 255."""
        from PIL import Image

        _, _, image_path, mask_path = self._case(case_id)
        with Image.open(image_path) as im:
            image = np.asarray(im.convert("L"))
        with Image.open(mask_path) as im:
            mask = np.where(np.asarray(im.convert("L")) >= 128, 255, 0).astype(np.uint8)
        if mask.shape != image.shape:
            raise MbenchError(f"COVID-QU-Ex case {case_id}: image and lung mask sizes differ",
                              expected=str(image.shape), found=str(mask.shape), fix="re-extract the release")
        return {"image": image, "lung_mask": mask}

    def load_reference(self, case_id: str) -> np.ndarray:
        """The class code: the index of the image's class in ``classes`` (0-d int64)."""
        return np.asarray(self.classes.index(self._case(case_id)[1]), dtype=np.int64)

    def files(self, case_id: str) -> list[Path]:
        _, _, image_path, mask_path = self._case(case_id)
        return [image_path, mask_path]

    def official_splits(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {name: [] for name in COVID_QU_EX_SPLITS.values()}
        for case, (split, *_rest) in sorted(self._cases.items()):
            out[split].append(case)
        return out

    def case_attributes(self) -> dict[str, dict[str, str]]:
        return {c: {"class": v[1]} for c, v in self._cases.items()}
