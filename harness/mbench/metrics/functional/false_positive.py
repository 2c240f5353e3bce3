"""False positives on their own: for cases whose reference may be empty (paper 1's "FP out of 7" stroke-free cases).

Overlap metrics are undefined or trivially 0 when the reference is empty; these two measure what a
prediction adds outside the reference, so a task can score lesion-free cases separately.

Example:
    >>> import numpy as np
    >>> p, r = np.array([1, 1, 0, 0]), np.zeros(4)
    >>> false_positive_case(p, r), false_positive_volume(p, r, spacing=(2.0,))
    (1.0, 4.0)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from mbench.metrics.functional._checks import binary_pair

__all__ = ["false_positive_case", "false_positive_volume"]


def false_positive_case(prediction: np.ndarray, reference: np.ndarray) -> float:
    """1.0 when any voxel is predicted outside the reference, else 0.0 (mean over cases = share of FP cases).

    Empty inputs:
        An empty prediction scores 0.0 whatever the reference; zero-size arrays score 0.0.

    Example:
        >>> import numpy as np
        >>> false_positive_case(np.array([0, 1]), np.array([0, 1])), false_positive_case(np.array([1, 0]), np.zeros(2))
        (0.0, 1.0)
    """
    pred, ref = binary_pair(prediction, reference)
    return float(np.any(pred & ~ref))


def false_positive_volume(prediction: np.ndarray, reference: np.ndarray, *,
                          spacing: Sequence[float] | None = None) -> float:
    """Volume (mm^3, from the voxel ``spacing``; voxels when None) predicted outside the reference.

    Empty inputs:
        An empty prediction scores 0.0; zero-size arrays score 0.0.

    Example:
        >>> import numpy as np
        >>> false_positive_volume(np.ones((2, 2)), np.eye(2), spacing=(0.5, 2.0))
        2.0
    """
    pred, ref = binary_pair(prediction, reference)
    voxel = 1.0 if spacing is None else float(np.prod(np.asarray(spacing, dtype=float)))
    return float(np.count_nonzero(pred & ~ref)) * voxel
