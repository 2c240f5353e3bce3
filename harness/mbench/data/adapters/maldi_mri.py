"""MALDI-MS / MRI section pairs for 2D multimodal registration (paper 13). Private data: a documented layout.

Paper 13's mouse-brain data is not released (its code is: github fgrelard/RegistrationUDT, ITK image formats).
One folder per pair; the MALDI image is the fixed (reference) image, the MRI slice matched to the section and
rigidly pre-aligned (paper 13's Esmraldi workflow) the moving (target) one, and both are segmented::

    <root>/<pair_id>/maldi.nii.gz        # fixed: 2D MALDI image (e.g. the total ion count or a lipid ion)
    <root>/<pair_id>/maldi_mask.nii.gz   # the segmented section in the MALDI image (nonzero = object)
    <root>/<pair_id>/mri.nii.gz          # moving: the 2D MRI slice on the same grid
    <root>/<pair_id>/mri_mask.nii.gz     # the segmented section in the MRI slice

Any extra file (e.g. the stand-in's ``displacement_true.npy``) is ignored. A case is one pair: ``load_input`` gives
``{"fixed", "moving"}`` images (float32), ``load_reference`` the two masks stacked (2, H, W) = (fixed, moving).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mbench.data.adapter import DatasetAdapter
from mbench.errors import MbenchError

__all__ = ["PAIR_FILES", "MaldiMriAdapter"]

PAIR_FILES = {"fixed": "maldi.nii.gz", "fixed_mask": "maldi_mask.nii.gz", "moving": "mri.nii.gz",
              "moving_mask": "mri_mask.nii.gz"}


def _read2d(path: Path) -> np.ndarray:
    import nibabel as nib

    arr = np.asarray(nib.load(str(path)).dataobj)
    arr = arr.reshape(arr.shape[:2]) if arr.ndim == 3 and arr.shape[2] == 1 else arr
    if arr.ndim != 2:
        raise MbenchError(f"{path} is not a 2D image", expected="a 2D image (H, W)", found=f"shape {arr.shape}",
                          fix="extract the matching 2D MRI slice / a single MALDI ion image first")
    return arr


class MaldiMriAdapter(DatasetAdapter):
    """Reads ``<root>/<pair_id>/{maldi,maldi_mask,mri,mri_mask}.nii.gz`` (see the module docstring)."""

    ndim = 2

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        if not self.root.is_dir():
            raise MbenchError(f"MALDI-MRI data folder not found: {self.root}",
                              expected="<root>/<pair_id>/{maldi,maldi_mask,mri,mri_mask}.nii.gz",
                              fix="point data.root at the folder of pair folders (tasks/maldi_mri/README.md)")
        self._ids = sorted(p.name for p in self.root.iterdir() if p.is_dir() and (p / PAIR_FILES["fixed"]).is_file())
        if not self._ids:
            raise MbenchError(f"no MALDI-MRI pair under {self.root}", expected="pair folders holding maldi.nii.gz",
                              found=", ".join(sorted(p.name for p in self.root.iterdir())[:5]) or "empty folder",
                              fix="lay the pairs out as tasks/maldi_mri/README.md says")

    def case_ids(self) -> list[str]:
        return list(self._ids)

    def _path(self, case_id: str, key: str) -> Path:
        path = self.root / case_id / PAIR_FILES[key]
        if not path.is_file():
            raise MbenchError(f"pair {case_id} lacks {PAIR_FILES[key]}", expected=", ".join(PAIR_FILES.values()),
                              found=", ".join(sorted(p.name for p in (self.root / case_id).iterdir())))
        return path

    def load_input(self, case_id: str) -> dict[str, np.ndarray]:
        images = {k: _read2d(self._path(case_id, k)).astype(np.float32) for k in ("fixed", "moving")}
        if images["fixed"].shape != images["moving"].shape:
            raise MbenchError(f"pair {case_id}: MALDI and MRI images differ in shape",
                              expected="both on one grid (after the rigid pre-alignment)",
                              found=f"{images['fixed'].shape} vs {images['moving'].shape}")
        return images

    def load_reference(self, case_id: str) -> np.ndarray:
        return np.stack([(_read2d(self._path(case_id, k)) > 0).astype(np.uint8) for k in ("fixed_mask", "moving_mask")])

    def files(self, case_id: str) -> list[Path]:
        return [self._path(case_id, k) for k in PAIR_FILES]
