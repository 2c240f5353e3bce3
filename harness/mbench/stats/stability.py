"""Bootstrap rank stability, as challengeR's ``bootstrap`` + ``stability`` + ``rankingHeatmap``.

Cases are resampled with replacement ``n_boot`` times (all models together), the ranking scheme is applied
to every resample, and the resampled rankings are compared with the full-data ranking: the distribution of
each model's rank, how often it wins, and Kendall's tau (tau-b, as R's ``cor(method = "kendall")``) between
the full-data ranking and each bootstrap ranking. Every scheme runs vectorised over all resamples:
aggregate means are one matrix product with the case multiplicities, medians are taken on the resampled
array in chunks, and test-based ranking uses the resample-aware tests of :mod:`mbench.stats.batched`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mbench.errors import MbenchError, did_you_mean
from mbench.stats.bootstrap import bootstrap_counts, bootstrap_indices, resampled_statistic
from mbench.stats.corrections import resolve_correction
from mbench.stats.matrix import ScoreMatrix
from mbench.stats.ranking import RANKING_SCHEMES, Ranking, min_rank, rank_models
from mbench.stats.significance import adjust_offdiagonal, one_sided_pvalues_batch

__all__ = ["RankStability", "bootstrap_ranking", "kendall_tau"]


def kendall_tau(reference: np.ndarray, rankings: np.ndarray) -> np.ndarray | float:
    """Kendall's tau-b between one ranking and one or many others (rows), vectorised.

    NaN when either ranking is constant (all tied). Matches ``scipy.stats.kendalltau`` (tau-b).

    Example:
        >>> kendall_tau(np.array([1, 2, 3, 4]), np.array([[1, 2, 3, 4], [4, 3, 2, 1], [1, 3, 2, 4]])).tolist()
        [1.0, -1.0, 0.6666666666666666]
    """
    ref = np.asarray(reference, dtype=float)
    r = np.asarray(rankings, dtype=float)
    one = r.ndim == 1
    r2 = r[None, :] if one else r
    iu, ju = np.triu_indices(ref.size, 1)
    s_ref = np.sign(ref[iu] - ref[ju])
    s = np.sign(r2[:, iu] - r2[:, ju])
    num = s @ s_ref
    den = np.sqrt(np.count_nonzero(s_ref) * np.count_nonzero(s, axis=1).astype(float))
    with np.errstate(invalid="ignore", divide="ignore"):
        tau = np.where(den > 0, num / den, np.nan)
    return float(tau[0]) if one else tau


@dataclass(frozen=True)
class RankStability:
    """The full-data ranking and the rankings of ``n_boot`` case resamples.

    Attributes:
        ranking: the ranking on all cases.
        boot_ranks: (n_boot, K) int ranks per resample (1 = best, ties min).
        boot_scores: (n_boot, K) the ranked score per resample (aggregate, mean rank or share of wins).
        kendall_tau: (n_boot,) Kendall's tau-b between ``ranking`` and each resample's ranking.
        seed: bootstrap seed.
    """

    ranking: Ranking
    boot_ranks: np.ndarray
    boot_scores: np.ndarray
    kendall_tau: np.ndarray
    seed: int | None = 0
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def models(self) -> tuple[str, ...]:
        """Model labels (columns of ``boot_ranks``)."""
        return self.ranking.models

    @property
    def n_boot(self) -> int:
        """Number of resamples."""
        return int(self.boot_ranks.shape[0])

    def rank_counts(self) -> np.ndarray:
        """(K, K) counts: entry [m, r - 1] is how many resamples put model m at rank r."""
        k = len(self.models)
        flat = (np.arange(k)[None, :] * k + (self.boot_ranks - 1)).ravel()
        return np.bincount(flat, minlength=k * k).reshape(k, k)

    def rank_frequencies(self) -> dict[str, list[float]]:
        """Per model, the share of resamples at rank 1, 2, ..., K (a rank distribution, for the rank heatmap)."""
        freq = self.rank_counts() / self.n_boot
        return {m: freq[i].tolist() for i, m in enumerate(self.models)}

    def winner_frequency(self) -> dict[str, float]:
        """Per model, the share of resamples in which it ranks first (ties included)."""
        return {m: float(np.mean(self.boot_ranks[:, i] == 1)) for i, m in enumerate(self.models)}

    def rank_quantiles(self, q: tuple[float, ...] = (0.025, 0.5, 0.975)) -> dict[str, list[float]]:
        """Per model, quantiles of its bootstrap rank."""
        qs = np.quantile(self.boot_ranks, q, axis=0)
        return {m: qs[:, i].tolist() for i, m in enumerate(self.models)}

    def tau_summary(self) -> dict[str, float]:
        """Mean, median, 2.5 % and 97.5 % quantiles and minimum of Kendall's tau, and how many were undefined."""
        t = self.kendall_tau[~np.isnan(self.kendall_tau)]
        if t.size == 0:
            return {"mean": float("nan"), "median": float("nan"), "q025": float("nan"), "q975": float("nan"),
                    "min": float("nan"), "n_undefined": int(self.kendall_tau.size)}
        return {"mean": float(t.mean()), "median": float(np.median(t)), "q025": float(np.quantile(t, 0.025)),
                "q975": float(np.quantile(t, 0.975)), "min": float(t.min()),
                "n_undefined": int(self.kendall_tau.size - t.size)}

    def to_dict(self) -> dict[str, Any]:
        """Plain data (JSON-ready): ranking, rank frequencies and quantiles, winner frequency, tau summary."""
        return {"ranking": self.ranking.to_dict(), "n_boot": self.n_boot, "seed": self.seed,
                "rank_frequencies": self.rank_frequencies(), "rank_quantiles": self.rank_quantiles(),
                "winner_frequency": self.winner_frequency(), "kendall_tau": self.tau_summary(),
                "options": dict(self.options)}


