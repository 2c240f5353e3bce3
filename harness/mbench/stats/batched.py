"""Paired tests evaluated on many bootstrap resamples at once (no Python loop per resample).

A resample is given by case multiplicities (:func:`mbench.stats.bootstrap.bootstrap_counts`). The Wilcoxon
signed-rank statistic of a resample only needs, per group of tied ``|d|`` values, how many resampled cases
fall in the group and how many of them are positive: average ranks follow from cumulative counts. This
gives the normal-approximation p-values that ``scipy.stats.wilcoxon(method="asymptotic", correction=True)``
(and R's ``wilcox.test(exact = FALSE)``, which challengeR uses) computes on the resampled data, for all
resamples in a few array operations. The paired t-test needs only resampled sums of d and d².

The ``*_pairs`` functions take the differences of many model pairs at once, one column each, and do the
work shared by all pairs as a few matrix products (cheap, and robust to BLAS threads competing for busy
cores); only the per-pair sort order of ``|d|`` is handled pair by pair. The tests check every function
against scipy on explicit resamples.
"""

from __future__ import annotations

import numpy as np
from scipy import special

__all__ = ["wilcoxon_sums_pairs", "wilcoxon_onesided_pairs", "ttest_rel_onesided_pairs", "wilcoxon_sums_batch",
           "wilcoxon_pvalues_batch", "ttest_rel_pvalues_batch"]


def _as_columns(d: np.ndarray) -> np.ndarray:
    d = np.asarray(d, dtype=float)
    return d[:, None] if d.ndim == 1 else d


