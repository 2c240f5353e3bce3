"""A task card bound to its data: adapter, verified split, samples (slices or 2D images) per split, targets."""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import cached_property
from pathlib import Path

import numpy as np

from mbench.config.schema import TaskSpec
from mbench.data.adapter import DatasetAdapter, create_adapter
from mbench.data.slices import SliceSet, extract_slices, load_images
from mbench.data.split import SplitManifest
from mbench.data.synthetic import generate_standin
from mbench.errors import MbenchError
from mbench.tasks.targets import make_targets

__all__ = ["Task", "seeded_subset"]

log = logging.getLogger(__name__)


def seeded_subset(ids: list[str], limit: int | None) -> list[str]:
    """The ``--limit`` choice: ``ids`` unchanged, or ``limit`` of them chosen with seed 0, in their original order.

    Example:
        >>> seeded_subset(["a", "b", "c"], None)
        ['a', 'b', 'c']
        >>> seeded_subset(["a", "b", "c"], 2) == seeded_subset(["a", "b", "c"], 2)
        True
    """
    if limit is None or len(ids) <= limit:
        return ids
    return [ids[i] for i in np.sort(np.random.default_rng(0).choice(len(ids), limit, replace=False))]


class Task:
    """A :class:`TaskSpec` with its data.

    Args:
        spec: the (resolved) task card.
        card_folder: folder of the card; split files are relative to it.
        limit: keep at most this many samples per split (tests and smoke runs; makes a run unofficial).
    """

    def __init__(self, spec: TaskSpec, card_folder: Path, limit: int | None = None) -> None:
        self.spec, self.card_folder, self.limit = spec, Path(card_folder), limit

    @property
    def data_source(self) -> str:
        """``real`` when ``data.root`` is set, else ``synthetic`` (the embedded stand-in)."""
        return "real" if self.spec.data.root else "synthetic"

    @cached_property
    def data_root(self) -> Path:
        """The dataset folder: ``data.root``, or the generated stand-in."""
        if self.spec.data.root:
            return Path(self.spec.data.root).expanduser()
        standin = self.spec.data.standin
        return generate_standin(standin.generator, dict(standin.params))

    @cached_property
    def adapter(self) -> DatasetAdapter:
        return create_adapter(self.spec.data.adapter, self.data_root, dict(self.spec.data.params))

    @cached_property
    def split(self) -> SplitManifest:
        """The split manifest for this data source, hash-checked, leak-checked and coverage-checked."""
        ref = self.spec.data.split if self.data_source == "real" else self.spec.data.standin.split
        manifest = SplitManifest.load(self.card_folder / ref.file, ref.sha256)
        if manifest.rule is not None:
            manifest = manifest.resolve(self.adapter.case_ids(), self.adapter.groups(), self.adapter.official_splits(),
                                        self.adapter.case_attributes())
        manifest.check_disjoint(self.adapter.groups())
        manifest.check_coverage(self.adapter.case_ids(), str(self.data_root))
        return manifest

    def data_hash(self) -> str:
        """sha256 over every file of every case in the split."""
        return self.adapter.data_hash([c for ids in self.split.splits.values() for c in ids])

    def split_ids(self, name: str) -> list[str]:
        """Case ids of one split; with ``limit``, a seeded choice of that many (the same choice every time).

        Protocols that read cases one at a time (volumes, frozen inputs) use this instead of :meth:`load_split`.
        """
        return seeded_subset(self.split.ids(name), self.limit)

    def load_split(self, name: str, progress: Callable[[int, int], None] | None = None) -> SliceSet:
        """Samples of one split (``train``, ``val``, ``test`` or a fold), truncated to ``limit`` if set.

        3D adapters give the axial slices the card's ``slicing`` selects; 2D adapters give each case as one
        image, scaled and resized as the card's ``preprocessing`` says.
        """
        s = self.spec
        cases = self.split.ids(name)
        if self.adapter.ndim == 2:
            cases = seeded_subset(cases, self.limit)  # the same choice as split_ids, before reading
            pre = s.preprocessing
            modalities = {} if s.slicing is None else {"main": s.slicing.main_modality, "aux": s.slicing.aux_modality}
            slices = load_images(self.adapter, cases, intensity=pre.intensity, percentiles=pre.clip_percentiles,
                                 resize=pre.resize, progress=progress, **modalities)
        else:
            if s.slicing is None:
                raise MbenchError(f"task {s.id}: adapter {s.data.adapter!r} reads 3D volumes, but the card has no "
                                  "slicing block", expected="slicing: {main_modality: ..., min_foreground_pixels: ...}",
                                  fix="add a slicing block to the card")
            slices = extract_slices(self.adapter, cases, main=s.slicing.main_modality, aux=s.slicing.aux_modality,
                                    min_pixels=s.slicing.min_foreground_pixels,
                                    percentiles=s.preprocessing.clip_percentiles, region=s.preprocessing.clip_region,
                                    progress=progress)
        if self.limit is not None and len(slices) > self.limit:
            keep = np.sort(np.random.default_rng(0).choice(len(slices), self.limit, replace=False))
            slices = slices.take(keep)
        log.info("%s: %d %s slices from %d cases", s.id, len(slices), name, len(cases))
        return slices

    def targets(self, slices: SliceSet) -> np.ndarray:
        """Training / scoring targets of the task from reference label maps."""
        return make_targets(self.spec.target, slices.labelmaps, self.spec.labels)
