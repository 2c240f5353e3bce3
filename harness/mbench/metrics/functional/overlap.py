"""Overlap metrics between binary masks of any dimension, per case or pooled over cases.

All of them are functions of the confusion counts (TP, FP, FN, TN) of foreground voxels; nonzero values count as
foreground. Pooled variants sum the counts over cases before dividing (one number per data set).

Example:
    >>> import numpy as np
    >>> p, r = np.array([1, 1, 0, 0]), np.array([1, 0, 1, 0])
    >>> confusion_counts(p, r)
    (1, 1, 1, 1)
    >>> dice(p, r), iou(p, r), precision(p, r), recall(p, r), specificity(p, r), pixel_accuracy(p, r)
    (0.5, 0.3333333333333333, 0.5, 0.5, 0.5, 0.5)
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from mbench.errors import MbenchError, did_you_mean
from mbench.metrics.functional._checks import binary_pair

__all__ = [
    "OVERLAP_METRICS",
    "confusion_counts",
    "dice",
    "iou",
    "overlap_from_counts",
    "pixel_accuracy",
    "pooled_overlap",
    "precision",
    "recall",
    "specificity",
]

Counts = tuple[int, int, int, int]


def confusion_counts(prediction: np.ndarray, reference: np.ndarray) -> Counts:
    """``(TP, FP, FN, TN)`` voxel counts of a binary prediction against a binary reference.

    Empty inputs:
        Any; zero-size arrays give ``(0, 0, 0, 0)``.

    Example:
        >>> import numpy as np
        >>> confusion_counts(np.array([[1, 1], [0, 0]]), np.array([[1, 0], [1, 0]]))
        (1, 1, 1, 1)
    """
    pred, ref = binary_pair(prediction, reference)
    tp = int(np.count_nonzero(pred & ref))
    n_pred, n_ref = int(np.count_nonzero(pred)), int(np.count_nonzero(ref))
    fp, fn = n_pred - tp, n_ref - tp
    return tp, fp, fn, int(pred.size) - tp - fp - fn


def _ratio(num: int, den: int, empty: float) -> float:
    return float(empty) if den == 0 else num / den


def _dice(c: Counts, both_empty: float) -> float:
    return _ratio(2 * c[0], 2 * c[0] + c[1] + c[2], both_empty)


def _iou(c: Counts, both_empty: float) -> float:
    return _ratio(c[0], c[0] + c[1] + c[2], both_empty)


def _precision(c: Counts, both_empty: float) -> float:
    if c[0] + c[1] == 0:  # nothing predicted
        return float(both_empty) if c[2] == 0 else 0.0
    return c[0] / (c[0] + c[1])


def _recall(c: Counts, both_empty: float) -> float:
    if c[0] + c[2] == 0:  # nothing to find
        return float(both_empty) if c[1] == 0 else 0.0
    return c[0] / (c[0] + c[2])


def _specificity(c: Counts, both_empty: float) -> float:
    if c[3] + c[1] == 0:  # the reference has no background
        return float(both_empty)
    return c[3] / (c[3] + c[1])


def _accuracy(c: Counts, both_empty: float) -> float:
    n = sum(c)
    if n == 0:
        raise MbenchError("pixel accuracy of zero voxels", expected="non-empty arrays", found="size 0")
    return (c[0] + c[3]) / n


_FROM_COUNTS = {"dice": _dice, "iou": _iou, "precision": _precision, "recall": _recall,
                "specificity": _specificity, "pixel_accuracy": _accuracy}
OVERLAP_METRICS = tuple(_FROM_COUNTS)


def overlap_from_counts(metric: str, counts: Counts, *, both_empty: float = 1.0) -> float:
    """An overlap metric (one of :data:`OVERLAP_METRICS`) from ``(TP, FP, FN, TN)`` counts.

    Empty inputs:
        As the metric's own function, with ``both_empty`` for the undefined case.

    Example:
        >>> overlap_from_counts("dice", (3, 1, 2, 10))
        0.6666666666666666
    """
    if metric not in _FROM_COUNTS:
        raise did_you_mean("overlap metric", metric, _FROM_COUNTS, fix=f"use one of {list(_FROM_COUNTS)}")
    return _FROM_COUNTS[metric](tuple(int(x) for x in counts), both_empty)  # type: ignore[arg-type]


def dice(prediction: np.ndarray, reference: np.ndarray, *, both_empty: float = 1.0) -> float:
    """Sørensen-Dice coefficient ``2|P∩R| / (|P| + |R|)`` of two binary masks (the F1 score of the voxels).

    Empty inputs:
        Both masks empty: returns ``both_empty`` (default 1.0, agreement on absence, as the BraTS
        evaluation does; pass ``float('nan')`` to exclude such cases from a mean explicitly).
        One mask empty: 0.0.

    Example:
        >>> import numpy as np
        >>> dice(np.array([[1, 1], [0, 0]]), np.array([[1, 0], [0, 0]]))
        0.6666666666666666
        >>> dice(np.zeros(4), np.zeros(4))
        1.0
    """
    return _dice(confusion_counts(prediction, reference), both_empty)


def iou(prediction: np.ndarray, reference: np.ndarray, *, both_empty: float = 1.0) -> float:
    """Intersection over union (Jaccard index) ``|P∩R| / |P∪R|``.

    Empty inputs:
        Both empty: ``both_empty`` (default 1.0). One empty: 0.0.

    Example:
        >>> import numpy as np
        >>> iou(np.array([1, 1, 0]), np.array([1, 0, 1]))
        0.3333333333333333
    """
    return _iou(confusion_counts(prediction, reference), both_empty)


def precision(prediction: np.ndarray, reference: np.ndarray, *, both_empty: float = 1.0) -> float:
    """Precision (positive predictive value) ``TP / (TP + FP)``.

    Empty inputs:
        Both empty: ``both_empty`` (default 1.0). Empty prediction, non-empty reference: 0.0 (scikit-learn's
        ``zero_division=0``). Empty reference, non-empty prediction: 0.0 (all predictions are false positives).

    Example:
        >>> import numpy as np
        >>> precision(np.array([1, 1, 0]), np.array([1, 0, 1]))
        0.5
    """
    return _precision(confusion_counts(prediction, reference), both_empty)


def recall(prediction: np.ndarray, reference: np.ndarray, *, both_empty: float = 1.0) -> float:
    """Recall (sensitivity, true positive rate) ``TP / (TP + FN)``.

    Empty inputs:
        Both empty: ``both_empty`` (default 1.0). Empty reference, non-empty prediction: 0.0 (scikit-learn's
        ``zero_division=0``). Empty prediction, non-empty reference: 0.0.

    Example:
        >>> import numpy as np
        >>> recall(np.array([1, 0, 0]), np.array([1, 0, 1]))
        0.5
    """
    return _recall(confusion_counts(prediction, reference), both_empty)


def specificity(prediction: np.ndarray, reference: np.ndarray, *, both_empty: float = 1.0) -> float:
    """Specificity (true negative rate) ``TN / (TN + FP)``.

    Empty inputs:
        Empty masks are ordinary here (all background: specificity is defined). A reference with no background
        voxel at all gives ``both_empty`` (default 1.0).

    Example:
        >>> import numpy as np
        >>> specificity(np.array([1, 1, 0, 0]), np.array([1, 0, 0, 0]))
        0.6666666666666666
    """
    return _specificity(confusion_counts(prediction, reference), both_empty)


def pixel_accuracy(prediction: np.ndarray, reference: np.ndarray) -> float:
    """Fraction of voxels classified correctly ``(TP + TN) / N``.

    Empty inputs:
        Empty masks are ordinary. Zero-size arrays raise :class:`~mbench.errors.MbenchError`.

    Example:
        >>> import numpy as np
        >>> pixel_accuracy(np.array([1, 1, 0, 0]), np.array([1, 0, 0, 0]))
        0.75
    """
    return _accuracy(confusion_counts(prediction, reference), 1.0)


def pooled_overlap(metric: str, predictions: Iterable[np.ndarray], references: Iterable[np.ndarray], *,
                   both_empty: float = 1.0) -> float:
    """An overlap metric over a whole data set, from confusion counts summed over cases ("pooled" / "global").

    Large cases weigh more than in a per-case mean; empty cases contribute only true negatives.

    Empty inputs:
        The undefined case (e.g. no foreground in any case for Dice) gives ``both_empty``; no cases raises.

    Example:
        >>> import numpy as np
        >>> preds = [np.array([1, 1, 0]), np.array([0, 0, 0])]
        >>> refs = [np.array([1, 0, 0]), np.array([0, 0, 1])]
        >>> pooled_overlap("dice", preds, refs)
        0.5
    """
    total = np.zeros(4, dtype=np.int64)
    n = 0
    for p, r in zip(predictions, references, strict=True):
        total += np.asarray(confusion_counts(p, r), dtype=np.int64)
        n += 1
    if n == 0:
        raise MbenchError("pooled overlap over zero cases", expected="at least one case", found="none")
    return overlap_from_counts(metric, tuple(int(x) for x in total), both_empty=both_empty)  # type: ignore[arg-type]
