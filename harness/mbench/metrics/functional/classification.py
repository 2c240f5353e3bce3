"""Ranking metrics for (multi-label) classification scores."""

from __future__ import annotations

import numpy as np

__all__ = ["average_precision", "mean_average_precision"]


def average_precision(scores: np.ndarray, targets: np.ndarray) -> float:
    """Average precision ``sum_n (R_n - R_{n-1}) P_n`` over distinct score thresholds (no interpolation).

    This is the step-wise definition of scikit-learn's ``average_precision_score``; tied scores
    form one threshold.

    Empty inputs:
        No positive target: AP is undefined and ``nan`` is returned (callers decide; see
        :func:`mean_average_precision`). No samples: ``ValueError``.

    Example:
        >>> average_precision(np.array([0.9, 0.8, 0.3, 0.1]), np.array([1, 0, 1, 0]))
        0.8333333333333333
    """
    scores, targets = np.asarray(scores, dtype=float).ravel(), np.asarray(targets).ravel().astype(bool)
    if scores.shape != targets.shape:
        raise ValueError(f"scores {scores.shape} and targets {targets.shape} differ in length")
    if scores.size == 0:
        raise ValueError("average_precision of zero samples is undefined")
    n_pos = int(targets.sum())
    if n_pos == 0:
        return float("nan")
    order = np.argsort(-scores, kind="mergesort")
    s, t = scores[order], targets[order]
    last_of_tie = np.r_[np.flatnonzero(np.diff(s)), s.size - 1]
    tp = np.cumsum(t)[last_of_tie]
    precision = tp / (last_of_tie + 1)
    recall = tp / n_pos
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def mean_average_precision(scores: np.ndarray, targets: np.ndarray) -> float:
    """Macro mAP: the unweighted mean of per-label average precision over the columns.

    Empty inputs:
        Labels without any positive target have no AP and are left out of the mean (as
        scikit-learn's ``average_precision_score(average="macro")`` effectively requires); if no
        label has a positive, returns ``nan``.

    Example:
        >>> s = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.7]])
        >>> y = np.array([[1, 0], [0, 1], [1, 1]])
        >>> mean_average_precision(s, y)
        1.0
    """
    scores, targets = np.asarray(scores, dtype=float), np.asarray(targets)
    if scores.ndim != 2 or scores.shape != targets.shape:
        raise ValueError(f"expected (n_samples, n_labels) scores and targets, got {scores.shape} and {targets.shape}")
    aps = [average_precision(scores[:, j], targets[:, j]) for j in range(scores.shape[1])]
    valid = [a for a in aps if not np.isnan(a)]
    return float(np.mean(valid)) if valid else float("nan")
