"""The dataset adapter interface and the adapter registry.

An adapter reads one public dataset's official on-disk layout. The synthetic stand-in of a task
is written in the same layout, so the same adapter serves both.
"""

from __future__ import annotations

import hashlib
import importlib
from abc import ABC, abstractmethod
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from mbench.errors import MbenchError, did_you_mean

__all__ = ["DatasetAdapter", "ADAPTERS", "create_adapter"]

_Entry = TypeVar("_Entry")


class DatasetAdapter(ABC):
    """Reads cases (e.g. patients) of one dataset layout under ``root``.

    ``ndim`` says what a case is: ``3`` for volumes (the task cuts 2D slices from them, as the card's
    ``slicing`` says) or ``2`` for single 2D images, which ``load_input`` returns under ``"image"`` as
    (H, W) grey or (H, W, 3) RGB arrays and ``load_reference`` as (H, W) label maps.
    """

    ndim: int = 3

    def __init__(self, root: Path, **params: Any) -> None:
        self.root = Path(root)
        self.params = params

    def case_entry(self, table: Mapping[str, _Entry], case_id: str, dataset: str = "", unit: str = "cases") -> _Entry:
        """``table[case_id]`` from the adapter's case index; an unknown id is an error naming ``root``.

        ``dataset`` prefixes the message (``"BUSI case 'x' not found under ..."``), ``unit`` counts the table.
        """
        if case_id not in table:
            raise MbenchError(f"{dataset + ' ' if dataset else ''}case {case_id!r} not found under {self.root}",
                              found=f"{len(table)} {unit}")
        return table[case_id]

    @abstractmethod
    def case_ids(self) -> list[str]:
        """All case ids present under ``root``, sorted."""

    @abstractmethod
    def load_input(self, case_id: str) -> dict[str, np.ndarray]:
        """Input images of a case, by modality name. Never includes the reference."""

    @abstractmethod
    def load_reference(self, case_id: str) -> np.ndarray:
        """The reference annotation of a case."""

    @abstractmethod
    def files(self, case_id: str) -> list[Path]:
        """Every file read for a case (hashed into the run's data hash)."""

    def spacing(self, case_id: str) -> tuple[float, ...] | None:
        """Voxel spacing in mm from the image header, or None when the format has none."""
        return None

    def groups(self) -> dict[str, str]:
        """Case id -> group id (patient, site) that must not cross splits. Default: each case its own."""
        return {c: c for c in self.case_ids()}

    def official_splits(self) -> dict[str, list[str]]:
        """Split lists the release itself defines (e.g. PanNuke's folds), by name. Default: none."""
        return {}

    def case_attributes(self) -> dict[str, dict[str, str]]:
        """Case id -> descriptive attributes used to stratify results (e.g. ``{"tissue": "Breast"}``). Default: none."""
        return {}

    def data_hash(self, case_ids: list[str]) -> str:
        """sha256 over the names and bytes of every file of the given cases (a file shared by cases counts once)."""
        digest = hashlib.sha256()
        seen: set[Path] = set()
        for case in sorted(case_ids):
            for path in self.files(case):
                if path in seen:
                    continue
                seen.add(path)
                digest.update(path.name.encode())
                with open(path, "rb") as fh:
                    for block in iter(lambda: fh.read(1 << 20), b""):
                        digest.update(block)
        return digest.hexdigest()


# name -> "module:class", imported lazily
ADAPTERS: dict[str, str] = {
    "trauma_thompson_clips": "mbench.data.adapters.trauma_thompson:TraumaThompsonClipsAdapter",
    "trauma_thompson_procedures": "mbench.data.adapters.trauma_thompson:TraumaThompsonProceduresAdapter",
    "midog2021": "mbench.data.adapters.midog:MidogAdapter",
    "lidc_idri": "mbench.data.adapters.lidc:LidcIdriAdapter",
    "hn_mri2spr": "mbench.data.adapters.hn_mri2spr:HnMri2SprAdapter",
    "brats2018": "mbench.data.adapters.brats2018:BraTS2018Adapter",
    "pannuke": "mbench.data.adapters.pannuke:PanNukeAdapter",
    "camus": "mbench.data.adapters.camus:CamusAdapter",
    "kvasir_seg": "mbench.data.adapters.kvasir:KvasirSegAdapter",
    "kvasir_instrument": "mbench.data.adapters.kvasir:KvasirInstrumentAdapter",
    "lung_grosspath": "mbench.data.adapters.lung_grosspath:LungGrossPathAdapter",
    "lits": "mbench.data.adapters.liver:LiTSAdapter",
    "chaos_t2spir": "mbench.data.adapters.liver:ChaosT2SpirAdapter",
    "dlds": "mbench.data.adapters.liver:DLDSAdapter",
    "busi": "mbench.data.adapters.busi:BusiAdapter",
    "hecktor2021": "mbench.data.adapters.hecktor:Hecktor2021Adapter",
    "lasc2018": "mbench.data.adapters.lasc2018:LASC2018Adapter",
    "aptos2019": "mbench.data.adapters.fundus:AptosAdapter",
    "ichallenge_amd": "mbench.data.adapters.fundus:AdamAmdAdapter",
    "origa": "mbench.data.adapters.fundus:OrigaAdapter",
    "mednode": "mbench.data.adapters.mednode:MedNodeAdapter",
    "nmed": "mbench.data.adapters.eeg:NmedAdapter",
    "seed_eeg": "mbench.data.adapters.eeg:SeedAdapter",
    "covid_qu_ex": "mbench.data.adapters.covid_qu_ex:CovidQuExAdapter",
    "shoulder_implant": "mbench.data.adapters.shoulder_implant:ShoulderImplantAdapter",
    "gmdb": "mbench.data.adapters.gmdb:GMDBAdapter",
    "nnunet_raw": "mbench.data.adapters.nnunet_raw:NnUNetRawAdapter",
    "msd": "mbench.data.adapters.msd:MSDAdapter",
    "learn2reg": "mbench.data.adapters.abdomen_registration:Learn2RegAdapter",
    "amos": "mbench.data.adapters.abdomen_registration:AmosAdapter",
    "maldi_mri": "mbench.data.adapters.maldi_mri:MaldiMriAdapter",
}


def create_adapter(name: str, root: Path, params: dict[str, Any]) -> DatasetAdapter:
    """Instantiate a registered adapter."""
    if name not in ADAPTERS:
        raise did_you_mean("dataset adapter", name, ADAPTERS)
    module, cls = ADAPTERS[name].split(":")
    return getattr(importlib.import_module(module), cls)(root, **params)
