"""Head-and-neck Dixon MRI -> stopping-power-ratio maps (paper 19; private data): one NIfTI per channel per patient.

Layout (the folder ``data.root`` points at)::

    <patient>/in_phase.nii.gz       Dixon in-phase image (the paper's T1-weighted input)
    <patient>/opposed_phase.nii.gz  Dixon opposed-phase image (optional; no paper experiment uses it)
    <patient>/water.nii.gz          Dixon water image (the paper's "fat-suppressed")
    <patient>/fat.nii.gz            Dixon fat image (the paper's "water-suppressed")
    <patient>/bone.nii.gz           bone-intensity image: water image x bone mask (optional; experiment 4)
    <patient>/spr.nii.gz            target SPR map registered to the MRI, in SPR x 1000
    <patient>/body_mask.nii.gz      body mask from the MRI (1 inside), removes couch and immobilisation mask

All volumes of a patient share one grid (the MRI's; the SPR map is registered to it). Spacing comes from the
NIfTI header; arrays keep nibabel's (x, y, z) axis order.

Example:
    >>> from mbench.data.synthetic.hn_mri2spr import generate_hn_mri2spr
    >>> import tempfile, pathlib
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> _ = generate_hn_mri2spr(root, n_patients=2, shape=(24, 24, 8), seed=0)
    >>> a = HnMri2SprAdapter(root)
    >>> a.case_ids(), a.load_channels("HN001", ["water", "fat"]).shape, a.spacing("HN001")
    (['HN001', 'HN002'], (2, 24, 24, 8), (1.3, 1.3, 3.0))
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from mbench.data.adapter import DatasetAdapter
from mbench.errors import MbenchError

__all__ = ["CHANNELS", "HnMri2SprAdapter"]

CHANNELS = ("in_phase", "opposed_phase", "water", "fat", "bone")


class HnMri2SprAdapter(DatasetAdapter):
    """Per-patient NIfTI folders (see the module docstring)."""

    ndim = 3

    def __init__(self, root: Path, **params: Any) -> None:
        super().__init__(root, **params)
        if not self.root.is_dir():
            raise MbenchError(f"MRI -> SPR data folder not found: {self.root}",
                              expected="<root>/<patient>/{in_phase,water,fat,bone,spr,body_mask}.nii.gz",
                              fix="arrange your data as tasks/hn_mri2spr/README.md says and set data.root")

    def case_ids(self) -> list[str]:
        return sorted(p.name for p in self.root.iterdir() if (p / "spr.nii.gz").is_file())

    def _path(self, case_id: str, name: str) -> Path:
        path = self.root / case_id / f"{name}.nii.gz"
        if not path.is_file():
            raise MbenchError(f"{case_id}: {name}.nii.gz is missing", expected=str(path), found="no such file",
                              fix=f"the task variant reads {name}; add it or pick a variant without it")
        return path

    def _read(self, case_id: str, name: str) -> np.ndarray:
        import nibabel as nib

        return np.asarray(nib.load(self._path(case_id, name)).get_fdata(dtype=np.float32))

    def load_channels(self, case_id: str, names: Sequence[str]) -> np.ndarray:
        """The named input channels stacked, ``(C, x, y, z)`` float32."""
        unknown = [n for n in names if n not in CHANNELS]
        if unknown:
            raise MbenchError(f"unknown MRI channel(s) {unknown}", expected=", ".join(CHANNELS), found=unknown)
        vols = [self._read(case_id, n) for n in names]
        if len({v.shape for v in vols}) != 1:
            raise MbenchError(f"{case_id}: channels differ in shape", found={n: v.shape for n, v in zip(names, vols)},
                              fix="resample every channel to the MRI grid")
        return np.stack(vols)

    def load_input(self, case_id: str) -> dict[str, np.ndarray]:
        present = [n for n in CHANNELS if (self.root / case_id / f"{n}.nii.gz").is_file()]
        return dict(zip(present, self.load_channels(case_id, present)))

    def load_reference(self, case_id: str) -> np.ndarray:
        """The SPR map (SPR x 1000), float32 (x, y, z)."""
        return self._read(case_id, "spr")

    def load_mask(self, case_id: str, name: str) -> np.ndarray:
        """An evaluation mask of the case (``body``), boolean."""
        if name != "body":
            raise MbenchError(f"unknown mask {name!r}", expected="body", found=name)
        return self._read(case_id, "body_mask") > 0.5

    def files(self, case_id: str) -> list[Path]:
        return sorted((self.root / case_id).glob("*.nii.gz"))

    def spacing(self, case_id: str) -> tuple[float, ...] | None:
        import nibabel as nib

        return tuple(round(float(z), 6) for z in nib.load(self._path(case_id, "spr")).header.get_zooms()[:3])
