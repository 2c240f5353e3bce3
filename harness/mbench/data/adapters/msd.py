"""Medical Segmentation Decathlon tasks in their release layout (e.g. ``Task01_BrainTumour``).

::

    <root>/dataset.json              # "modality": {"0": "FLAIR", "1": "T1w", "2": "t1gd", "3": "T2w"},
                                     # "labels": {"0": "background", "1": "edema", "2": "non-enhancing tumor",
                                     #            "3": "enhancing tumour"}, "training": [{"image", "label"}], "test": []
    <root>/imagesTr/BRATS_001.nii.gz # one 4D NIfTI per case (x, y, z, channel)
    <root>/labelsTr/BRATS_001.nii.gz # 3D label map
    <root>/imagesTs/...              # test images without public labels (not used: no reference)

Cases are those listed under ``training`` in dataset.json (the tarball also holds macOS ``._BRATS_*``
resource files, which a folder scan would pick up; the list does not). Channels are named as in
``modality``; a 3D image is read as one channel.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from mbench.data.adapter import DatasetAdapter
from mbench.errors import MbenchError

__all__ = ["MSDAdapter"]


class MSDAdapter(DatasetAdapter):
    """Adapter for one MSD task folder (labelled training cases)."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        path = self.root / "dataset.json"
        if not path.exists():
            raise MbenchError(f"no dataset.json in {self.root}",
                              expected="an MSD task folder: dataset.json, imagesTr/, labelsTr/",
                              fix="set data.root to the unpacked Task01_BrainTumour folder")
        self.info = json.loads(path.read_text())
        if "training" not in self.info or "modality" not in self.info:
            raise MbenchError("dataset.json is not an MSD task description", expected="keys modality, labels, training",
                              found=str(sorted(self.info)))
        self.channel_names = [self.info["modality"][k] for k in sorted(self.info["modality"], key=int)]
        self.label_codes = sorted(int(k) for k in self.info.get("labels", {}))
        self._cases = {}
        for entry in self.info["training"]:
            case = Path(entry["image"]).name.removesuffix(".nii.gz")
            self._cases[case] = (self.root / entry["image"], self.root / entry["label"])

    def case_ids(self) -> list[str]:
        return sorted(self._cases)

    def _paths(self, case_id: str) -> tuple[Path, Path]:
        if case_id not in self._cases:
            raise MbenchError(f"case {case_id!r} is not in dataset.json's training list", found=f"{len(self._cases)} cases")
        image, label = self._cases[case_id]
        for p in (image, label):
            if not p.exists():
                raise MbenchError(f"missing file {p}", fix="re-extract the MSD task archive")
        return image, label

    def load_input(self, case_id: str) -> dict[str, np.ndarray]:
        import nibabel as nib

        data = np.asarray(nib.load(str(self._paths(case_id)[0])).dataobj, dtype=np.float32)
        if data.ndim == 3:
            data = data[..., None]
        if data.shape[-1] != len(self.channel_names):
            raise MbenchError(f"{case_id}: image has {data.shape[-1]} channels", expected=str(len(self.channel_names)),
                              fix="check the image against dataset.json's modality list")
        return {name: np.ascontiguousarray(data[..., k]) for k, name in enumerate(self.channel_names)}

    def load_reference(self, case_id: str) -> np.ndarray:
        import nibabel as nib

        seg = np.asarray(nib.load(str(self._paths(case_id)[1])).dataobj).astype(np.int16)
        unexpected = set(np.unique(seg).tolist()) - set(self.label_codes)
        if self.label_codes and unexpected:
            raise MbenchError(f"{case_id}: unexpected labels", expected=str(self.label_codes), found=str(sorted(unexpected)))
        return seg

    def files(self, case_id: str) -> list[Path]:
        return list(self._paths(case_id))

    def spacing(self, case_id: str) -> tuple[float, ...]:
        import nibabel as nib

        return tuple(float(z) for z in nib.load(str(self._paths(case_id)[1])).header.get_zooms()[:3])
