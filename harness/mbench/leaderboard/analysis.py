"""The statistics behind each ranked table, from :mod:`mbench.stats`.

A task is shown in *views*. Holdout tasks have one (``test``): per-case scores, averaged over seeds
per case, compared case-paired. Active-learning tasks have two: ``final``, the scores at the largest
labelled-set size every entry reached, and ``aulc``, the area under each seed's learning curve over
the budgets all entries share, compared paired on seeds. Score matrices come from the results store
through :func:`mbench.stats.load_score_matrix` and :func:`mbench.stats.load_learning_curves`, the
same selection ``mbench compare`` makes, so the leaderboard and the terminal agree.

Per view and metric: mean and median with bootstrap intervals (:func:`mbench.stats.summarise_models`,
on scores whose missing and undefined cells are filled with the metric's worst value, as the ranking
uses them). For the ranking metric: the configured ranking scheme, the significance map, the tiers
(1 + the number of entries significantly better than the entry, so entries nobody beats share tier
1) and bootstrap rank stability with Kendall's tau.

Example:
    >>> import tempfile
    >>> from pathlib import Path
    >>> from mbench.leaderboard.collect import collect_runs
    >>> from mbench.leaderboard.config import BootstrapSpec, RankingSpec
    >>> from mbench.leaderboard.demo import write_demo_results
    >>> root = Path(tempfile.mkdtemp())
    >>> _ = write_demo_results(root, n_cases=20, al_models=(), holdout_models=3, unofficial=False)
    >>> entries = collect_runs(root)[0]["demo-seg"]
    >>> view = analyse_task(root, "demo-seg", entries, ["dice"], RankingSpec(), BootstrapSpec(resamples=100))[0]
    >>> view.key, view.labels, view.metrics["dice"]["model-03"].n_filled
    ('test', ['model-01', 'model-02', 'model-03'], 3)
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from mbench.errors import MbenchError
from mbench.leaderboard.collect import RunEntry
from mbench.leaderboard.config import BootstrapSpec, RankingSpec
from mbench.metrics.registry import get_metric
from mbench.stats import (
    LearningCurve,
    Ranking,
    RankStability,
    ScoreMatrix,
    SignificanceMap,
    aulc,
    bootstrap_ranking,
    load_learning_curves,
    load_score_matrix,
    min_attainable_p,
    rank_models,
    significance_map,
    summarise_models,
)

__all__ = ["MetricSummary", "ViewAnalysis", "analyse_task", "learning_curves"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MetricSummary:
    """One entry's numbers for one metric in one view (after the worst-value fill)."""

    mean: float
    median: float
    ci_low: float
    ci_high: float
    statistic: str
    n: int
    n_valid: int
    n_missing: int
    n_nan: int
    n_filled: int


@dataclass
class ViewAnalysis:
    """Everything a ranked table and its plots need, entries ordered best first."""

    key: str
    title: str
    note: str
    unit: str
    labels: list[str]
    ranks: dict[str, int]
    scores: dict[str, float]
    score_name: str
    tiers: dict[str, int]
    metrics: dict[str, dict[str, MetricSummary]]
    significance: SignificanceMap | None = None
    stability: RankStability | None = None
    test: str = ""
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _relabel(matrix: ScoreMatrix, labels: dict[str, str]) -> ScoreMatrix:
    """Rename the matrix columns from the loader's labels to the leaderboard's entry labels (via run ids)."""
    models = tuple(labels[matrix.runs[m]] for m in matrix.models)
    return replace(matrix, models=models, runs={labels[r]: r for r in matrix.runs.values()})


def _summaries(matrix: ScoreMatrix, statistic: str, boot: BootstrapSpec) -> dict[str, MetricSummary]:
    filled = matrix.fill_worst()
    missing, nan = matrix.n_missing(), matrix.n_nan()
    out = {}
    for s in summarise_models(filled, n_boot=boot.resamples, confidence=boot.ci, seed=boot.seed):
        ci = s.median if statistic == "median" else s.mean
        out[s.model] = MetricSummary(s.mean.estimate, s.median.estimate, ci.low, ci.high, statistic,
                                     n=filled.shape[0], n_valid=filled.shape[0] - missing[s.model] - nan[s.model],
                                     n_missing=missing[s.model], n_nan=nan[s.model],
                                     n_filled=filled.n_filled.get(s.model, 0))
    return out


def _power_warning(n: int, k: int, test: str, ranking: RankingSpec, unit: str) -> str | None:
    """Say so when no one-sided comparison can survive the correction at this n."""
    if n < 2 or k < 2:
        return None
    min_p = min_attainable_p(test, n, alternative="greater", **({"mode": "approx"} if test == "wilcoxon" else {}))
    m = k * (k - 1)
    needed = ranking.alpha / m if ranking.correction in ("holm", "bonferroni") else ranking.alpha
    if min_p >= needed:
        return (f"With {n} {unit}s the one-sided {test} test cannot reach p < {needed:.3g} (the smallest attainable "
                f"p is {min_p:.3g}), which the {ranking.correction} correction over {m} ordered pairs needs: no "
                f"difference in this view can be significant, and equal tiers here say nothing.")
    return None


