"""Retrieval and few-shot metrics over a query x gallery similarity matrix.

A gallery item is relevant to a query when their class labels are equal. Top-k accuracy over classes and over
images for few-shot *classification* is :func:`~mbench.metrics.functional.classification.top_k_accuracy`
(``average="macro"`` / ``"micro"``).

Example:
    >>> import numpy as np
    >>> sim = np.array([[0.9, 0.1, 0.5], [0.2, 0.8, 0.7]])
    >>> queries, gallery = np.array([0, 1]), np.array([0, 1, 1])
    >>> retrieval_map(sim, queries, gallery), retrieval_top_k(sim, queries, gallery, k=1)
    (1.0, 1.0)
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from mbench.errors import MbenchError
from mbench.metrics.functional.classification import average_precision

__all__ = ["retrieval_map", "retrieval_top_k", "retrieval_class_top_k"]


def _check(similarity: np.ndarray, query_labels: np.ndarray,
           gallery_labels: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    sim = np.asarray(similarity, dtype=float)
    q, g = np.asarray(query_labels).ravel(), np.asarray(gallery_labels).ravel()
    if sim.ndim != 2 or sim.shape != (q.size, g.size) or sim.size == 0:
        raise MbenchError("similarity matrix does not match the labels",
                          expected=f"shape (n_queries, n_gallery) = ({q.size}, {g.size}), both > 0",
                          found=f"shape {sim.shape}", fix="rows are queries, columns gallery items")
    return sim, q, g


def _check_k(k: int, average: str) -> None:
    if average not in ("micro", "macro"):
        raise MbenchError(f"invalid average {average!r}", expected="'micro' or 'macro'", found=repr(average))
    if int(k) < 1:
        raise MbenchError("invalid k", expected="k >= 1", found=repr(k))


def retrieval_map(similarity: np.ndarray, query_labels: np.ndarray, gallery_labels: np.ndarray) -> float:
    """Mean over queries of the average precision of the gallery ranked by similarity (higher = more similar).

    Each query's AP is scikit-learn's step-wise ``average_precision_score`` with relevance = same label (tied
    similarities form one threshold).

    Empty inputs:
        Queries without any relevant gallery item have no AP and are left out; if none is left, ``nan``.

    Example:
        >>> import numpy as np
        >>> sim = np.array([[0.9, 0.8, 0.1]])
        >>> retrieval_map(sim, np.array([1]), np.array([0, 1, 1]))
        0.5833333333333333
    """
    sim, q, g = _check(similarity, query_labels, gallery_labels)
    aps = [average_precision(sim[i], g == q[i]) for i in range(q.size)]
    valid = [a for a in aps if not np.isnan(a)]
    return float(np.mean(valid)) if valid else float("nan")


def retrieval_top_k(similarity: np.ndarray, query_labels: np.ndarray, gallery_labels: np.ndarray, k: int = 1, *,
                    average: Literal["micro", "macro"] = "micro") -> float:
    """Fraction of queries with a relevant item among the ``k`` most similar gallery items (recall@k).

    ``average="micro"`` averages over queries (images), ``"macro"`` over the query classes. Ties in similarity
    are broken by gallery order (stable sort).

    Empty inputs:
        A query whose class is absent from the gallery scores 0.

    Example:
        >>> import numpy as np
        >>> sim = np.array([[0.9, 0.8, 0.1], [0.1, 0.2, 0.3]])
        >>> retrieval_top_k(sim, np.array([1, 0]), np.array([0, 1, 1]), k=2)
        0.5
    """
    sim, q, g = _check(similarity, query_labels, gallery_labels)
    _check_k(k, average)
    top = np.argsort(-sim, axis=1, kind="stable")[:, :int(k)]
    hits = (g[top] == q[:, None]).any(axis=1)
    if average == "micro":
        return float(hits.mean())
    return float(np.mean([hits[q == c].mean() for c in np.unique(q)]))


def retrieval_class_top_k(similarity: np.ndarray, query_labels: np.ndarray, gallery_labels: np.ndarray, k: int = 1, *,
                          average: Literal["micro", "macro"] = "micro") -> float:
    """Fraction of queries whose class is among the ``k`` highest-ranked *distinct classes* of the gallery.

    Classes are ranked by their most similar gallery item (GestaltMatcher's protocol: the ranked gallery with every
    class after its first occurrence removed), so top-k counts k syndromes, not k images. Top-1 equals
    :func:`retrieval_top_k` at k = 1. ``average="micro"`` averages over queries (images), ``"macro"`` over the query
    classes (syndromes). Ties are broken by gallery order (stable sort).

    Empty inputs:
        A query whose class is absent from the gallery scores 0.

    Example:
        >>> import numpy as np
        >>> sim = np.array([[0.9, 0.8, 0.1]])
        >>> retrieval_class_top_k(sim, np.array([2]), np.array([0, 0, 2]), k=2)  # classes ranked 0, 2
        1.0
        >>> retrieval_top_k(sim, np.array([2]), np.array([0, 0, 2]), k=2)  # images ranked 0, 0
        0.0
    """
    sim, q, g = _check(similarity, query_labels, gallery_labels)
    _check_k(k, average)
    classes, inverse = np.unique(g, return_inverse=True)
    order = np.argsort(-sim, axis=1, kind="stable")  # gallery items, best first
    best = np.full((q.size, classes.size), np.iinfo(np.int64).max, dtype=np.int64)  # rank of each class's best item
    rows = np.repeat(np.arange(q.size), g.size)
    np.minimum.at(best, (rows, inverse[order].ravel()), np.tile(np.arange(g.size), q.size))
    class_rank = np.argsort(np.argsort(best, axis=1, kind="stable"), axis=1, kind="stable")  # 0 = top class
    where = np.searchsorted(classes, q)
    present = (where < classes.size) & (classes[np.minimum(where, classes.size - 1)] == q)
    hits = present & (class_rank[np.arange(q.size), np.minimum(where, classes.size - 1)] < int(k))
    if average == "micro":
        return float(hits.mean())
    return float(np.mean([hits[q == c].mean() for c in np.unique(q)]))
