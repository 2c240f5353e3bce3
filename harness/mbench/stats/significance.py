"""Significance map: for every ordered pair of models, is the first significantly better than the second?

As challengeR's ``significanceMap``: one-sided paired tests for every ordered pair (i, j), "i better than j",
corrected together over all K (K - 1) ordered pairs (Holm by default), on scores whose missing cases are
filled with the metric's worst value. The default test is challengeR's: Wilcoxon signed-rank with the normal
approximation, tie and continuity corrections (R's ``wilcox.test(exact = FALSE, paired = TRUE)``), run through
``scipy.stats.wilcoxon(method="asymptotic", correction=True)`` for all pairs at once. ``ttest_rel`` is the
other choice. A pair whose differences are all zero has p = NaN and is never significant (challengeR counts
it as 0, too).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import stats

from mbench.errors import MbenchError
from mbench.stats.batched import ttest_rel_onesided_pairs, wilcoxon_onesided_pairs
from mbench.stats.corrections import adjust_pvalues, adjust_pvalues_batch, resolve_correction
from mbench.stats.matrix import ScoreMatrix

__all__ = ["SignificanceMap", "significance_map", "one_sided_pvalues", "one_sided_pvalues_batch", "RANK_TESTS",
           "reachability_warnings"]

#: tests available to significance maps, test-then-rank and its bootstrap
RANK_TESTS = ("wilcoxon", "ttest_rel")


def _check_test(test: str) -> None:
    if test not in RANK_TESTS:
        raise MbenchError(f"test {test!r} is not available for significance maps and test-based ranking",
                          expected=", ".join(RANK_TESTS),
                          fix="use wilcoxon (challengeR's choice) or ttest_rel")


def one_sided_pvalues(oriented: np.ndarray, test: str = "wilcoxon") -> np.ndarray:
    """(K, K) p-values of "model i better than model j" from (n, K) scores oriented so larger is better.

    Example:
        >>> v = np.array([[3.0, 1.0], [4.0, 2.0], [5.0, 1.5], [6.0, 2.5], [5.5, 2.0], [4.5, 0.5]])
        >>> p = one_sided_pvalues(v)
        >>> bool(p[0, 1] < 0.05 < p[1, 0]), bool(np.isnan(p[0, 0]))
        (True, True)
    """
    _check_test(test)
    v = np.asarray(oriented, dtype=float)
    k = v.shape[1]
    out = np.full((k, k), np.nan)
    iu, ju = np.triu_indices(k, 1)
    if iu.size == 0:
        return out
    d = v[:, iu] - v[:, ju]  # (n, pairs): one column per unordered pair
    live = np.any(d != 0, axis=0)
    pg, pl = np.full(iu.size, np.nan), np.full(iu.size, np.nan)
    if live.any():
        if test == "wilcoxon":
            kw: dict[str, Any] = {"zero_method": "wilcox", "correction": True, "method": "asymptotic", "axis": 0}
            pg[live] = stats.wilcoxon(d[:, live], alternative="greater", **kw).pvalue
            pl[live] = stats.wilcoxon(d[:, live], alternative="less", **kw).pvalue
        else:
            with np.errstate(invalid="ignore", divide="ignore"):
                pg[live] = stats.ttest_1samp(d[:, live], 0.0, alternative="greater", axis=0).pvalue
                pl[live] = stats.ttest_1samp(d[:, live], 0.0, alternative="less", axis=0).pvalue
    out[iu, ju], out[ju, iu] = pg, pl
    return out


def one_sided_pvalues_batch(oriented: np.ndarray, counts: np.ndarray, test: str = "wilcoxon") -> np.ndarray:
    """Like :func:`one_sided_pvalues` for every bootstrap resample at once: (n_boot, K, K).

    ``counts`` are case multiplicities (:func:`mbench.stats.bootstrap_counts`); all model pairs and all
    resamples are handled together (:mod:`mbench.stats.batched`).
    """
    _check_test(test)
    v = np.asarray(oriented, dtype=float)
    b, k = counts.shape[0], v.shape[1]
    out = np.full((b, k, k), np.nan)
    iu, ju = np.triu_indices(k, 1)
    if iu.size == 0:
        return out
    live = np.flatnonzero(np.any(v[:, iu] != v[:, ju], axis=0))  # identical models: untestable, stay NaN
    d = v[:, iu[live]] - v[:, ju[live]]
    fn = wilcoxon_onesided_pairs if test == "wilcoxon" else ttest_rel_onesided_pairs
    p_greater, p_less = fn(d, counts)
    out[:, iu[live], ju[live]], out[:, ju[live], iu[live]] = p_greater, p_less
    return out


def adjust_offdiagonal(p: np.ndarray, correction: str) -> np.ndarray:
    """Correct the off-diagonal entries of (K, K) or (B, K, K) p-value matrices as one family per matrix."""
    k = p.shape[-1]
    mask = ~np.eye(k, dtype=bool)
    out = np.full_like(p, np.nan)
    if p.ndim == 2:
        out[mask] = adjust_pvalues(p[mask], correction)
    else:
        out[:, mask] = adjust_pvalues_batch(p[:, mask], correction)
    return out


def reachability_warnings(n: int, k: int, test: str, alpha: float, correction: str) -> list[str]:
    """Why no pair can be significant at this number of cases, if none can (empty list otherwise).

    Example:
        >>> reachability_warnings(4, 3, "wilcoxon", 0.05, "holm")[0][:60]
        'with 4 cases no pair can be significant: the smallest one-si'
    """
    if test != "wilcoxon" or n < 1:
        return []
    # the largest z of the normal approximation: every case favours one model by the same amount (a single
    # tie group shrinks the variance the most)
    best = float(stats.wilcoxon(np.ones(n), correction=True, method="asymptotic", alternative="greater").pvalue)
    family = k * (k - 1)
    need = alpha / family if correction in ("holm", "bonferroni") else alpha
    if best < need:
        return []
    after = f" after {correction} correction over {family} ordered pairs (needs p < {need:.3g})" if need < alpha else ""
    text = f"with {n} cases no pair can be significant: the smallest one-sided p is {best:.3g}{after}; every model ties"
    return [text]


@dataclass(frozen=True)
class SignificanceMap:
    """Pairwise one-sided test decisions.

    Attributes:
        models: model labels; rows and columns of the matrices follow this order.
        p_values: (K, K) raw one-sided p-values, entry [i, j] for "i better than j" (NaN on the diagonal).
        p_adjusted: the same after ``correction`` over all K (K - 1) ordered pairs.
        significant: (K, K) bool, [i, j] True when i is significantly better than j.
        n_cases: cases tested.
        n_filled: per model, cells filled with the worst value.
        warnings: e.g. that too few cases make every pair non-significant.
    """

    models: tuple[str, ...]
    p_values: np.ndarray
    p_adjusted: np.ndarray
    significant: np.ndarray
    alpha: float
    correction: str
    test: str
    n_cases: int
    n_filled: dict[str, int] = field(default_factory=dict)
    metric: str = "score"
    warnings: tuple[str, ...] = ()

    def wins(self) -> dict[str, int]:
        """Per model, how many others it is significantly better than."""
        return {m: int(self.significant[i].sum()) for i, m in enumerate(self.models)}

    def reorder(self, models: list[str] | tuple[str, ...]) -> SignificanceMap:
        """The same map with rows and columns in another order (e.g. ``ranking.order()``)."""
        idx = [self.models.index(m) for m in models]
        ix = np.ix_(idx, idx)
        return SignificanceMap(tuple(models), self.p_values[ix], self.p_adjusted[ix], self.significant[ix],
                               self.alpha, self.correction, self.test, self.n_cases, self.n_filled, self.metric,
                               self.warnings)

    def to_dict(self) -> dict[str, Any]:
        """Plain data (JSON-ready; NaN as None)."""
        def clean(a: np.ndarray) -> list[list[float | None]]:
            return [[None if np.isnan(x) else float(x) for x in row] for row in a]

        return {"models": list(self.models), "p_values": clean(self.p_values), "p_adjusted": clean(self.p_adjusted),
                "significant": self.significant.tolist(), "alpha": self.alpha, "correction": self.correction,
                "test": self.test, "n_cases": self.n_cases, "n_filled": dict(self.n_filled), "metric": self.metric,
                "warnings": list(self.warnings)}


def significance_map(matrix: ScoreMatrix, *, test: str = "wilcoxon", alpha: float = 0.05,
                     correction: str = "holm") -> SignificanceMap:
    """One-sided paired tests for every ordered pair of models, corrected over all of them.

    Missing and NaN cells are filled with the metric's worst value first (counted in ``n_filled``).

    Example:
        >>> m = ScoreMatrix.from_columns({"a": np.linspace(0.8, 0.9, 20), "b": np.linspace(0.6, 0.7, 20),
        ...                               "c": np.linspace(0.6, 0.7, 20) + 0.001}, worst=0.0)
        >>> significance_map(m).wins()
        {'a': 2, 'b': 0, 'c': 1}
    """
    correction = resolve_correction(correction)
    filled = matrix.fill_worst()
    if len(filled.models) < 2 or filled.shape[0] < 1:
        raise MbenchError("a significance map needs at least two models and one case", found=str(filled.shape))
    p = one_sided_pvalues(filled.oriented(), test)
    q = adjust_offdiagonal(p, correction)
    sig = np.nan_to_num(q, nan=1.0) < alpha
    return SignificanceMap(filled.models, p, q, sig, alpha, correction, test, filled.shape[0], dict(filled.n_filled),
                           filled.metric,
                           tuple(reachability_warnings(filled.shape[0], len(filled.models), test, alpha, correction)))
