"""How well a per-sample score separates two classes (label 1 vs label 0): Mann-Whitney U, its p-value, and whether
the interquartile boxes of the two classes overlap (paper 18's box-plot criterion).

Example:
    >>> import numpy as np
    >>> s, y = np.array([0.1, 0.2, 0.3, 0.8, 0.9]), np.array([0, 0, 0, 1, 1])
    >>> mann_whitney_u(s, y), iqr_overlap(s, y)
    (6.0, 0.0)
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np
from scipy.stats import rankdata

from mbench.errors import MbenchError

__all__ = ["mann_whitney_u", "mann_whitney_p", "iqr_overlap"]


def _groups(scores: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    s, y = np.asarray(scores, dtype=float), np.asarray(target).ravel()
    if s.ndim == 2 and s.shape[1] == 2:
        s = s[:, 1]
    s = s.ravel()
    if s.shape != y.shape:
        raise MbenchError("scores and labels differ in length", expected=f"{y.size} scores", found=f"{s.size}")
    if not set(np.unique(y).tolist()) <= {0, 1}:
        raise MbenchError("two-class separation needs labels 0 / 1", found=str(sorted(set(y.tolist()))[:5]))
    return s[y == 1], s[y == 0]


_Statistic = Callable[[np.ndarray, np.ndarray], float]


def _nan_if_a_class_is_empty(fn: _Statistic) -> _Statistic:
    """``nan`` when one class has no samples (the statistic is undefined), else ``fn``."""

    @functools.wraps(fn)
    def wrapper(scores: np.ndarray, target: np.ndarray) -> float:
        pos, neg = _groups(scores, target)
        return float("nan") if pos.size == 0 or neg.size == 0 else fn(scores, target)

    return wrapper


@_nan_if_a_class_is_empty
def mann_whitney_u(scores: np.ndarray, target: np.ndarray) -> float:
    """U statistic of the class-1 scores against the class-0 scores (ties count 1/2): ``R_1 - n_1 (n_1 + 1) / 2``.

    ``U / (n_1 n_0)`` is the ROC AUC.

    Empty inputs:
        A class without samples gives ``nan``.

    Example:
        >>> import numpy as np
        >>> mann_whitney_u(np.array([1.0, 2.0, 2.0, 3.0]), np.array([0, 0, 1, 1]))
        3.5
    """
    pos, neg = _groups(scores, target)
    ranks = rankdata(np.r_[pos, neg])
    return float(ranks[:pos.size].sum() - pos.size * (pos.size + 1) / 2)


@_nan_if_a_class_is_empty
def mann_whitney_p(scores: np.ndarray, target: np.ndarray) -> float:
    """Two-sided Mann-Whitney U test p-value between the classes (exact without ties for small samples, else the
    normal approximation with tie and continuity corrections; ``mbench.stats.run_test``).

    Empty inputs:
        A class without samples gives ``nan``.

    Example:
        >>> import numpy as np
        >>> mann_whitney_p(np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0]), np.array([0, 0, 0, 1, 1, 1]))
        0.1
    """
    from mbench.stats.tests import run_test

    pos, neg = _groups(scores, target)
    return float(run_test(pos, neg, "mannwhitney", alternative="two-sided").p_value)


@_nan_if_a_class_is_empty
def iqr_overlap(scores: np.ndarray, target: np.ndarray) -> float:
    """1.0 when the interquartile ranges [Q1, Q3] of the two classes overlap, else 0.0 (paper 18's criterion:
    "no overlap at all" between the boxes). Quartiles by linear interpolation (numpy's default).

    Empty inputs:
        A class without samples gives ``nan``.

    Example:
        >>> import numpy as np
        >>> iqr_overlap(np.array([1.0, 3.0, 5.0, 2.5, 3.5, 9.0]), np.array([0, 0, 0, 1, 1, 1]))
        1.0
    """
    pos, neg = _groups(scores, target)
    (p1, p3), (n1, n3) = np.percentile(pos, [25, 75]), np.percentile(neg, [25, 75])
    return float(p1 <= n3 and n1 <= p3)
