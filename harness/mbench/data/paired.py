"""Lazily read pairs of (input, target) images of an image-to-image task: one case in memory at a time.

A :class:`PairedCases` is what an :class:`~mbench.models.capabilities.ImageTranslator` trains on. Each case is
read when asked for (``input``, ``target``, ``mask``), so a set of 3D volumes never sits in memory whole. Where a
task synthesises its inputs from the targets (blind super-resolution), the training set has no stored inputs:
``synthesise(target, rng)`` makes a fresh one for each draw.

Example:
    >>> import numpy as np
    >>> pairs = PairedCases(["a", "b"], lambda c: np.zeros((1, 4, 4)), lambda c: np.ones((4, 4)))
    >>> len(pairs), pairs.input(1).shape, float(pairs.target(0).sum())
    (2, (1, 4, 4), 16.0)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from mbench.errors import MbenchError

__all__ = ["PairedCases"]


@dataclass(frozen=True)
class PairedCases:
    """Case ids with loaders of their input (C, *spatial), target (*spatial) and optional mask (*spatial) images.

    Attributes:
        ids: case ids, in order.
        load_input: case id -> float32 input channels; None where inputs are synthesised from targets.
        load_target: case id -> target image in the task's target units.
        load_mask: case id -> boolean mask where the model should learn (e.g. the body), or None.
        synthesise: ``(target, rng) -> input`` for tasks whose training inputs are degraded on the fly.
    """

    ids: Sequence[str]
    load_input: Callable[[str], np.ndarray] | None
    load_target: Callable[[str], np.ndarray]
    load_mask: Callable[[str], np.ndarray] | None = None
    synthesise: Callable[[np.ndarray, np.random.Generator], np.ndarray] | None = None

    def __len__(self) -> int:
        return len(self.ids)

    def input(self, i: int) -> np.ndarray:
        """Input channels of the i-th case, ``(C, *spatial)`` float32."""
        if self.load_input is None:
            raise MbenchError("this set has no stored inputs: they are synthesised from the targets",
                              expected="synthesise(target, rng)", found="input(i)",
                              fix="call pairs.synthesise(pairs.target(i), rng) (or a crop of the target)")
        return np.asarray(self.load_input(self.ids[i]), dtype=np.float32)

    def target(self, i: int) -> np.ndarray:
        """Target image of the i-th case, float32 in the task's target units."""
        return np.asarray(self.load_target(self.ids[i]), dtype=np.float32)

    def mask(self, i: int) -> np.ndarray | None:
        """The i-th case's mask (boolean), or None."""
        return None if self.load_mask is None else np.asarray(self.load_mask(self.ids[i]), dtype=bool)