def _boot_scores(filled: ScoreMatrix, scheme: str, idx: np.ndarray, options: dict[str, Any]) -> np.ndarray:
    if scheme == "aggregate_then_rank":
        return resampled_statistic(filled.values, options.get("aggregate", "mean"), idx)
    if scheme == "rank_then_aggregate":
        case_ranks = min_rank(filled.values, filled.higher_is_better).astype(float)
        return resampled_statistic(case_ranks, options.get("aggregate", "mean"), idx)
    counts = bootstrap_counts(filled.shape[0], indices=idx)
    p = one_sided_pvalues_batch(filled.oriented(), counts, options.get("test", "wilcoxon"))
    q = adjust_offdiagonal(p, resolve_correction(options.get("correction", "holm")))
    return (np.nan_to_num(q, nan=1.0) < options.get("alpha", 0.05)).sum(axis=2) / (filled.shape[1] - 1)


def bootstrap_ranking(matrix: ScoreMatrix, scheme: str = "aggregate_then_rank", *, n_boot: int = 1000,
                      seed: int | None = 0, **options: Any) -> RankStability:
    """Rank on all cases and on ``n_boot`` case resamples; compare the rankings.

    Args:
        matrix: scores (missing and NaN cells are filled with the metric's worst value and counted).
        scheme: a :data:`mbench.stats.RANKING_SCHEMES` id.
        n_boot: number of resamples.
        seed: bootstrap seed.
        **options: scheme options (``aggregate``; or ``test``, ``alpha``, ``correction``).

    Example:
        >>> rng = np.random.default_rng(0)
        >>> m = ScoreMatrix.from_columns({f"m{i}": rng.normal(i / 2, 1, 50) for i in range(4)})
        >>> st = bootstrap_ranking(m, n_boot=200)
        >>> st.boot_ranks.shape, st.ranking.order()[0], -1 <= st.tau_summary()["median"] <= 1
        ((200, 4), 'm3', True)
    """
    if scheme not in RANKING_SCHEMES:
        raise did_you_mean("ranking scheme", scheme, RANKING_SCHEMES)
    ranking = rank_models(matrix, scheme, **options)
    filled = matrix.fill_worst()
    if filled.shape[0] < 2:
        raise MbenchError("bootstrapping a ranking needs at least two cases", found=f"{filled.shape[0]} case",
                          fix="rank without bootstrap, or score more cases")
    idx = bootstrap_indices(filled.shape[0], n_boot, seed)
    scores = _boot_scores(filled, scheme, idx, options)
    if scheme == "aggregate_then_rank":
        ranks = min_rank(scores, filled.higher_is_better)
    elif scheme == "rank_then_aggregate":
        ranks = min_rank(scores, higher_is_better=False)
    else:
        ranks = min_rank(scores)
    return RankStability(ranking, ranks, scores, np.asarray(kendall_tau(ranking.ranks, ranks)), seed,
                         {"scheme": scheme, **ranking.options})
