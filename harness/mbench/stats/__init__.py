"""Case-paired statistics for comparing models: tests, corrections, bootstrap CIs, effect sizes, ranking.

Everything works on per-case scores. The central container is :class:`ScoreMatrix` (units x models, where a
unit is a case, or a seed for seed-level comparisons); :func:`load_score_matrix` builds one from a results
folder. The public API, by concept:

* matrix / pairing: :class:`ScoreMatrix`, :class:`PairedSample`, :func:`pair_scores`
* registration pairs -> case units: :func:`aggregate_pair_scores` (:mod:`~mbench.stats.pair_units`)
* hypothesis tests (wrapping scipy): :data:`TESTS`, :class:`TestSpec`, :class:`TestOutcome`, :func:`run_test`,
  :func:`min_attainable_p`
* multiple-comparison corrections (through statsmodels): :data:`CORRECTIONS`, :func:`adjust_pvalues`
* bootstrap: :class:`ConfidenceInterval`, :func:`bootstrap_indices`, :func:`bootstrap_counts`,
  :func:`bootstrap_ci`
* effect sizes: :class:`Effect`, :func:`mean_difference`, :func:`rank_biserial_paired`,
  :func:`rank_biserial_unpaired`
* comparisons: :class:`ComparisonResult`, :class:`ModelSummary`, :class:`PairwiseComparison`,
  :func:`compare_pair`, :func:`compare_models`, :func:`summarise_models`
* ranking (challengeR's schemes): :class:`Ranking`, :data:`RANKING_SCHEMES`, :func:`aggregate_then_rank`,
  :func:`rank_then_aggregate`, :func:`test_then_rank`, :func:`rank_models`
* significance map: :class:`SignificanceMap`, :func:`significance_map`
* rank stability: :class:`RankStability`, :func:`bootstrap_ranking`, :func:`kendall_tau`
* subgroups (unpaired, e.g. cortical vs subcortical cases): :func:`compare_subgroups`,
  :func:`load_subgroup_scores`, :func:`subgroup_comparison`
* active learning: :class:`LearningCurve`, :class:`LearningCurveComparison`, :func:`aulc`,
  :func:`compare_learning_curves`
* results store: :class:`RunInfo`, :func:`find_runs`, :func:`select_runs`, :func:`load_score_matrix`,
  :func:`load_learning_curves`

Conventions: ``alternative`` is scipy's (``two-sided``, ``greater``, ``less``) and reads "first minus second";
ranks are 1 = best with ties given the minimum rank (R's ``ties.method = "min"``, as in challengeR); every
random step takes a ``seed`` (default 0, so results are reproducible). Only numpy and scipy are imported
eagerly; statsmodels is imported on the first correction.

Example:
    >>> import numpy as np
    >>> from mbench.stats import ScoreMatrix, compare_models, rank_models
    >>> rng = np.random.default_rng(0)
    >>> base = rng.uniform(0.6, 0.9, size=40)
    >>> m = ScoreMatrix.from_columns({"a": base + 0.05, "b": base, "c": base - 0.001 * rng.random(40)},
    ...                              metric="dice", higher_is_better=True, worst=0.0)
    >>> table = compare_models(m, n_boot=200)
    >>> [(r.a, r.b, r.significant) for r in table.results]
    [('a', 'b', True), ('a', 'c', True), ('b', 'c', True)]
    >>> rank_models(m, "aggregate_then_rank").order()
    ['a', 'b', 'c']
"""

from mbench.stats.bootstrap import ConfidenceInterval, bootstrap_ci, bootstrap_counts, bootstrap_indices
from mbench.stats.comparison import (
    ComparisonResult,
    ModelSummary,
    PairwiseComparison,
    compare_models,
    compare_pair,
    summarise_models,
)
from mbench.stats.corrections import CORRECTIONS, adjust_pvalues
from mbench.stats.effects import Effect, mean_difference, rank_biserial_paired, rank_biserial_unpaired
from mbench.stats.learning_curves import LearningCurve, LearningCurveComparison, aulc, compare_learning_curves
from mbench.stats.loading import RunInfo, find_runs, load_learning_curves, load_score_matrix, select_runs
from mbench.stats.matrix import ScoreMatrix
from mbench.stats.pairing import PairedSample, pair_scores
from mbench.stats.pair_units import aggregate_pair_scores, pair_case_id, split_pair_case_id
from mbench.stats.ranking import (
    RANKING_SCHEMES,
    Ranking,
    aggregate_then_rank,
    rank_models,
    rank_then_aggregate,
    test_then_rank,
)
from mbench.stats.significance import SignificanceMap, significance_map
from mbench.stats.stability import RankStability, bootstrap_ranking, kendall_tau
from mbench.stats.subgroups import compare_subgroups, load_subgroup_scores, subgroup_comparison
from mbench.stats.tests import TESTS, TestOutcome, TestSpec, min_attainable_p, run_test

__all__ = [
    "ScoreMatrix", "PairedSample", "pair_scores",
    "aggregate_pair_scores", "pair_case_id", "split_pair_case_id",
    "TESTS", "TestSpec", "TestOutcome", "run_test", "min_attainable_p",
    "CORRECTIONS", "adjust_pvalues",
    "ConfidenceInterval", "bootstrap_indices", "bootstrap_counts", "bootstrap_ci",
    "Effect", "mean_difference", "rank_biserial_paired", "rank_biserial_unpaired",
    "ComparisonResult", "ModelSummary", "PairwiseComparison", "compare_pair", "compare_models", "summarise_models",
    "Ranking", "RANKING_SCHEMES", "aggregate_then_rank", "rank_then_aggregate", "test_then_rank", "rank_models",
    "SignificanceMap", "significance_map",
    "RankStability", "bootstrap_ranking", "kendall_tau",
    "LearningCurve", "LearningCurveComparison", "aulc", "compare_learning_curves",
    "RunInfo", "find_runs", "select_runs", "load_score_matrix", "load_learning_curves",
    "compare_subgroups", "load_subgroup_scores", "subgroup_comparison",
]
