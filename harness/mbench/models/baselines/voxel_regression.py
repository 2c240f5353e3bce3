"""Voxel-wise polynomial regression from input channels to the target (no torch): a lower bound for image regression.

Each voxel's target is predicted from that voxel's input channels alone: features are 1, the channels and (with
``degree`` 2) their squares and pairwise products; the weights minimise the squared error over all training
voxels (the whole volume, as it is scored; ridge ``alpha`` for stability). The normal equations are accumulated
case by case, so training reads one volume at a time. It cannot tell bone from air where both are dark on every channel, which is
what the paper's bone channel is for.

Example:
    >>> import numpy as np
    >>> from mbench.data.paired import PairedCases
    >>> x = np.random.default_rng(0).random((2, 6, 6, 4)).astype(np.float32)
    >>> pairs = PairedCases(["a"], lambda c: x, lambda c: 3 * x[0] - x[1] + 2)
    >>> m = VoxelPolynomialRegressor(degree=1, alpha=0.0)
    >>> _ = m.fit(pairs, pairs, score=None, seed=0, progress=lambda *a: None)
    >>> bool(np.allclose(m.predict(x), 3 * x[0] - x[1] + 2, atol=1e-4))
    True
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from mbench.errors import MbenchError

__all__ = ["VoxelPolynomialRegressor"]


class VoxelPolynomialRegressor:
    """Least-squares polynomial map from a voxel's channels to its target (see the module docstring)."""

    def __init__(self, degree: int = 2, alpha: float = 1e-3, input_scale: float = 1000.0) -> None:
        if degree not in (1, 2):
            raise MbenchError("degree must be 1 or 2", found=degree)
        self.degree, self.alpha, self.input_scale = int(degree), float(alpha), float(input_scale)
        self.weights: np.ndarray | None = None

    def _features(self, x: np.ndarray) -> np.ndarray:
        """(C, N) channel values -> (F, N) features."""
        x = np.asarray(x, np.float64) / self.input_scale
        feats = [np.ones(x.shape[1]), *x]
        if self.degree == 2:
            feats += [x[i] * x[j] for i, j in itertools.combinations_with_replacement(range(len(x)), 2)]
        return np.stack(feats)

    def fit(self, train: Any, val: Any, *, score: Any, seed: int, progress: Any) -> dict:
        """Accumulate the normal equations over every voxel of the training cases and solve them."""
        gram = rhs = None
        n = 0
        for i in range(len(train)):
            x, y = train.input(i), train.target(i)
            f = self._features(x.reshape(len(x), -1))
            gram = f @ f.T if gram is None else gram + f @ f.T
            rhs = f @ y.ravel() if rhs is None else rhs + f @ y.ravel()
            n += y.size
            progress("train", i + 1, len(train))
        if gram is None:
            raise MbenchError("no training cases", fix="check the split")
        self.weights = np.linalg.solve(gram + self.alpha * n * np.eye(len(gram)), rhs)
        return {"n_parameters": int(self.weights.size), "n_voxels": n}

    def predict(self, inputs: np.ndarray) -> np.ndarray:
        """``(C, *spatial)`` -> ``(*spatial)`` in target units."""
        if self.weights is None:
            raise MbenchError("predict before fit", fix="call fit first")
        x = np.asarray(inputs)
        return (self.weights @ self._features(x.reshape(len(x), -1))).reshape(x.shape[1:]).astype(np.float32)
