"""An MSD Task01_BrainTumour stand-in: 4-channel brain MRI with gliomas, in the decathlon's release layout.

Writes ``<root>/imagesTr/BRATS_NNN.nii.gz`` (4D: x, y, z, channel = FLAIR, T1w, t1gd, T2w),
``<root>/labelsTr/BRATS_NNN.nii.gz`` (0 background, 1 edema, 2 non-enhancing tumour, 3 enhancing tumour)
and ``dataset.json`` in the MSD format, read unchanged by :class:`~mbench.data.adapters.msd.MSDAdapter`.
The anatomy and tumours are those of the BraTS 2018 stand-in (MSD Task01 is built from BraTS 2016/17
cases), relabelled to the MSD codes: oedema bright in FLAIR/T2, an enhancing rim bright in t1gd, a
necrotic / non-enhancing core.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from mbench.data.synthetic.brats2018 import _patient

__all__ = ["MSD_CHANNELS", "MSD_LABELS", "generate_msd_brain"]

MSD_CHANNELS = {"0": "FLAIR", "1": "T1w", "2": "t1gd", "3": "T2w"}
MSD_LABELS = {"0": "background", "1": "edema", "2": "non-enhancing tumor", "3": "enhancing tumour"}
_FROM_BRATS = {"FLAIR": "flair", "T1w": "t1", "t1gd": "t1ce", "T2w": "t2"}
_RELABEL = np.asarray([0, 2, 1, 0, 3], np.uint8)  # BraTS 1 NCR -> 2, 2 ED -> 1, 4 ET -> 3


def generate_msd_brain(root: Path, *, n_cases: int = 20, shape: tuple[int, int, int] = (48, 48, 32),
                       spacing: tuple[float, float, float] = (1.0, 1.0, 1.0), seed: int = 1701) -> list[str]:
    """Write the stand-in under ``root`` and return the case ids (``BRATS_001`` ...).

    Example:
        >>> import tempfile, pathlib
        >>> generate_msd_brain(pathlib.Path(tempfile.mkdtemp()), n_cases=2, shape=(32, 32, 16))
        ['BRATS_001', 'BRATS_002']
    """
    import nibabel as nib

    root = Path(root)
    (root / "imagesTr").mkdir(parents=True, exist_ok=True)
    (root / "labelsTr").mkdir(parents=True, exist_ok=True)
    affine = np.diag([*map(float, spacing), 1.0])
    ids, training = [], []
    for k, child in enumerate(np.random.SeedSequence(seed).spawn(n_cases)):
        case = f"BRATS_{k + 1:03d}"
        images, labels = _patient(child, tuple(int(s) for s in shape))
        volume = np.stack([images[_FROM_BRATS[MSD_CHANNELS[c]]] for c in sorted(MSD_CHANNELS, key=int)], axis=-1)
        nib.save(nib.Nifti1Image(volume.astype(np.float32), affine), root / "imagesTr" / f"{case}.nii.gz")
        nib.save(nib.Nifti1Image(_RELABEL[labels], affine), root / "labelsTr" / f"{case}.nii.gz")
        training.append({"image": f"./imagesTr/{case}.nii.gz", "label": f"./labelsTr/{case}.nii.gz"})
        ids.append(case)
    (root / "dataset.json").write_text(json.dumps({
        "name": "BRATS", "description": "mbench stand-in for MSD Task01_BrainTumour", "tensorImageSize": "4D",
        "modality": MSD_CHANNELS, "labels": MSD_LABELS, "numTraining": n_cases, "numTest": 0,
        "training": training, "test": []}, indent=1))
    return ids
