"""Overlap metrics between binary masks of any dimension."""

from __future__ import annotations

import numpy as np

__all__ = ["dice"]


def _binary_pair(prediction: np.ndarray, reference: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    pred, ref = np.asarray(prediction), np.asarray(reference)
    if pred.shape != ref.shape:
        raise ValueError(f"prediction shape {pred.shape} differs from reference shape {ref.shape}; "
                         "resample the prediction onto the reference grid first")
    return pred.astype(bool, copy=False), ref.astype(bool, copy=False)


def dice(prediction: np.ndarray, reference: np.ndarray, *, both_empty: float = 1.0) -> float:
    """Sørensen-Dice coefficient ``2|P∩R| / (|P| + |R|)`` of two binary masks.

    Nonzero values count as foreground.

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
    pred, ref = _binary_pair(prediction, reference)
    total = int(np.count_nonzero(pred)) + int(np.count_nonzero(ref))
    if total == 0:
        return float(both_empty)
    return 2.0 * int(np.count_nonzero(pred & ref)) / total
