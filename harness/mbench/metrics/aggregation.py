"""Aggregate per-case scores without dropping anything silently: every aggregate carries its denominators.

Example:
    >>> agg = aggregate([1.0, 3.0, float("inf"), float("nan")], worst=10.0)
    >>> agg.mean, agg.n, agg.n_valid, agg.n_nan, agg.n_worst_case_filled
    (4.666666666666667, 4, 3, 1, 1)
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Literal

import numpy as np

from mbench.errors import MbenchError

__all__ = ["Aggregate", "aggregate"]


@dataclass(frozen=True)
class Aggregate:
    """Summary of per-case values with their denominators.

    Attributes:
        n: number of values given.
        n_valid: values that entered the statistics (after worst-case filling).
        n_nan: values that were ``nan`` on input (excluded unless ``nan_policy="worst"``).
        n_worst_case_filled: values replaced by the worst-case value (``inf`` always when ``worst`` is given, and
            ``nan`` with ``nan_policy="worst"``).
    """

    mean: float
    median: float
    std: float
    n: int
    n_valid: int
    n_nan: int
    n_worst_case_filled: int

    def as_dict(self) -> dict[str, float | int]:
        """Plain dict, for result files."""
        return asdict(self)


def aggregate(values: Iterable[float], *, worst: float | None = None,
              nan_policy: Literal["exclude", "worst", "propagate"] = "exclude") -> Aggregate:
    """Mean, median and (population) std of per-case values, with n, n_valid, n_nan and n_worst_case_filled.

    Args:
        worst: the task's worst-case value (e.g. the image diagonal in mm for HD95, 0.0 for Dice). When given,
            ``+inf`` and ``-inf`` values are replaced by it and counted in ``n_worst_case_filled``; when not given,
            infinite values stay and make the mean infinite (never dropped).
        nan_policy: ``"exclude"`` leaves ``nan`` out of the statistics (counted in ``n_nan``), ``"worst"``
            replaces them by ``worst`` (counted in both ``n_nan`` and ``n_worst_case_filled``), ``"propagate"``
            keeps them (the statistics become ``nan``).

    Empty inputs:
        No values, or none valid: the statistics are ``nan`` and the counts say why.

    Example:
        >>> aggregate([0.5, float("nan")], worst=0.0, nan_policy="worst").mean
        0.25
    """
    if nan_policy not in ("exclude", "worst", "propagate"):
        raise MbenchError(f"invalid nan_policy {nan_policy!r}", expected="'exclude', 'worst' or 'propagate'",
                          found=repr(nan_policy))
    if nan_policy == "worst" and worst is None:
        raise MbenchError("nan_policy='worst' needs a worst-case value", expected="worst=<value>", found="worst=None",
                          fix="pass the task's declared worst-case value")
    arr = np.asarray(list(values), dtype=np.float64).ravel()
    n = int(arr.size)
    is_nan = np.isnan(arr)
    n_nan = int(is_nan.sum())
    filled = 0
    if worst is not None:
        is_inf = np.isinf(arr)
        filled += int(is_inf.sum())
        arr = np.where(is_inf, float(worst), arr)
    if nan_policy == "worst":
        arr = np.where(is_nan, float(worst), arr)  # type: ignore[arg-type]
        filled += n_nan
    elif nan_policy == "exclude":
        arr = arr[~is_nan]
    if arr.size == 0:
        return Aggregate(math.nan, math.nan, math.nan, n, 0, n_nan, filled)
    with np.errstate(invalid="ignore"):
        return Aggregate(float(np.mean(arr)), float(np.median(arr)), float(np.std(arr)), n, int(arr.size), n_nan,
                         filled)