def _rank_view(key: str, title: str, note: str, matrices: dict[str, ScoreMatrix], metrics: Sequence[str],
               ranking: RankingSpec, boot: BootstrapSpec) -> ViewAnalysis:
    primary = matrices[metrics[0]]
    unit = primary.unit
    seed_units = unit == "seed"
    test = ranking.seed_test if seed_units else ranking.test
    options = ranking.options(seed_units)
    k, n = len(primary.models), primary.shape[0]
    warnings: list[str] = []
    sig = stab = None
    result: Ranking | None = None
    if k >= 2:
        if n >= 2:  # the bootstrap ranks the full data too
            stab = bootstrap_ranking(primary, ranking.scheme, n_boot=boot.resamples, seed=boot.seed, **options)
            result = stab.ranking
        else:
            warnings.append(f"Only one {unit}: no bootstrap rank stability.")
    if result is None and (k >= 2 or ranking.scheme != "test_then_rank"):
        result = rank_models(primary, ranking.scheme, **options)
    if result is not None:
        ranks = {m: result.rank_of(m) for m in result.models}
        scores = {m: float(result.scores[i]) for i, m in enumerate(result.models)}
        score_name = result.score_name
        mean = primary.fill_worst().oriented().mean(axis=0)
        order = sorted(result.models, key=lambda m: (ranks[m], -mean[primary.index(m)]))
    else:
        only = primary.models[0]
        ranks, scores, score_name, order = {only: 1}, {only: 1.0}, "only entry", [only]
    tiers = {m: 1 for m in order}
    if k >= 2:
        sig = significance_map(primary, test=test, alpha=ranking.alpha, correction=ranking.correction)
        tiers = {m: 1 + int(sig.significant[:, j].sum()) for j, m in enumerate(sig.models)}
        order = sorted(order, key=lambda m: (ranks[m], tiers[m]))  # stable: mean order within equal (rank, tier)
        sig = sig.reorder(order)
        if warning := _power_warning(n, k, test, ranking, unit):
            warnings.append(warning)
    metric_stats = {m: _summaries(matrices[m], ranking.aggregate, boot) for m in metrics}
    filled = {label: s.n_filled for label, s in metric_stats[metrics[0]].items() if s.n_filled}
    if filled:
        warnings.append(f"Missing or undefined {unit} scores filled with the worst value of {metrics[0]} "
                        f"({get_metric(metrics[0]).worst:g}): " + ", ".join(f"{k}: {v}" for k, v in filled.items())
                        + ".")
    return ViewAnalysis(key, title, note, unit, order, ranks, scores, score_name, tiers, metric_stats, sig, stab,
                        test, warnings, list(primary.notes))


def learning_curves(results: Path, task: str, entries: Sequence[RunEntry], metric: str) -> dict[str, LearningCurve]:
    """Entry label -> learning curve (seeds x labelled-set sizes) of an active-learning task."""
    labels = {e.run_id: e.label for e in entries}
    curves = load_learning_curves(task, [e.run_id for e in entries], metric, root=results)
    return {labels[c.run]: replace(c, model=labels[c.run]) for c in curves.values()}


def _aulc_matrix(curves: dict[str, LearningCurve], metric: str) -> tuple[ScoreMatrix, list[int]]:
    common = sorted(set.intersection(*(set(c.n_labelled) for c in curves.values())))
    if len(common) < 2:
        raise MbenchError(f"the learning curves of {metric} share fewer than two labelled-set sizes",
                          found="; ".join(f"{k}: {list(c.n_labelled)}" for k, c in curves.items()),
                          fix="compare runs of the same task configuration")
    scores = {}
    for label, c in curves.items():
        cols = [c.n_labelled.index(n) for n in common]
        areas = np.atleast_1d(aulc(common, c.values[:, cols]))
        scores[label] = {f"seed:{s}": float(a) for s, a in zip(c.seeds, areas)}
    spec = get_metric(metric)
    note = f"normalised AULC over {common[0]}..{common[-1]} labelled"
    matrix = ScoreMatrix.from_scores(scores, metric=metric, higher_is_better=spec.higher_is_better, worst=spec.worst,
                                     unit="seed", notes=(note,), runs={k: c.run for k, c in curves.items() if c.run})
    return matrix, common


def analyse_task(results: Path, task: str, entries: Sequence[RunEntry], metrics: Sequence[str],
                 ranking: RankingSpec, boot: BootstrapSpec) -> list[ViewAnalysis]:
    """The views of one task (see the module docstring); ``metrics[0]`` ranks.

    Raises:
        MbenchError: from :mod:`mbench.stats` when the runs cannot be compared (e.g. no shared budget).
    """
    if not entries:
        return []
    labels = {e.run_id: e.label for e in entries}
    run_ids = [e.run_id for e in entries]
    matrices = {m: _relabel(load_score_matrix(task, run_ids, m, root=results), labels) for m in metrics}
    unit = matrices[metrics[0]].unit
    active = any(e.is_active_learning for e in entries)
    if not active:
        note = ("Per-case test scores (averaged over seeds per case when a run has several), compared case-paired."
                if unit == "case" else "Dataset-level scores, one per seed, compared paired on seeds.")
        return [_rank_view("test", "Test set", note, matrices, metrics, ranking, boot)]
    budget = next((re.match(r"n_labelled=(\d+)", n) for n in matrices[metrics[0]].notes
                   if n.startswith("n_labelled=")), None)
    note = (f"Scores at the largest labelled-set size every entry reached ({budget.group(1) if budget else '?'} "
            "labelled). "
            + ("Case scores are averaged over each run's seeds, then compared case-paired."
               if unit == "case" else "Dataset-level scores, compared paired on seeds."))
    views = [_rank_view("final", "At the final labelled-set size", note, matrices, metrics, ranking, boot)]
    aulc_matrices = {}
    common: list[int] = []
    for m in metrics:
        aulc_matrices[m], common = _aulc_matrix(learning_curves(results, task, entries, m), m)
    views.append(_rank_view("aulc", "Area under the learning curve",
                            f"Per seed, the area under the learning curve over {', '.join(map(str, common))} "
                            "labelled, normalised by the size range (so it is in the metric's units); compared "
                            "paired on seeds.", aulc_matrices, metrics, ranking, boot))
    return views
