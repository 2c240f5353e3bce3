"""Within- and between-class distances of sample vectors (paper 12: normalised task-graph vectors).

Each vector is scaled to unit Euclidean length (a zero vector stays zero), then pairwise Euclidean distances are
taken: the largest distance between two samples of the same class, the smallest between samples of different
classes, and the margin (smallest between minus largest within; positive = every class separable by a distance
threshold in between).

Empty inputs:
    A class with one sample contributes no within-class pair; with no within-class pair the maximum is 0.0, with a
    single class the between-class minimum is nan. Fewer than two samples raise.

Example:
    >>> import numpy as np
    >>> v = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0]])
    >>> round(max_within_class_distance(v, np.array([0, 0, 1])), 4)
    0.1106
    >>> round(min_between_class_distance(v, np.array([0, 0, 1])), 4)
    1.3338
"""

from __future__ import annotations

import math

import numpy as np

from mbench.errors import MbenchError

__all__ = ["class_distances", "max_within_class_distance", "min_between_class_distance", "class_separation_margin"]


def class_distances(vectors: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """(largest within-class, smallest between-class) Euclidean distance of the unit-length vectors."""
    x = np.asarray(vectors, dtype=float)
    y = np.asarray(labels).ravel()
    if x.ndim != 2 or x.shape[0] != y.size or y.size < 2:
        raise MbenchError("class distances need (n, d) vectors and n labels, n >= 2",
                          found=f"vectors {x.shape}, {y.size} labels")
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    u = np.divide(x, norms, out=np.zeros_like(x), where=norms > 0)
    sq = (u ** 2).sum(axis=1)
    d = np.sqrt(np.maximum(sq[:, None] + sq[None, :] - 2 * u @ u.T, 0.0))
    same = y[:, None] == y[None, :]
    off = ~np.eye(y.size, dtype=bool)
    within = d[same & off]
    between = d[~same]
    return (float(within.max()) if within.size else 0.0, float(between.min()) if between.size else math.nan)


def max_within_class_distance(vectors: np.ndarray, labels: np.ndarray) -> float:
    """Largest distance between two unit-length vectors of the same class.

    Empty inputs:
        No class with two samples -> 0.0; fewer than two samples raise :class:`~mbench.errors.MbenchError`.

    Example:
        >>> max_within_class_distance(np.array([[1.0, 0.0], [2.0, 0.0], [0.0, 1.0]]), np.array([0, 0, 1]))
        0.0
    """
    return class_distances(vectors, labels)[0]


def min_between_class_distance(vectors: np.ndarray, labels: np.ndarray) -> float:
    """Smallest distance between unit-length vectors of different classes.

    Empty inputs:
        A single class -> nan; fewer than two samples raise :class:`~mbench.errors.MbenchError`.

    Example:
        >>> round(min_between_class_distance(np.array([[1.0, 0.0], [0.0, 3.0]]), np.array([0, 1])), 4)
        1.4142
    """
    return class_distances(vectors, labels)[1]


def class_separation_margin(vectors: np.ndarray, labels: np.ndarray) -> float:
    """Smallest between-class minus largest within-class distance (> 0: separable by a distance threshold).

    Empty inputs:
        As :func:`class_distances` (a single class -> nan).

    Example:
        >>> round(class_separation_margin(np.array([[1.0, 0.0], [1.0, 0.1], [0.0, 1.0]]), np.array([0, 0, 1])), 4)
        1.2424
    """
    within, between = class_distances(vectors, labels)
    return between - within
