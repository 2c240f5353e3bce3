"""Kvasir-SEG (polyps) and Kvasir-Instrument (GI endoscopy tools): RGB images with binary masks, as released.

Kvasir-SEG (Jha et al., MMM 2020): ``<root>/images/<id>.jpg`` and ``<root>/masks/<id>.jpg`` (1000 images
of 332 × 487 to 1920 × 1072 pixels; masks are JPEG, so grey values are thresholded at 128). ``root`` may
also be the folder that holds ``Kvasir-SEG/``. There is no official split.

Kvasir-Instrument (Jha et al., MMM 2021): ``<root>/images/<id>.jpg``, ``<root>/masks/<id>.png`` and the
release's ``train.txt`` / ``test.txt`` (472 / 118 ids): :meth:`KvasirInstrumentAdapter.official_splits`.

Each image is a case and its own group (the releases give no patient ids).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mbench.data.adapter import DatasetAdapter
from mbench.errors import MbenchError

__all__ = ["ImageMaskFolderAdapter", "KvasirSegAdapter", "KvasirInstrumentAdapter", "read_rgb", "read_mask"]

_IMAGE_EXTS = (".jpg", ".jpeg", ".png")


def read_rgb(path: Path) -> np.ndarray:
    """An image file as an (H, W, 3) uint8 RGB array."""
    from PIL import Image

    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


def read_mask(path: Path, threshold: int = 128) -> np.ndarray:
    """A mask image as (H, W) uint8 0/1: grey value (max over channels) >= ``threshold``."""
    from PIL import Image

    with Image.open(path) as im:
        grey = np.asarray(im.convert("RGB")).max(axis=-1)
    return (grey >= threshold).astype(np.uint8)


class ImageMaskFolderAdapter(DatasetAdapter):
    """``<root>/<image_dir>/<id>.<ext>`` with ``<root>/<mask_dir>/<id>.<ext>``; each image a case.

    Args:
        root: the dataset folder (or its parent, when ``release_folder`` is inside it).
        image_dir, mask_dir: sub-folders of images and masks.
        release_folder: the release's own folder name, accepted as a child of ``root``.
        threshold: mask grey level from which a pixel is foreground.
    """

    ndim = 2
    dataset = "image/mask folder"
    release_folder = ""

    def __init__(self, root: Path, image_dir: str = "images", mask_dir: str = "masks", threshold: int = 128) -> None:
        super().__init__(root, image_dir=image_dir, mask_dir=mask_dir, threshold=threshold)
        if self.release_folder and not (self.root / image_dir).is_dir() and (self.root / self.release_folder).is_dir():
            self.root = self.root / self.release_folder
        self.image_dir, self.mask_dir, self.threshold = self.root / image_dir, self.root / mask_dir, threshold
        self._pairs = self._find()

    def _find(self) -> dict[str, tuple[Path, Path]]:
        if not self.image_dir.is_dir() or not self.mask_dir.is_dir():
            found = sorted(p.name for p in self.root.iterdir())[:8] if self.root.is_dir() else "no such folder"
            raise MbenchError(f"no {self.dataset} layout under {self.root}",
                              expected=f"{self.image_dir.name}/<id>.jpg and {self.mask_dir.name}/<id>.jpg|png",
                              found=str(found), fix=f"set data.root to the unpacked {self.dataset} folder")
        masks = {p.stem: p for p in sorted(self.mask_dir.iterdir()) if p.suffix.lower() in _IMAGE_EXTS}
        pairs = {p.stem: (p, masks[p.stem]) for p in sorted(self.image_dir.iterdir())
                 if p.suffix.lower() in _IMAGE_EXTS and p.stem in masks}
        unmatched = sorted({p.stem for p in self.image_dir.iterdir() if p.suffix.lower() in _IMAGE_EXTS} - set(pairs))
        if unmatched or not pairs:
            raise MbenchError(f"{self.dataset}: images without a mask under {self.root}",
                              expected="one mask per image, with the same file stem",
                              found=f"{len(pairs)} pairs; unmatched {unmatched[:3]}",
                              fix="restore the masks folder from the release")
        return pairs

    def case_ids(self) -> list[str]:
        return sorted(self._pairs)

    def _pair(self, case_id: str) -> tuple[Path, Path]:
        return self.case_entry(self._pairs, case_id, self.dataset, "images")

    def load_input(self, case_id: str) -> dict[str, np.ndarray]:
        return {"image": read_rgb(self._pair(case_id)[0])}

    def load_reference(self, case_id: str) -> np.ndarray:
        mask = read_mask(self._pair(case_id)[1], self.threshold)
        image_shape = self.image_shape(case_id)
        if mask.shape != image_shape:
            raise MbenchError(f"{self.dataset} case {case_id}: mask and image sizes differ",
                              expected=str(image_shape), found=str(mask.shape), fix="re-extract the pair")
        return mask

    def image_shape(self, case_id: str) -> tuple[int, int]:
        """(height, width) of the image, from its header."""
        from PIL import Image

        with Image.open(self._pair(case_id)[0]) as im:
            return im.size[1], im.size[0]

    def files(self, case_id: str) -> list[Path]:
        return list(self._pair(case_id))


class KvasirSegAdapter(ImageMaskFolderAdapter):
    """Kvasir-SEG: ``images/<id>.jpg`` and ``masks/<id>.jpg``; no official split."""

    dataset = "Kvasir-SEG"
    release_folder = "Kvasir-SEG"


class KvasirInstrumentAdapter(ImageMaskFolderAdapter):
    """Kvasir-Instrument: ``images/<id>.jpg``, ``masks/<id>.png`` and the release's ``train.txt`` / ``test.txt``."""

    dataset = "Kvasir-Instrument"
    release_folder = "kvasir-instrument"

    def official_splits(self) -> dict[str, list[str]]:
        """The release's ``train`` (472) and ``test`` (118) lists; names are read without extensions."""
        out = {}
        for split in ("train", "test"):
            path = self.root / f"{split}.txt"
            if not path.is_file():
                raise MbenchError(f"Kvasir-Instrument split list missing: {path}", expected="train.txt and test.txt "
                                  "beside images/ and masks/", fix="copy them from the release archive")
            names = [Path(line.strip()).name for line in path.read_text().splitlines() if line.strip()]
            out[split] = sorted(Path(n).stem if Path(n).suffix.lower() in _IMAGE_EXTS else n for n in names)
        return out