def wilcoxon_sums_pairs(diffs: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Signed-rank sums of many pairs on many resamples.

    Args:
        diffs: paired differences, (n,) or (n, n_pairs).
        counts: case multiplicities, (n_boot, n).

    Returns:
        (T+, n_nonzero, tie_term), each (n_boot, n_pairs); tie_term = sum(t³ - t) over tie groups of the
        resampled |d| (zero differences are dropped, as with ``zero_method="wilcox"``).
    """
    d = _as_columns(diffs)
    c = np.asarray(counts, dtype=float)
    nonzero, positive = (d != 0).astype(float), (d > 0).astype(float)
    m = c @ nonzero
    c2 = c * c
    # with distinct |d| each case is its own tie group: the w copies of case i share the average rank
    # cw_i - (w_i - 1)/2 (cw: cumulative count in |d| order), so T+ = sum_pos w cw - sum_pos w²/2 + sum_pos w/2
    # and the tie term is sum_nonzero (w³ - w); everything but sum_pos w cw is a matrix product for all pairs
    t_plus = (c @ positive - c2 @ positive) / 2
    ties = (c2 * c - c) @ nonzero
    for j in range(d.shape[1]):
        nz = np.flatnonzero(d[:, j])
        if nz.size == 0:
            continue
        a = np.abs(d[nz, j])
        order = np.argsort(a, kind="stable")
        a, pos = a[order], positive[nz[order], j]
        cs = c[:, nz[order]]
        if np.unique(a).size == a.size:
            t_plus[:, j] += np.einsum("bi,bi,i->b", cs, np.cumsum(cs, axis=1), pos)
            continue
        starts = np.flatnonzero(np.r_[True, a[1:] != a[:-1]])
        w = np.add.reduceat(cs, starts, axis=1)  # resampled cases per tie group
        p = np.add.reduceat(cs * pos, starts, axis=1)  # ... of which positive
        t_plus[:, j] = np.einsum("bg,bg->b", p, np.cumsum(w, axis=1) - (w - 1) / 2)
        ties[:, j] = np.einsum("bg,bg->b", w, w * w) - w.sum(axis=1)
    return t_plus, m, ties


def _z(t_plus: np.ndarray, m: np.ndarray, ties: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    with np.errstate(invalid="ignore", divide="ignore"):
        se = np.sqrt((m * (m + 1) * (2 * m + 1) - ties / 2) / 24)
        return (t_plus - m * (m + 1) / 4) / se, se


def wilcoxon_onesided_pairs(diffs: np.ndarray, counts: np.ndarray,
                            correction: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """(p_greater, p_less), each (n_boot, n_pairs): normal-approximation Wilcoxon tests of every pair on every
    resample; NaN where all resampled differences are zero.

    Example:
        >>> d = np.array([[0.3, 0.0], [0.2, 0.1], [-0.1, 0.1], [0.4, -0.2]])
        >>> pg, pl = wilcoxon_onesided_pairs(d, np.ones((1, 4)))
        >>> from scipy.stats import wilcoxon
        >>> bool(np.isclose(pg[0, 0], wilcoxon(d[:, 0], correction=True, method="asymptotic",
        ...                                    alternative="greater").pvalue))
        True
    """
    z, se = _z(*wilcoxon_sums_pairs(diffs, counts))
    with np.errstate(invalid="ignore", divide="ignore"):
        cc = 0.5 / se if correction else 0.0
        p_greater, p_less = special.ndtr(-(z - cc)), special.ndtr(z + cc)
    bad = ~(se > 0)
    p_greater[bad], p_less[bad] = np.nan, np.nan
    return p_greater, p_less


def ttest_rel_onesided_pairs(diffs: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(p_greater, p_less), each (n_boot, n_pairs): paired t-tests of every pair on every resample; NaN where
    the resampled differences have no spread.

    Example:
        >>> d = np.array([0.3, 0.2, -0.1, 0.4])
        >>> from scipy.stats import ttest_1samp
        >>> pg, _ = ttest_rel_onesided_pairs(d, np.ones((1, 4)))
        >>> bool(np.isclose(pg[0, 0], ttest_1samp(d, 0, alternative="greater").pvalue))
        True
    """
    d = _as_columns(diffs)
    c = np.asarray(counts, dtype=float)
    n = c.sum(axis=1)[:, None]
    centre = d.mean(axis=0)
    dc = d - centre  # centred for accuracy
    shift = c @ dc / n
    var = (c @ (dc * dc) - n * shift**2) / (n - 1)
    scale = np.max(np.abs(dc), axis=0) + np.abs(centre)
    with np.errstate(invalid="ignore", divide="ignore"):
        t = (shift + centre) / np.sqrt(var / n)
        p_greater, p_less = special.stdtr(n - 1, -t), special.stdtr(n - 1, t)
    bad = ~(var > (1e-12 * scale) ** 2)
    p_greater[bad], p_less[bad] = np.nan, np.nan
    return p_greater, p_less


def wilcoxon_sums_batch(d: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Signed-rank sums of one pair on resamples: (T+, T-, n_nonzero, tie_term), each (n_boot,).

    Example:
        >>> tp, tm, m, ties = wilcoxon_sums_batch(np.array([1.0, -2.0, 3.0]), np.array([[1, 1, 1], [0, 3, 0]]))
        >>> tp.tolist(), tm.tolist(), m.tolist(), ties.tolist()
        ([4.0, 0.0], [2.0, 6.0], [3.0, 3.0], [0.0, 24.0])
    """
    t_plus, m, ties = (a[:, 0] for a in wilcoxon_sums_pairs(d, counts))
    return t_plus, m * (m + 1) / 2 - t_plus, m, ties


def wilcoxon_pvalues_batch(d: np.ndarray, counts: np.ndarray, alternative: str = "two-sided",
                           correction: bool = True) -> np.ndarray:
    """Normal-approximation Wilcoxon p-values of one pair on resamples (NaN where all differences are zero).

    Example:
        >>> d = np.array([0.3, 0.2, -0.1, 0.4, 0.25, 0.15, 0.05, -0.02])
        >>> from scipy.stats import wilcoxon
        >>> p = wilcoxon_pvalues_batch(d, np.ones((1, 8)), "greater")[0]
        >>> bool(np.isclose(p, wilcoxon(d, correction=True, method="asymptotic", alternative="greater").pvalue))
        True
    """
    if alternative != "two-sided":
        return wilcoxon_onesided_pairs(d, counts, correction)[0 if alternative == "greater" else 1][:, 0]
    z, se = (a[:, 0] for a in _z(*wilcoxon_sums_pairs(d, counts)))
    with np.errstate(invalid="ignore", divide="ignore"):
        if correction:
            z = z - np.sign(z) * 0.5 / se
        p = np.minimum(2 * special.ndtr(-np.abs(z)), 1.0)
    return np.where(se > 0, p, np.nan)


def ttest_rel_pvalues_batch(d: np.ndarray, counts: np.ndarray, alternative: str = "two-sided") -> np.ndarray:
    """Paired t-test p-values of one pair on resamples (NaN where the resampled differences have no spread).

    Example:
        >>> d = np.array([0.3, 0.2, -0.1, 0.4])
        >>> from scipy.stats import ttest_1samp
        >>> bool(np.isclose(ttest_rel_pvalues_batch(d, np.ones((1, 4)))[0], ttest_1samp(d, 0).pvalue))
        True
    """
    p_greater, p_less = (a[:, 0] for a in ttest_rel_onesided_pairs(d, counts))
    if alternative == "greater":
        return p_greater
    if alternative == "less":
        return p_less
    return np.minimum(2 * np.minimum(p_greater, p_less), 1.0)
