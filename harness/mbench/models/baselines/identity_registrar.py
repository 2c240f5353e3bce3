"""The identity transform: "initial" alignment, the mandatory first row of a registration leaderboard.

Example:
    >>> import numpy as np
    >>> IdentityRegistrar().register(np.zeros((4, 5)), np.zeros((4, 5))).shape
    (2, 4, 5)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["IdentityRegistrar"]


class IdentityRegistrar:
    """A :class:`~mbench.models.capabilities.Registrar` returning a zero displacement (no registration)."""

    def fit(self, *args, **kwargs) -> dict:
        """Nothing to train."""
        return {"n_parameters": 0}

    def register(self, moving: np.ndarray, fixed: np.ndarray, *, moving_labels: np.ndarray | None = None,
                 fixed_labels: np.ndarray | None = None, spacing: Sequence[float] | None = None) -> np.ndarray:
        """A zero field (ndim, *spatial) on the fixed grid."""
        shape = np.asarray(fixed).shape
        return np.zeros((len(shape), *shape), dtype=np.float32)
