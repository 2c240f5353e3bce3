"""Multiple-comparison corrections: Holm (the default), Bonferroni, Benjamini-Hochberg, or none.

:func:`adjust_pvalues` goes through ``statsmodels.stats.multitest.multipletests``. NaN p-values (a test that
could not be computed) stay NaN and are not counted in the family, as R's ``p.adjust`` does.
:func:`adjust_pvalues_batch` applies the same corrections to many families at once (one per row, used inside
the bootstrap); it is checked against statsmodels in the tests.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from mbench.errors import MbenchError, did_you_mean

__all__ = ["CORRECTIONS", "adjust_pvalues", "adjust_pvalues_batch", "resolve_correction"]

#: correction id -> (statsmodels method name, description)
CORRECTIONS: dict[str, tuple[str | None, str]] = {
    "holm": ("holm", "Holm step-down (family-wise error rate; uniformly more powerful than Bonferroni)"),
    "bonferroni": ("bonferroni", "Bonferroni (family-wise error rate)"),
    "bh": ("fdr_bh", "Benjamini-Hochberg (false discovery rate)"),
    "none": (None, "no correction"),
}
_ALIASES = {"fdr_bh": "bh", "benjamini-hochberg": "bh", "benjamini_hochberg": "bh", "fdr": "bh"}


def resolve_correction(method: str) -> str:
    """Canonical correction id for a name or alias (``fdr_bh`` -> ``bh``); unknown names raise MbenchError."""
    key = _ALIASES.get(method.lower(), method.lower())
    if key not in CORRECTIONS:
        raise did_you_mean("correction", method, CORRECTIONS, fix=f"use one of: {', '.join(CORRECTIONS)}")
    return key


def _check(p: np.ndarray) -> None:
    bad = ~np.isnan(p) & ((p < 0) | (p > 1))
    if bad.any():
        raise MbenchError("p-values must lie in [0, 1]", found=f"{p[bad][:5].tolist()}")


def adjust_pvalues(pvalues: Sequence[float] | np.ndarray, method: str = "holm") -> np.ndarray:
    """Adjusted p-values for one family of tests.

    Args:
        pvalues: raw p-values (NaN allowed: kept NaN and left out of the family size).
        method: ``holm``, ``bonferroni``, ``bh`` or ``none``.

    Example:
        >>> adjust_pvalues([0.01, 0.04, 0.03], "holm").round(3).tolist()
        [0.03, 0.06, 0.06]
        >>> adjust_pvalues([0.01, float("nan")], "bonferroni").tolist()
        [0.01, nan]
    """
    key = resolve_correction(method)
    p = np.asarray(pvalues, dtype=float)
    _check(p)
    out = p.copy()
    ok = ~np.isnan(p)
    sm_method = CORRECTIONS[key][0]
    if sm_method is None or not ok.any():
        return out
    from statsmodels.stats.multitest import multipletests

    out[ok] = multipletests(p[ok], method=sm_method)[1]
    return out


def adjust_pvalues_batch(pvalues: np.ndarray, method: str = "holm") -> np.ndarray:
    """Adjust each row of a (n_families, m) array as its own family, vectorised (no loop over rows).

    Example:
        >>> adjust_pvalues_batch(np.array([[0.01, 0.04, 0.03], [0.5, 0.01, 0.2]]), "bh").round(3).tolist()
        [[0.03, 0.04, 0.04], [0.5, 0.03, 0.3]]
    """
    key = resolve_correction(method)
    p = np.atleast_2d(np.asarray(pvalues, dtype=float))
    _check(p)
    if key == "none" or p.shape[1] == 0:
        return p.copy()
    m = (~np.isnan(p)).sum(axis=1, keepdims=True).astype(float)
    if key == "bonferroni":
        return np.minimum(p * m, 1.0)
    order = np.argsort(p, axis=1, kind="stable")  # NaN sort last
    ps = np.take_along_axis(p, order, axis=1)
    i = np.arange(1, p.shape[1] + 1, dtype=float)[None, :]
    if key == "holm":
        adj = np.fmax.accumulate(ps * (m - i + 1), axis=1)
    else:  # bh
        adj = np.fmin.accumulate((ps * m / i)[:, ::-1], axis=1)[:, ::-1]
    adj = np.where(np.isnan(ps), np.nan, np.minimum(adj, 1.0))
    out = np.empty_like(adj)
    np.put_along_axis(out, order, adj, axis=1)
    return out
