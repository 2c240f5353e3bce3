"""Pure metric functions on numpy arrays, returning Python floats. Import as ``F``.

Example:
    >>> import numpy as np
    >>> from mbench.metrics import functional as F
    >>> F.dice(np.array([1, 1, 0]), np.array([1, 0, 0]))
    0.6666666666666666
"""

from mbench.metrics.functional.classification import average_precision, mean_average_precision
from mbench.metrics.functional.overlap import dice

__all__ = ["dice", "average_precision", "mean_average_precision"]
