"""What protocols require of models: small protocols (structural interfaces), no base classes.

Models never receive reference objects; a learner gets training targets only of the labelled
training data, and a sampler gets images and the labelled / unlabelled id lists, never the
targets of unlabelled samples (see :class:`SamplerView`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np

from mbench.errors import MbenchError

__all__ = ["Progress", "Learner", "Sampler", "SamplerView", "no_progress"]

# progress(stage, completed, total): e.g. ("train", 3, 30)
Progress = Callable[[str, int, int], None]


def no_progress(stage: str, completed: int, total: int) -> None:
    """A progress callback that ignores its calls."""


@runtime_checkable
class Learner(Protocol):
    """A task model trained from scratch on labelled data.

    ``fit`` receives images (N, H, W) in [0, 1], targets, the validation set and the selection
    score (higher is better); it keeps the checkpoint with the best validation score.
    ``predict`` returns binary masks (N, H, W) for segmentation or scores (N, L) for classification.
    """

    def fit(self, images: np.ndarray, targets: np.ndarray, val_images: np.ndarray, val_targets: np.ndarray, *,
            score: Callable[[np.ndarray, np.ndarray], float], seed: int, progress: Progress) -> dict: ...

    def predict(self, images: np.ndarray) -> np.ndarray: ...


@dataclass(frozen=True)
class SamplerView:
    """Everything an active-learning sampler may see of the training pool.

    Images of every pool sample (main modality, and the auxiliary one where the task has it), the
    ids of the labelled and unlabelled samples, and targets of labelled samples only. The targets
    of unlabelled samples are not in this object at all.
    """

    pool_ids: tuple[str, ...]
    labelled_ids: tuple[str, ...]
    images: np.ndarray  # (N_pool, H, W) float32, aligned with pool_ids
    aux: np.ndarray | None = None
    _labelled_targets: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    @property
    def unlabelled_ids(self) -> tuple[str, ...]:
        labelled = set(self.labelled_ids)
        return tuple(i for i in self.pool_ids if i not in labelled)

    def index(self, ids: Sequence[str]) -> np.ndarray:
        """Positions of ``ids`` in ``images`` / ``aux``."""
        where = {c: i for i, c in enumerate(self.pool_ids)}
        return np.asarray([where[c] for c in ids], dtype=int)

    def labelled_targets(self, ids: Sequence[str]) -> np.ndarray:
        """Targets of labelled samples; asking for an unlabelled one is an error."""
        unknown = [i for i in ids if i not in self._labelled_targets]
        if unknown:
            raise MbenchError("a sampler asked for targets of unlabelled samples",
                              expected="ids from labelled_ids", found=f"{unknown[:3]}",
                              fix="samplers may only use targets of the labelled pool")
        return np.stack([self._labelled_targets[i] for i in ids])


@runtime_checkable
class Sampler(Protocol):
    """Chooses ``n`` unlabelled ids to label next."""

    def query(self, view: SamplerView, n: int, *, seed: int, progress: Progress) -> list[str]: ...
