"""MED-NODE (Giotis et al., Expert Syst. Appl. 2015): non-dermoscopic digital photographs of melanoma and naevi.

Release layout: ``<root>/complete_mednode_dataset/{melanoma,naevus}/<name>.jpg`` (70 melanoma, 100 naevus); ``root``
may be the ``complete_mednode_dataset`` folder itself. Case id ``<class>_<file stem>``; naevus -> 0, melanoma -> 1;
each image is its own group (the release gives no patient ids).
"""

from __future__ import annotations

from pathlib import Path

from mbench.data.adapters.classified import ClassifiedImagesAdapter
from mbench.errors import MbenchError

__all__ = ["MedNodeAdapter"]


class MedNodeAdapter(ClassifiedImagesAdapter):
    """MED-NODE: one folder per class."""

    name = "MED-NODE"
    classes = {"naevus": 0, "melanoma": 1}
    release_folder = "complete_mednode_dataset"

    def _find(self) -> dict[str, tuple[Path, int]]:
        base = self.root / self.release_folder if (self.root / self.release_folder).is_dir() else self.root
        if not all((base / c).is_dir() for c in self.classes):
            raise MbenchError(f"no MED-NODE layout under {self.root}",
                              expected="complete_mednode_dataset/melanoma/*.jpg and .../naevus/*.jpg",
                              found=str(sorted(p.name for p in base.iterdir())[:8]) if base.is_dir() else "no folder",
                              fix="set data.root to the unzipped MED-NODE release")
        return {f"{cls}_{p.stem}": (p, code) for cls, code in self.classes.items()
                for p in sorted((base / cls).iterdir()) if p.suffix.lower() in (".jpg", ".jpeg", ".png")}
