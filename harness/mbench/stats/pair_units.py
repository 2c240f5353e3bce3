"""Registration pairs share cases, so paired statistics run on cases, not pairs.

Inter-subject registration scores every pair ``(fixed, moving)`` of a set of cases: with 10 cases and all 45 pairs,
each case takes part in 9 pairs, and pair scores are not independent samples. Before a paired test the pair scores
are averaged per case (:func:`aggregate_pair_scores`): with ``how="cases"`` a pair counts for its fixed and for its
moving case (each case's score is the mean over every pair it is in), with ``how="fixed_case"`` for its fixed case
only (disjoint groups of pairs). Score rows name a pair as ``"<fixed>|<moving>"`` (:func:`pair_case_id`); a task
declares the aggregation in its convention profile (``metrics.conventions.pair_units``), and
:func:`mbench.stats.load_score_matrix` (so ``mbench compare`` and the leaderboard) applies it.

Example:
    >>> scores = {pair_case_id("a", "b"): 0.5, pair_case_id("a", "c"): 0.7, pair_case_id("b", "c"): 0.9}
    >>> aggregate_pair_scores(scores, "cases")
    {'a': 0.6, 'b': 0.7, 'c': 0.8}
    >>> aggregate_pair_scores(scores, "fixed_case")
    {'a': 0.6, 'b': 0.9}
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping

import numpy as np

from mbench.errors import MbenchError

__all__ = ["PAIR_SEPARATOR", "aggregate_pair_scores", "pair_case_id", "split_pair_case_id"]

PAIR_SEPARATOR = "|"


def pair_case_id(fixed: str, moving: str) -> str:
    """The case id of a registration pair in score rows: ``"<fixed>|<moving>"``.

    Example:
        >>> pair_case_id("AbdomenCTCT_0001", "AbdomenCTCT_0004")
        'AbdomenCTCT_0001|AbdomenCTCT_0004'
    """
    if PAIR_SEPARATOR in fixed or PAIR_SEPARATOR in moving:
        raise MbenchError("a case id of a registration pair contains the pair separator",
                          expected=f"case ids without {PAIR_SEPARATOR!r}", found=f"{fixed!r}, {moving!r}")
    return f"{fixed}{PAIR_SEPARATOR}{moving}"


def split_pair_case_id(pair: str) -> tuple[str, str]:
    """``(fixed, moving)`` of a pair case id.

    Example:
        >>> split_pair_case_id("a|b")
        ('a', 'b')
    """
    parts = str(pair).split(PAIR_SEPARATOR)
    if len(parts) != 2 or not all(parts):
        raise MbenchError(f"{pair!r} is not a registration pair id", expected="'<fixed>|<moving>'", found=str(pair),
                          fix="pair_units applies to registration tasks whose rows name pairs")
    return parts[0], parts[1]


def aggregate_pair_scores(scores: Mapping[str, float], how: str = "cases") -> dict[str, float]:
    """Per-case means of pair scores (NaN pair scores left out; a case with only NaN pairs gets NaN).

    Args:
        scores: ``{"fixed|moving": score}``.
        how: ``cases`` (a pair counts for both its cases) or ``fixed_case`` (for its fixed case only).
    """
    if how not in ("cases", "fixed_case"):
        raise MbenchError(f"unknown pair aggregation {how!r}", expected="cases or fixed_case")
    buckets: dict[str, list[float]] = defaultdict(list)
    for pair, value in scores.items():
        fixed, moving = split_pair_case_id(pair)
        for case in (fixed, moving) if how == "cases" else (fixed,):
            buckets[case].append(float(value))
    out = {}
    for case in sorted(buckets):
        arr = np.asarray(buckets[case], dtype=float)
        ok = arr[~np.isnan(arr)]
        out[case] = float(ok.mean()) if ok.size else math.nan
    return out
