"""Case bootstrap, vectorised: one index matrix for all resamples, no Python loop per resample.

A resample draws n cases with replacement. :func:`bootstrap_indices` returns all resamples as one
(n_boot, n) integer array; :func:`bootstrap_counts` the same resamples as multiplicities (how often each case
was drawn), which turns a resampled mean into one matrix product. Several models are always resampled with
the same cases (a paired bootstrap). Percentile intervals.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from mbench.errors import MbenchError

__all__ = ["ConfidenceInterval", "bootstrap_indices", "bootstrap_counts", "bootstrap_ci", "resampled_statistic",
           "STATISTICS"]

STATISTICS = ("mean", "median")
_CHUNK_ELEMENTS = 4_000_000  # resampled values held at once when a statistic needs the resampled data itself


@dataclass(frozen=True)
class ConfidenceInterval:
    """A point estimate with a bootstrap percentile interval.

    Example:
        >>> str(ConfidenceInterval(0.81234, 0.79, 0.83, statistic="mean"))
        '0.8123 [0.7900, 0.8300]'
    """

    estimate: float
    low: float
    high: float
    confidence: float = 0.95
    n_boot: int = 1000
    statistic: str = "mean"
    method: str = "percentile"

    def as_tuple(self) -> tuple[float, float]:
        """(low, high)."""
        return (self.low, self.high)

    def __str__(self) -> str:
        return f"{self.estimate:.4f} [{self.low:.4f}, {self.high:.4f}]"


def _rng(seed: int | np.random.Generator | None) -> np.random.Generator:
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


def bootstrap_indices(n: int, n_boot: int = 1000, seed: int | np.random.Generator | None = 0) -> np.ndarray:
    """All resamples at once: an (n_boot, n) array of case indices drawn with replacement.

    Example:
        >>> idx = bootstrap_indices(4, n_boot=3, seed=1)
        >>> idx.shape, bool(((idx >= 0) & (idx < 4)).all())
        ((3, 4), True)
    """
    if n < 1 or n_boot < 1:
        raise MbenchError("bootstrap needs at least one case and one resample", found=f"n={n}, n_boot={n_boot}")
    dtype = np.int32 if n < 2**31 else np.int64
    return _rng(seed).integers(0, n, size=(n_boot, n), dtype=dtype)


def bootstrap_counts(n: int, n_boot: int = 1000, seed: int | np.random.Generator | None = 0,
                     indices: np.ndarray | None = None) -> np.ndarray:
    """The resamples as multiplicities: an (n_boot, n) array, row b counting how often each case was drawn.

    With the same ``seed`` (or the ``indices`` themselves) these are the resamples of :func:`bootstrap_indices`.

    Example:
        >>> c = bootstrap_counts(5, n_boot=2, seed=0)
        >>> c.sum(axis=1).tolist()
        [5, 5]
    """
    idx = bootstrap_indices(n, n_boot, seed) if indices is None else np.asarray(indices)
    b = idx.shape[0]
    flat = idx.astype(np.int64) + (np.arange(b, dtype=np.int64) * n)[:, None]
    return np.bincount(flat.ravel(), minlength=b * n).reshape(b, n)


def resampled_statistic(values: np.ndarray, statistic: str, indices: np.ndarray) -> np.ndarray:
    """A statistic over cases for every resample and column: (n, k) values -> (n_boot, k).

    Example:
        >>> v = np.arange(6.0).reshape(3, 2)
        >>> resampled_statistic(v, "mean", np.array([[0, 1, 2], [2, 2, 2]])).tolist()
        [[2.0, 3.0], [4.0, 5.0]]
    """
    v = np.asarray(values, dtype=float)
    if v.ndim == 1:
        v = v[:, None]
    if statistic not in STATISTICS:
        raise MbenchError(f"unknown bootstrap statistic {statistic!r}", expected=", ".join(STATISTICS))
    n = v.shape[0]
    if statistic == "mean":
        return bootstrap_counts(n, indices=indices) @ v / n
    out = np.empty((indices.shape[0], v.shape[1]))
    step = max(1, _CHUNK_ELEMENTS // max(1, n * v.shape[1]))
    for start in range(0, indices.shape[0], step):  # chunks of resamples, bounded memory
        out[start:start + step] = np.median(v[indices[start:start + step]], axis=1)
    return out


def bootstrap_ci(values: Sequence[float] | np.ndarray, statistic: str = "mean", *, n_boot: int = 1000,
                 confidence: float = 0.95, seed: int | np.random.Generator | None = 0
                 ) -> ConfidenceInterval | list[ConfidenceInterval]:
    """Percentile bootstrap interval of the mean or median.

    Args:
        values: per-case scores, 1-D; or 2-D (cases x models), giving one interval per column from the same
            resampled cases.
        statistic: ``mean`` or ``median``.
        n_boot: number of resamples.
        confidence: coverage of the interval, e.g. 0.95.
        seed: random seed or generator.

    Example:
        >>> ci = bootstrap_ci(np.linspace(0.5, 1.0, 51), "mean", n_boot=2000, seed=0)
        >>> round(ci.estimate, 3), ci.low < 0.75 < ci.high
        (0.75, True)
    """
    v = np.asarray(values, dtype=float)
    one = v.ndim == 1
    v2 = v[:, None] if one else v
    if v2.ndim != 2 or v2.shape[0] == 0:
        raise MbenchError("bootstrap_ci needs a non-empty 1-D or 2-D array of scores", found=f"shape {v.shape}")
    if np.isnan(v2).any():
        raise MbenchError(f"{int(np.isnan(v2).sum())} NaN score(s) passed to bootstrap_ci",
                          fix="fill missing scores with the metric's worst value (ScoreMatrix.fill_worst) or leave "
                              "them out explicitly and report how many")
    if not 0 < confidence < 1:
        raise MbenchError("confidence must lie strictly between 0 and 1", found=str(confidence))
    boot = resampled_statistic(v2, statistic, bootstrap_indices(v2.shape[0], n_boot, seed))
    tail = (1 - confidence) / 2
    low, high = np.quantile(boot, [tail, 1 - tail], axis=0)
    point = v2.mean(axis=0) if statistic == "mean" else np.median(v2, axis=0)
    cis = [ConfidenceInterval(float(e), float(lo), float(hi), confidence, n_boot, statistic)
           for e, lo, hi in zip(point, low, high)]
    return cis[0] if one else cis
