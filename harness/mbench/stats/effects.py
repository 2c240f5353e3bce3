"""Effect sizes: mean difference with a bootstrap interval, and rank-biserial correlations.

* mean difference: paired, the mean of ``x - y`` over cases (interval from resampled cases); unpaired, the
  difference of the group means (each group resampled on its own).
* matched-pairs rank-biserial (Kerby 2014), the effect size of the Wilcoxon signed-rank test:
  ``(T+ - T-) / (T+ + T-)`` with zero differences dropped, in [-1, 1]; +1 when x is larger on every case.
* unpaired rank-biserial, the effect size of Mann-Whitney U: ``2 U / (n_x n_y) - 1`` = P(X > Y) - P(X < Y).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

from mbench.errors import MbenchError
from mbench.stats.batched import wilcoxon_sums_batch
from mbench.stats.bootstrap import bootstrap_counts, bootstrap_indices

__all__ = ["Effect", "mean_difference", "rank_biserial_paired", "rank_biserial_unpaired"]


@dataclass(frozen=True)
class Effect:
    """An effect size with an optional bootstrap percentile interval.

    Example:
        >>> str(Effect("mean_difference", 0.0312, (0.01, 0.05)))
        'mean_difference 0.0312 [0.0100, 0.0500]'
    """

    name: str
    value: float
    ci: tuple[float, float] | None = None
    confidence: float = 0.95

    def __str__(self) -> str:
        ci = f" [{self.ci[0]:.4f}, {self.ci[1]:.4f}]" if self.ci is not None else ""
        return f"{self.name} {self.value:.4f}{ci}"


def _arrays(x: Sequence[float] | np.ndarray, y: Sequence[float] | np.ndarray, paired: bool) -> tuple[np.ndarray, ...]:
    xa, ya = np.asarray(x, dtype=float).ravel(), np.asarray(y, dtype=float).ravel()
    if paired and xa.size != ya.size:
        raise MbenchError("paired effect sizes need samples of equal length", found=f"{xa.size} and {ya.size}")
    if xa.size == 0 or ya.size == 0:
        raise MbenchError("effect sizes need non-empty samples")
    if np.isnan(xa).any() or np.isnan(ya).any():
        raise MbenchError("NaN scores passed to an effect size", fix="pair them with mbench.stats.pair_scores first")
    return xa, ya


def _interval(boot: np.ndarray, confidence: float) -> tuple[float, float]:
    tail = (1 - confidence) / 2
    lo, hi = np.nanquantile(boot, [tail, 1 - tail])
    return float(lo), float(hi)


def mean_difference(x: Sequence[float] | np.ndarray, y: Sequence[float] | np.ndarray, *, paired: bool = True,
                    n_boot: int = 1000, confidence: float = 0.95, seed: int | np.random.Generator | None = 0) -> Effect:
    """Mean difference x - y with a percentile bootstrap interval (``n_boot=0``: no interval).

    Example:
        >>> e = mean_difference([0.9, 0.8, 0.7, 0.85], [0.8, 0.75, 0.7, 0.8], n_boot=500)
        >>> round(e.value, 4), e.ci[0] <= e.value <= e.ci[1]
        (0.05, True)
    """
    xa, ya = _arrays(x, y, paired)
    value = float(np.mean(xa - ya)) if paired else float(xa.mean() - ya.mean())
    if n_boot <= 0:
        return Effect("mean_difference", value, None, confidence)
    rng = np.random.default_rng(seed) if not isinstance(seed, np.random.Generator) else seed
    if paired:
        boot = bootstrap_counts(xa.size, n_boot, rng) @ (xa - ya) / xa.size
    else:
        boot = (bootstrap_counts(xa.size, n_boot, rng) @ xa / xa.size
                - bootstrap_counts(ya.size, n_boot, rng) @ ya / ya.size)
    return Effect("mean_difference", value, _interval(boot, confidence), confidence)


def rank_biserial_paired(x: Sequence[float] | np.ndarray, y: Sequence[float] | np.ndarray, *, n_boot: int = 0,
                         confidence: float = 0.95, seed: int | np.random.Generator | None = 0) -> Effect:
    """Matched-pairs rank-biserial correlation of x - y (0 when every difference is zero).

    Example:
        >>> rank_biserial_paired([3.0, 2.0, 5.0], [1.0, 3.0, 1.0]).value  # ranks of |d|: 2, 1, 3
        0.6666666666666666
    """
    xa, ya = _arrays(x, y, True)
    d = xa - ya
    counts = np.ones((1, d.size))
    if n_boot > 0:
        counts = np.vstack([counts, bootstrap_counts(d.size, n_boot, seed)])
    t_plus, t_minus, _, _ = wilcoxon_sums_batch(d, counts)
    total = t_plus + t_minus
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.where(total > 0, (t_plus - t_minus) / total, 0.0)
    ci = _interval(r[1:], confidence) if n_boot > 0 else None
    return Effect("rank_biserial", float(r[0]), ci, confidence)


def rank_biserial_unpaired(x: Sequence[float] | np.ndarray, y: Sequence[float] | np.ndarray, *, n_boot: int = 0,
                           confidence: float = 0.95, seed: int | np.random.Generator | None = 0) -> Effect:
    """Rank-biserial correlation for two independent groups, 2U/(n_x n_y) - 1 (U of x, ties count one half).

    Example:
        >>> rank_biserial_unpaired([3.0, 4.0], [1.0, 2.0, 3.0]).value  # P(X>Y) - P(X<Y) = 5/6 - 0/6
        0.8333333333333333
    """
    xa, ya = _arrays(x, y, False)
    u = float(stats.mannwhitneyu(xa, ya, method="asymptotic").statistic)
    value = 2 * u / (xa.size * ya.size) - 1
    if n_boot <= 0:
        return Effect("rank_biserial", value, None, confidence)
    rng = np.random.default_rng(seed) if not isinstance(seed, np.random.Generator) else seed
    bx, by = xa[bootstrap_indices(xa.size, n_boot, rng)], ya[bootstrap_indices(ya.size, n_boot, rng)]
    u_boot = stats.mannwhitneyu(bx, by, axis=1, method="asymptotic").statistic  # vectorised over resamples
    return Effect("rank_biserial", value, _interval(2 * u_boot / (xa.size * ya.size) - 1, confidence), confidence)
