"""Ranking schemes as challengeR defines them (Wiesenfarth et al., Sci Rep 2021).

* ``aggregate_then_rank``: aggregate each model's scores over cases (mean or median), then rank the aggregates.
* ``rank_then_aggregate``: rank the models on every case, aggregate each model's ranks (mean or median), then
  rank the aggregated ranks (smaller is better).
* ``test_then_rank``: one-sided paired tests for every ordered pair of models (see
  :mod:`mbench.stats.significance`); a model's score is the share of other models it is significantly better
  than, and models with equal shares tie. Non-significant differences therefore produce ties.

Ranks are 1 = best, ties get the smallest rank of their group (challengeR's default ``ties.method = "min"``:
scores 0.9, 0.8, 0.8, 0.7 rank 1, 2, 2, 4). Missing and NaN cells are filled with the metric's declared worst
value before ranking, and :attr:`Ranking.n_filled` counts the fill per model. challengeR's test-then-rank
defaults to no correction; mbench defaults to Holm (pass ``correction="none"`` for challengeR's numbers).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import stats

from mbench.errors import MbenchError, did_you_mean
from mbench.stats.corrections import resolve_correction
from mbench.stats.matrix import ScoreMatrix
from mbench.stats.significance import adjust_offdiagonal, one_sided_pvalues, reachability_warnings

__all__ = ["Ranking", "RANKING_SCHEMES", "aggregate_then_rank", "rank_then_aggregate", "test_then_rank",
           "rank_models", "min_rank", "AGGREGATES"]

AGGREGATES = ("mean", "median")


def min_rank(scores: np.ndarray, higher_is_better: bool = True) -> np.ndarray:
    """Ranks along the last axis, 1 = best, ties share the smallest rank (R's ``ties.method = "min"``).

    Example:
        >>> min_rank(np.array([0.9, 0.8, 0.8, 0.7])).tolist()
        [1, 2, 2, 4]
        >>> min_rank(np.array([[3.0, 1.0, 2.0]]), higher_is_better=False).tolist()
        [[3, 1, 2]]
    """
    s = np.asarray(scores, dtype=float)
    return stats.rankdata(-s if higher_is_better else s, method="min", axis=-1).astype(int)


@dataclass(frozen=True)
class Ranking:
    """A ranking of models.

    Attributes:
        scheme: ``aggregate_then_rank``, ``rank_then_aggregate`` or ``test_then_rank``.
        models: model labels.
        scores: per model, what was ranked: the aggregate score (metric units), the aggregated case rank, or the
            share of other models it is significantly better than.
        ranks: per model, 1 = best; ties share the smallest rank.
        score_name: what ``scores`` are, in words.
        n_cases: cases ranked on.
        n_filled: per model, cells filled with the metric's worst value.
        options: the scheme's settings (aggregate, test, alpha, correction).
        warnings: e.g. that too few cases make every test-based difference non-significant.
    """

    scheme: str
    models: tuple[str, ...]
    scores: np.ndarray
    ranks: np.ndarray
    score_name: str
    n_cases: int
    n_filled: dict[str, int] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)
    metric: str = "score"
    warnings: tuple[str, ...] = ()

    def order(self) -> list[str]:
        """Models from best to worst (ties keep the input order)."""
        return [self.models[i] for i in np.argsort(self.ranks, kind="stable")]

    def rank_of(self, model: str) -> int:
        """The rank of one model."""
        return int(self.ranks[self.models.index(model)])

    def to_dict(self) -> dict[str, Any]:
        """Plain data (JSON-ready), models listed best first."""
        rows = [{"model": m, "rank": self.rank_of(m), "score": float(self.scores[self.models.index(m)]),
                 "n_filled": int(self.n_filled.get(m, 0))} for m in self.order()]
        return {"scheme": self.scheme, "score_name": self.score_name, "metric": self.metric,
                "n_cases": self.n_cases, "options": dict(self.options), "rows": rows, "warnings": list(self.warnings)}


def _aggregate(values: np.ndarray, how: str, axis: int) -> np.ndarray:
    if how not in AGGREGATES:
        raise MbenchError(f"unknown aggregate {how!r}", expected=", ".join(AGGREGATES))
    return np.mean(values, axis=axis) if how == "mean" else np.median(values, axis=axis)


def _filled(matrix: ScoreMatrix) -> ScoreMatrix:
    filled = matrix.fill_worst()
    if filled.shape[0] == 0 or filled.shape[1] == 0:
        raise MbenchError("ranking needs at least one case and one model", found=f"shape {filled.shape}")
    return filled


def aggregate_then_rank(matrix: ScoreMatrix, aggregate: str = "mean") -> Ranking:
    """Aggregate each model over cases, then rank the aggregates.

    Example:
        >>> m = ScoreMatrix.from_columns({"a": [0.9, 0.1], "b": [0.6, 0.5], "c": [0.6, 0.4]})
        >>> r = aggregate_then_rank(m)
        >>> r.ranks.tolist(), r.scores.round(2).tolist()
        ([2, 1, 2], [0.5, 0.55, 0.5])
    """
    filled = _filled(matrix)
    agg = _aggregate(filled.values, aggregate, axis=0)
    return Ranking("aggregate_then_rank", filled.models, agg, min_rank(agg, filled.higher_is_better),
                   f"{aggregate} {filled.metric}", filled.shape[0], dict(filled.n_filled),
                   {"aggregate": aggregate}, filled.metric)


def rank_then_aggregate(matrix: ScoreMatrix, aggregate: str = "mean") -> Ranking:
    """Rank models on every case (ties: min), aggregate each model's ranks, rank the aggregates.

    Example:
        >>> m = ScoreMatrix.from_columns({"a": [0.9, 0.1], "b": [0.6, 0.5], "c": [0.6, 0.4]})
        >>> r = rank_then_aggregate(m)  # case ranks: a 1, 3; b 2, 1; c 2, 2
        >>> r.scores.tolist(), r.ranks.tolist()
        ([2.0, 1.5, 2.0], [2, 1, 2])
    """
    filled = _filled(matrix)
    case_ranks = min_rank(filled.values, filled.higher_is_better)
    agg = _aggregate(case_ranks.astype(float), aggregate, axis=0)
    return Ranking("rank_then_aggregate", filled.models, agg, min_rank(agg, higher_is_better=False),
                   f"{aggregate} rank", filled.shape[0], dict(filled.n_filled), {"aggregate": aggregate},
                   filled.metric)


def test_then_rank(matrix: ScoreMatrix, test: str = "wilcoxon", alpha: float = 0.05,
                   correction: str = "holm") -> Ranking:
    """Rank by the share of other models each model is significantly better than (one-sided paired tests).

    Example:
        >>> m = ScoreMatrix.from_columns({"a": np.linspace(0.8, 0.9, 20), "b": np.linspace(0.6, 0.7, 20),
        ...                               "c": np.linspace(0.6, 0.7, 20) - 0.001})
        >>> r = test_then_rank(m)
        >>> r.scores.tolist(), r.ranks.tolist()
        ([1.0, 0.5, 0.0], [1, 2, 3])
    """
    correction = resolve_correction(correction)
    filled = _filled(matrix)
    k = filled.shape[1]
    if k < 2:
        raise MbenchError("test-based ranking needs at least two models", found=", ".join(filled.models))
    q = adjust_offdiagonal(one_sided_pvalues(filled.oriented(), test), correction)
    share = (np.nan_to_num(q, nan=1.0) < alpha).sum(axis=1) / (k - 1)
    return Ranking("test_then_rank", filled.models, share, min_rank(share), "share of significant wins",
                   filled.shape[0], dict(filled.n_filled),
                   {"test": test, "alpha": alpha, "correction": correction}, filled.metric,
                   tuple(reachability_warnings(filled.shape[0], k, test, alpha, correction)))


test_then_rank.__test__ = False  # type: ignore[attr-defined]  # not a pytest test when imported into tests

#: scheme id -> ranking function
RANKING_SCHEMES: dict[str, Callable[..., Ranking]] = {
    "aggregate_then_rank": aggregate_then_rank,
    "rank_then_aggregate": rank_then_aggregate,
    "test_then_rank": test_then_rank,
}


def rank_models(matrix: ScoreMatrix, scheme: str = "aggregate_then_rank", **options: Any) -> Ranking:
    """Rank with a named scheme; ``options`` go to the scheme (``aggregate``; or ``test``, ``alpha``,
    ``correction``).

    Example:
        >>> m = ScoreMatrix.from_columns({"a": [0.9, 0.8, 0.1], "b": [0.7, 0.75, 0.7]})
        >>> rank_models(m, "aggregate_then_rank").order(), rank_models(m, aggregate="median").order()
        (['b', 'a'], ['a', 'b'])
    """
    if scheme not in RANKING_SCHEMES:
        raise did_you_mean("ranking scheme", scheme, RANKING_SCHEMES,
                           fix=f"use one of: {', '.join(RANKING_SCHEMES)}")
    try:
        return RANKING_SCHEMES[scheme](matrix, **options)
    except TypeError as exc:
        raise MbenchError(f"bad options for ranking scheme {scheme}: {exc}",
                          expected="aggregate=mean|median" if scheme != "test_then_rank"
                          else "test=, alpha=, correction=") from None
