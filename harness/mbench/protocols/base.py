"""Protocols expand a run into independent jobs; a job is one (task, model, seed, fold, round) unit."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Generic, Protocol, TypeVar, cast

import numpy as np

from mbench.config.resolve import RunConfig
from mbench.data.slices import SliceSet
from mbench.models.capabilities import Progress
from mbench.tasks.task import Task

__all__ = ["Job", "RunContext", "EvaluationProtocol", "SeededSpec", "component_seed", "normalise_images"]


@dataclass(frozen=True)
class Job:
    """One unit of work. ``depends_on`` lists job keys whose results this job reads."""

    key: str
    task: str
    model: str
    seed: int
    fold: int | None = None
    round: int | None = None
    depends_on: tuple[str, ...] = ()

    def context(self) -> dict[str, Any]:
        """The identifying columns copied into every score row."""
        return {"task": self.task, "model": self.model, "seed": self.seed, "fold": self.fold, "round": self.round}


def component_seed(seed: int, component: str, *extra: int) -> int:
    """A 32-bit seed for one component of a run, derived with ``numpy.random.SeedSequence``.

    Example:
        >>> component_seed(0, "learner") == component_seed(0, "learner")
        True
        >>> component_seed(0, "learner") != component_seed(0, "sampler", 1)
        True
    """
    code = int.from_bytes(component.encode()[:8].ljust(8, b"\0"), "little")
    return int(np.random.SeedSequence([seed, code, *extra]).generate_state(1)[0])


def normalise_images(images: np.ndarray, mode: str, stats: tuple[float, float]) -> np.ndarray:
    """Apply the task's normalisation to [0, 1] images: grey (N, H, W) or RGB (N, 3, H, W).

    ``train_zscore`` -> (x - mean) / std with training-set statistics, same shape;
    ``imagenet`` -> grey images replicated to 3 channels, then ImageNet mean / std per channel, (N, 3, H, W);
    ``half`` -> (x - 0.5) / 0.5 (mean = std = 0.5 on every channel), same shape;
    ``none`` -> unchanged.

    Example:
        >>> normalise_images(np.zeros((2, 3, 4, 4), np.float32), "imagenet", (0.0, 1.0)).shape
        (2, 3, 4, 4)
    """
    if mode == "train_zscore":
        return ((images - stats[0]) / stats[1]).astype(np.float32)
    if mode == "half":
        return ((images - 0.5) / 0.5).astype(np.float32)
    if mode == "imagenet":
        mean = np.asarray((0.485, 0.456, 0.406), np.float32)[None, :, None, None]
        std = np.asarray((0.229, 0.224, 0.225), np.float32)[None, :, None, None]
        rgb = images if images.ndim == 4 else images[:, None]
        return ((rgb - mean) / std).astype(np.float32)
    return images


class RunContext:
    """The data of a run, loaded once and shared by its jobs."""

    def __init__(self, config: RunConfig, progress: Callable[[str, int, int], None] | None = None) -> None:
        self.config = config
        self.task = Task(config.task, config.card_folder, limit=config.run.limit)
        self._progress = progress

    def _load(self, name: str) -> SliceSet:
        cb = (lambda done, total: self._progress(f"loading {name} cases", done, total)) if self._progress else None
        return self.task.load_split(name, progress=cb)

    def split(self, name: str) -> SliceSet:
        """The samples of a split of the manifest (``train``, ``val``, ``test``, a fold), loaded once."""
        cache = self.__dict__.setdefault("_splits", {})
        if name not in cache:
            cache[name] = self._load(name)
        return cache[name]

    @property
    def train(self) -> SliceSet:
        return self.split("train")

    @property
    def val(self) -> SliceSet:
        return self.split("val")

    @property
    def test(self) -> SliceSet:
        return self.split("test")

    @cached_property
    def train_stats(self) -> tuple[float, float]:
        """Mean and standard deviation of the training images (for ``train_zscore``)."""
        return float(self.train.images.mean()), float(self.train.images.std() + 1e-8)

    def model_inputs(self, slices: SliceSet) -> np.ndarray:
        """Images as the task's learners see them (normalised per the card), computed once per set."""
        cache = self.__dict__.setdefault("_model_inputs", {})
        if id(slices) not in cache:
            mode = self.config.task.preprocessing.normalise
            cache[id(slices)] = normalise_images(slices.images, mode,
                                                 self.train_stats if mode == "train_zscore" else (0.0, 1.0))
        return cache[id(slices)]


class SeededSpec(Protocol):
    """What every protocol block of a task card has: the seeds of the run."""

    @property
    def seeds(self) -> list[int]: ...


SpecT = TypeVar("SpecT", bound=SeededSpec)


class EvaluationProtocol(ABC, Generic[SpecT]):
    """One experimental design. Subclasses expand jobs and run one job at a time.

    Parametrise with the card's protocol block, e.g. ``class KFoldProtocol(EvaluationProtocol[KFoldSpec])``,
    and ``self.spec`` is typed as that block. ``jobs`` defaults to one independent job per seed
    (keyed ``seed<s>``); protocols with folds, rounds or dependencies override it.
    ``run_job`` receives the results of the jobs it depends on and returns a JSON-serialisable
    result holding ``rows`` (tidy score rows) and anything later jobs need.
    """

    def __init__(self, config: RunConfig) -> None:
        self.config = config

    @property
    def spec(self) -> SpecT:
        """The task card's ``protocol`` block."""
        return cast(SpecT, self.config.task.protocol)

    def jobs(self) -> list[Job]:
        """All jobs of the run, dependencies before dependants; by default one job per seed, keyed ``seed<s>``."""
        return [Job(f"seed{s}", self.config.task.id, self.config.model, s) for s in self.spec.seeds]

    @abstractmethod
    def run_job(self, job: Job, ctx: RunContext, deps: dict[str, dict], progress: Progress) -> dict:
        """Run one job and return its result."""

    def job_stages(self, job: Job) -> int:
        """How many progress stages a job reports (for display)."""
        return 1

    def splits_to_load(self) -> list[str]:
        """The manifest splits the jobs read; the runner loads (and so checks) them before the first job."""
        return ["train", "val", "test"]
