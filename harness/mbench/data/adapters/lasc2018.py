"""2018 Atrial Segmentation Challenge (LASC 2018, Xiong et al. MedIA 2021) training set: LGE-MRI + left atrium.

Release layout (100 training scans; paper 24 uses them with 4-fold CV)::

    <root>/Training Set/<case>/lgemri.nrrd   3D LGE-MRI (576 x 576 x 88 or 640 x 640 x 88, 0.625 x 0.625 x 1.25 mm)
    <root>/Training Set/<case>/laendo.nrrd   left-atrium cavity mask (0 / 255)

Any folder below ``root`` holding ``lgemri.nrrd`` and ``laendo.nrrd`` is a case (so ``root`` may also be the
``Training Set`` folder itself). NRRD files are read with pynrrd in index order (x, y, z): axial slices along the
last axis. Spacing from the header's ``space directions`` (or ``spacings``). Case id = the case folder name.
The release does not say which scans belong to the same patient (some of its 60 patients have pre- and
post-ablation scans), so each scan is its own group: a patient may appear in two folds.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

import numpy as np

from mbench.data.adapter import DatasetAdapter
from mbench.errors import MbenchError

__all__ = ["LASC2018Adapter", "nrrd_spacing"]


def nrrd_spacing(header: dict) -> tuple[float, ...]:
    """Voxel spacing (mm) per array axis from an NRRD header.

    Example:
        >>> nrrd_spacing({"space directions": np.diag([0.625, 0.625, 1.25])})
        (0.625, 0.625, 1.25)
    """
    if header.get("space directions") is not None:
        dirs = np.asarray(header["space directions"], dtype=float)
        return tuple(float(np.linalg.norm(d)) for d in dirs)
    if header.get("spacings") is not None:
        return tuple(float(s) for s in header["spacings"])
    return (1.0, 1.0, 1.0)


class LASC2018Adapter(DatasetAdapter):
    """LASC 2018 training scans; modality ``LGE``, reference 1 = left-atrium cavity."""

    image_name, label_name = "lgemri.nrrd", "laendo.nrrd"

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        if not self.root.is_dir() or not self._cases:
            raise MbenchError(f"no LASC 2018 cases under {self.root}",
                              expected="'Training Set/<case>/lgemri.nrrd' with laendo.nrrd beside it",
                              fix="set data.root to the unpacked 2018 Atrial Segmentation Challenge training set")

    @cached_property
    def _cases(self) -> dict[str, Path]:
        cases: dict[str, Path] = {}
        for path in sorted(self.root.rglob(self.image_name)) if self.root.is_dir() else []:
            if not (path.parent / self.label_name).exists():
                raise MbenchError(f"LASC case {path.parent.name} has no {self.label_name}",
                                  expected=f"{path.parent / self.label_name}", fix="re-extract the release")
            if path.parent.name in cases:
                raise MbenchError(f"two LASC cases are named {path.parent.name}",
                                  found=f"{cases[path.parent.name]} and {path.parent}",
                                  fix="point data.root at one copy of the training set")
            cases[path.parent.name] = path.parent
        return cases

    def case_ids(self) -> list[str]:
        return sorted(self._cases)

    @staticmethod
    def _read(path: Path) -> tuple[np.ndarray, dict]:
        import nrrd

        data, header = nrrd.read(str(path))
        return data, header

    def load_input(self, case_id: str) -> dict[str, np.ndarray]:
        return {"LGE": self._read(self._cases[case_id] / self.image_name)[0].astype(np.float32)}

    def load_reference(self, case_id: str) -> np.ndarray:
        return (self._read(self._cases[case_id] / self.label_name)[0] > 0).astype(np.uint8)

    def spacing(self, case_id: str) -> tuple[float, ...]:
        import nrrd

        return nrrd_spacing(nrrd.read_header(str(self._cases[case_id] / self.image_name)))

    def files(self, case_id: str) -> list[Path]:
        return [self._cases[case_id] / self.image_name, self._cases[case_id] / self.label_name]
