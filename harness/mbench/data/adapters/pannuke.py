"""PanNuke (Gamper et al. 2019/2020) in its release layout: three folds of NumPy arrays.

``<root>/Fold <k>/images/fold<k>/images.npy`` (N × 256 × 256 × 3, RGB; the release stores float64
0-255), ``<root>/Fold <k>/images/fold<k>/types.npy`` (N tissue names) and
``<root>/Fold <k>/masks/fold<k>/masks.npy`` (N × 256 × 256 × 6 instance maps: channels 0 neoplastic,
1 inflammatory, 2 connective / soft tissue, 3 dead, 4 epithelial, 5 background). The inner folder is
``fold<k>`` or ``fold <k>`` depending on how the archives were unpacked; both are read.

Cases are patches, ``fold<k>_<index>``; the semantic label map of a patch gives each pixel of a
nucleus of channel c the label c + 1 (0 background). The folds are the release's own split
(:meth:`PanNukeAdapter.official_splits`) and the tissue of each patch is a case attribute.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

import numpy as np

from mbench.data.adapter import DatasetAdapter
from mbench.errors import MbenchError

__all__ = ["PanNukeAdapter", "PANNUKE_CLASSES", "PANNUKE_TISSUES"]

PANNUKE_CLASSES = ("Neoplastic", "Inflammatory", "Connective", "Dead", "Epithelial")
PANNUKE_TISSUES = ("Adrenal_gland", "Bile-duct", "Bladder", "Breast", "Cervix", "Colon", "Esophagus", "HeadNeck",
                   "Kidney", "Liver", "Lung", "Ovarian", "Pancreatic", "Prostate", "Skin", "Stomach", "Testis",
                   "Thyroid", "Uterus")


def _inner(folder: Path, k: int) -> Path | None:
    """``folder/fold<k>`` or ``folder/fold <k>`` (either spelling), if present."""
    if not folder.is_dir():
        return None
    for child in sorted(folder.iterdir()):
        if child.is_dir() and child.name.lower().replace(" ", "").replace("_", "") == f"fold{k}":
            return child
    return None


class PanNukeAdapter(DatasetAdapter):
    """Adapter for the PanNuke release (3 folds of ``images.npy``, ``masks.npy``, ``types.npy``).

    Args:
        root: folder holding ``Fold 1``, ``Fold 2``, ``Fold 3``.
        folds: which folds to read.
    """

    ndim = 2

    def __init__(self, root: Path, folds: tuple[int, ...] | list[int] = (1, 2, 3)) -> None:
        super().__init__(root, folds=list(folds))
        self.folds = [int(k) for k in folds]
        self._files = {k: self._find(k) for k in self.folds}
        self._sizes = {k: self._check(k) for k in self.folds}

    def _find(self, k: int) -> dict[str, Path]:
        fold = self.root / f"Fold {k}"
        images, masks = _inner(fold / "images", k), _inner(fold / "masks", k)
        found = {"images": images / "images.npy" if images else None, "types": images / "types.npy" if images else None,
                 "masks": masks / "masks.npy" if masks else None}
        missing = [name for name, path in found.items() if path is None or not path.is_file()]
        if missing:
            present = sorted(p.name for p in self.root.iterdir())[:8] if self.root.is_dir() else "no such folder"
            raise MbenchError(f"PanNuke fold {k} is incomplete under {self.root}: missing {', '.join(missing)}",
                              expected=f"Fold {k}/images/fold{k}/images.npy, Fold {k}/images/fold{k}/types.npy, "
                                       f"Fold {k}/masks/fold{k}/masks.npy", found=str(present),
                              fix="set data.root to the folder holding the unpacked 'Fold 1', 'Fold 2', 'Fold 3'")
        return found  # type: ignore[return-value]

    def _check(self, k: int) -> int:
        images, masks = self._array(k, "images"), self._array(k, "masks")
        types = self._types[k]
        ok = (images.ndim == 4 and images.shape[-1] == 3 and masks.ndim == 4 and masks.shape[-1] == 6
              and len(images) == len(masks) == len(types) and images.shape[1:3] == masks.shape[1:3])
        if not ok:
            raise MbenchError(f"PanNuke fold {k}: arrays do not match", expected="images N×H×W×3, masks N×H×W×6, "
                              "types N", found=f"images {images.shape}, masks {masks.shape}, types {len(types)}",
                              fix="re-extract the fold from the release")
        return len(images)

    def _array(self, k: int, name: str) -> np.ndarray:
        cache = self.__dict__.setdefault("_arrays", {})
        if (k, name) not in cache:
            cache[(k, name)] = np.load(self._files[k][name], mmap_mode="r")
        return cache[(k, name)]

    @cached_property
    def _types(self) -> dict[int, list[str]]:
        return {k: [str(t) for t in np.load(self._files[k]["types"], allow_pickle=False)] for k in self.folds}

    def _locate(self, case_id: str) -> tuple[int, int]:
        head, _, index = case_id.partition("_")
        try:
            k, i = int(head.removeprefix("fold")), int(index)
        except ValueError:
            k, i = -1, -1
        if k not in self._sizes or not 0 <= i < self._sizes[k]:
            raise MbenchError(f"PanNuke case {case_id!r} not found", expected="fold<k>_<index> within the folds read",
                              found=f"folds {self._sizes}")
        return k, i

    def case_ids(self) -> list[str]:
        return [f"fold{k}_{i:04d}" for k in self.folds for i in range(self._sizes[k])]

    def official_splits(self) -> dict[str, list[str]]:
        """The release's folds: ``fold1``, ``fold2``, ``fold3``."""
        return {f"fold{k}": [f"fold{k}_{i:04d}" for i in range(self._sizes[k])] for k in self.folds}

    def case_attributes(self) -> dict[str, dict[str, str]]:
        """The tissue type of each patch (``types.npy``)."""
        return {f"fold{k}_{i:04d}": {"tissue": t} for k in self.folds for i, t in enumerate(self._types[k])}

    def load_input(self, case_id: str) -> dict[str, np.ndarray]:
        k, i = self._locate(case_id)
        return {"image": np.asarray(self._array(k, "images")[i], dtype=np.float32)}

    def load_reference(self, case_id: str) -> np.ndarray:
        """Semantic label map: 0 background, c + 1 for a nucleus of channel c (the later channel wins overlaps)."""
        k, i = self._locate(case_id)
        masks = np.asarray(self._array(k, "masks")[i])
        out = np.zeros(masks.shape[:2], dtype=np.uint8)
        for c in range(len(PANNUKE_CLASSES)):
            out[masks[..., c] > 0] = c + 1
        return out

    def instances(self, case_id: str) -> np.ndarray:
        """The (H, W, 5) instance-id maps of the five nucleus channels, as released."""
        k, i = self._locate(case_id)
        return np.asarray(self._array(k, "masks")[i][..., :5]).astype(np.int32)

    def files(self, case_id: str) -> list[Path]:
        k, _ = self._locate(case_id)
        return [self._files[k]["images"], self._files[k]["types"], self._files[k]["masks"]]
