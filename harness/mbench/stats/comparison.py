"""Compare models: one pair (:func:`compare_pair`) or every pair of a score matrix (:func:`compare_models`).

Each comparison runs a registered test (Wilcoxon signed-rank by default), computes the test's effect size
(matched-pairs rank-biserial for Wilcoxon, mean difference for t and permutation tests, rank-biserial for
Mann-Whitney) and the mean difference with a bootstrap interval, and says in ``warnings`` when the data
cannot support a significant result or when cases were left out. Over many pairs, p-values are corrected
(Holm by default) and the correction is part of every result.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np

from mbench.errors import MbenchError
from mbench.stats.bootstrap import ConfidenceInterval, bootstrap_ci
from mbench.stats.corrections import adjust_pvalues, resolve_correction
from mbench.stats.effects import Effect, mean_difference, rank_biserial_paired, rank_biserial_unpaired
from mbench.stats.matrix import ScoreMatrix
from mbench.stats.pairing import PairedSample, pair_columns, pair_scores
from mbench.stats.tests import TestOutcome, resolve_test, run_test

# below this many cases (pairs, or per group) no exact two-sided rank test reaches p < 0.05, and a t-test's
# normality assumption cannot be checked: its p-value is flagged as descriptive
SMALL_SAMPLE = 6
_PARAMETRIC = frozenset({"ttest_rel", "welch", "student"})

__all__ = ["ComparisonResult", "ModelSummary", "PairwiseComparison", "compare_pair", "compare_models",
           "summarise_models"]


@dataclass(frozen=True)
class ComparisonResult:
    """One comparison of model ``a`` with model ``b`` (differences read a - b).

    Attributes:
        a: first model.
        b: second model.
        test: test id; ``method`` says exactly which procedure ran.
        method: e.g. ``Wilcoxon signed-rank (exact)``.
        statistic: the test statistic (see :class:`mbench.stats.TestOutcome`).
        p_value: raw p-value.
        p_adjusted: p-value after ``correction`` over the family (equal to ``p_value`` for ``none``).
        correction: correction id (``holm``, ``bonferroni``, ``bh`` or ``none``).
        n: pairs (paired tests) or total observations (unpaired tests).
        alternative: ``two-sided``, ``greater`` (a larger) or ``less``.
        effect: the test's effect size.
        mean_difference: mean of a - b.
        ci: bootstrap interval of the mean difference (None when ``n_boot=0``).
        mean_a: mean score of ``a`` over the compared cases.
        mean_b: mean score of ``b`` over the compared cases.
        alpha: significance level used for ``significant``.
        min_p: smallest attainable raw p-value at this n.
        warnings: why the result may mislead, in words.
        higher_is_better: metric orientation (decides ``better``).
    """

    a: str
    b: str
    test: str
    method: str
    statistic: float
    p_value: float
    p_adjusted: float
    correction: str
    n: int
    alternative: str
    effect: Effect
    mean_difference: float
    ci: tuple[float, float] | None
    mean_a: float
    mean_b: float
    alpha: float = 0.05
    min_p: float = 0.0
    warnings: tuple[str, ...] = ()
    higher_is_better: bool = True
    confidence: float = 0.95

    @property
    def significant(self) -> bool:
        """Adjusted p-value below alpha (False for NaN)."""
        return bool(self.p_adjusted < self.alpha)

    @property
    def better(self) -> str | None:
        """The model the significant difference favours (None when not significant or no direction)."""
        if not self.significant or self.effect.value == 0 or math.isnan(self.effect.value):
            return None
        return self.a if (self.effect.value > 0) == self.higher_is_better else self.b

    def to_dict(self) -> dict[str, Any]:
        """Plain data (JSON-ready), with ``significant`` and ``better``."""
        out = asdict(self)
        out.update(significant=self.significant, better=self.better, warnings=list(self.warnings),
                   ci=list(self.ci) if self.ci is not None else None)
        return out


@dataclass(frozen=True)
class ModelSummary:
    """Per model: how many cases, how many missing or NaN (or filled with the worst value), mean and median with
    bootstrap intervals."""

    model: str
    n: int
    n_missing: int
    n_nan: int
    mean: ConfidenceInterval
    median: ConfidenceInterval
    run: str | None = None
    n_filled: int = 0

    def to_dict(self) -> dict[str, Any]:
        """Plain data (JSON-ready)."""
        return asdict(self)


@dataclass(frozen=True)
class PairwiseComparison:
    """Every pairwise comparison of a set of models, corrected over the family.

    Attributes:
        models: compared models, in order.
        summaries: one :class:`ModelSummary` per model.
        results: one :class:`ComparisonResult` per pair (a before b in ``models`` order).
        warnings: family-level warnings (e.g. no pair can survive the correction).
        notes: how the scores were selected (from the score matrix).
    """

    metric: str
    higher_is_better: bool
    unit: str
    models: tuple[str, ...]
    summaries: tuple[ModelSummary, ...]
    results: tuple[ComparisonResult, ...]
    test: str
    correction: str
    alpha: float
    alternative: str
    warnings: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    task: str | None = None

    def result(self, a: str, b: str) -> ComparisonResult:
        """The comparison of ``a`` with ``b`` (in either stored orientation)."""
        for r in self.results:
            if (r.a, r.b) in ((a, b), (b, a)):
                return r
        raise MbenchError(f"no comparison of {a!r} with {b!r}", expected=", ".join(self.models))

    def to_dict(self) -> dict[str, Any]:
        """Plain data (JSON-ready)."""
        return {"task": self.task, "metric": self.metric, "higher_is_better": self.higher_is_better,
                "unit": self.unit, "models": list(self.models), "test": self.test, "correction": self.correction,
                "alpha": self.alpha, "alternative": self.alternative,
                "summaries": [s.to_dict() for s in self.summaries],
                "results": [r.to_dict() for r in self.results], "warnings": list(self.warnings),
                "notes": list(self.notes)}


def _as_mapping(v: Mapping[str, float] | Sequence[float] | np.ndarray) -> dict[str, float]:
    if isinstance(v, Mapping):
        return {str(k): float(x) for k, x in v.items()}
    return {str(i): float(x) for i, x in enumerate(np.asarray(v, dtype=float).ravel())}


def _unpaired_sample(v: Mapping[str, float] | Sequence[float] | np.ndarray) -> tuple[np.ndarray, int]:
    a = np.asarray(list(v.values()) if isinstance(v, Mapping) else v, dtype=float).ravel()
    keep = ~np.isnan(a)
    return a[keep], int((~keep).sum())


def _result(outcome: TestOutcome, names: tuple[str, str], x: np.ndarray, y: np.ndarray, paired: bool, *,
            alpha: float, n_boot: int, confidence: float, rng: np.random.Generator, higher_is_better: bool,
            notes: list[str]) -> ComparisonResult:
    md = mean_difference(x, y, paired=paired, n_boot=n_boot, confidence=confidence, seed=rng)
    if outcome.test == "wilcoxon":
        effect = rank_biserial_paired(x, y, n_boot=n_boot, confidence=confidence, seed=rng)
    elif outcome.test == "mannwhitney":
        effect = rank_biserial_unpaired(x, y, n_boot=n_boot, confidence=confidence, seed=rng)
    else:
        effect = md
    warnings = list(notes)
    if outcome.note:
        warnings.append(outcome.note)
    if outcome.min_p >= alpha:
        warnings.append(f"with n={outcome.n} the {outcome.method} cannot reach p < {alpha:g} (smallest attainable "
                        f"{outcome.alternative} p = {outcome.min_p:.3g} > alpha = {alpha:g}): no significance claim "
                        "is possible, and a non-significant result here says nothing")
    smallest = min(outcome.n_x, outcome.n_y) if not paired else outcome.n
    if outcome.test in _PARAMETRIC and smallest < SMALL_SAMPLE:
        warnings.append(f"with n={smallest} {'pairs' if paired else 'per group'} the {outcome.method}'s p-value rests "
                        f"on normally distributed {'differences' if paired else 'scores'}, which {smallest} cases "
                        "cannot check (and the exact rank test could not reach significance): read it as "
                        "descriptive, not as a significance claim")
    return ComparisonResult(a=names[0], b=names[1], test=outcome.test, method=outcome.method,
                            statistic=outcome.statistic, p_value=outcome.p_value, p_adjusted=outcome.p_value,
                            correction="none", n=outcome.n, alternative=outcome.alternative, effect=effect,
                            mean_difference=md.value, ci=md.ci, mean_a=float(x.mean()), mean_b=float(y.mean()),
                            alpha=alpha, min_p=outcome.min_p, warnings=tuple(warnings),
                            higher_is_better=higher_is_better, confidence=confidence)


def compare_pair(x: Mapping[str, float] | Sequence[float] | np.ndarray,
                 y: Mapping[str, float] | Sequence[float] | np.ndarray, test: str = "wilcoxon", *,
                 alternative: str = "two-sided", names: tuple[str, str] = ("a", "b"), intersection: bool = False,
                 alpha: float = 0.05, n_boot: int = 1000, confidence: float = 0.95, seed: int = 0,
                 higher_is_better: bool = True, **options: Any) -> ComparisonResult:
    """Compare two models' scores with one test.

    Args:
        x: scores of the first model: ``{case: score}`` (paired on case ids) or an array (paired by position).
        y: scores of the second model.
        test: a :data:`mbench.stats.TESTS` id; unpaired tests (welch, student, mannwhitney, permutation_ind)
            treat x and y as independent groups, e.g. one model's scores on two subgroups of cases.
        alternative: ``two-sided``, ``greater`` (x larger) or ``less``.
        names: labels of x and y.
        intersection: for paired tests, compare on the common case ids when the sets differ (else refuse).
        alpha: significance level.
        n_boot: bootstrap resamples for the intervals (0: none).
        confidence: interval coverage.
        seed: bootstrap seed.
        higher_is_better: metric orientation (decides :attr:`ComparisonResult.better`).
        **options: test options (see :func:`mbench.stats.run_test`).

    Example:
        >>> r = compare_pair({"c1": 9, "c2": 8, "c3": 7, "c4": 6, "c5": 5, "c6": 4},
        ...                  {"c1": 8, "c2": 6, "c3": 4, "c4": 2, "c5": 0, "c6": -2}, names=("A", "B"))
        >>> r.method, r.n, round(r.p_value, 4), r.effect.name, r.effect.value, r.better
        ('Wilcoxon signed-rank (exact)', 6, 0.0312, 'rank_biserial', 1.0, 'A')
    """
    spec = resolve_test(test)
    rng = np.random.default_rng(seed)
    if spec.paired:
        pairs: PairedSample = pair_scores(_as_mapping(x), _as_mapping(y), intersection=intersection, names=names)
        xa, ya, notes = pairs.x, pairs.y, pairs.notes(names)
    else:
        (xa, nx_nan), (ya, ny_nan) = _unpaired_sample(x), _unpaired_sample(y)
        notes = [f"{k} NaN score(s) of {n} left out" for k, n in ((nx_nan, names[0]), (ny_nan, names[1])) if k]
    outcome = run_test(xa, ya, spec.id, alternative=alternative, **options)
    return _result(outcome, names, xa, ya, spec.paired, alpha=alpha, n_boot=n_boot, confidence=confidence, rng=rng,
                   higher_is_better=higher_is_better, notes=notes)


def _ci(v: np.ndarray, statistic: str, n_boot: int, confidence: float,
        rng: np.random.Generator) -> ConfidenceInterval:
    if n_boot > 0:
        return bootstrap_ci(v, statistic, n_boot=n_boot, confidence=confidence, seed=rng)  # type: ignore[return-value]
    point = float(np.mean(v) if statistic == "mean" else np.median(v))
    return ConfidenceInterval(point, math.nan, math.nan, confidence, 0, statistic)


def summarise_models(matrix: ScoreMatrix, *, n_boot: int = 1000, confidence: float = 0.95,
                     seed: int = 0) -> tuple[ModelSummary, ...]:
    """Per model: n, missing and NaN counts, mean and median with bootstrap intervals over its own cases.

    Example:
        >>> m = ScoreMatrix.from_scores({"a": {"x": 0.5, "y": 0.7}, "b": {"x": 0.6}})
        >>> [(s.model, s.n, s.n_missing, round(s.mean.estimate, 2)) for s in summarise_models(m, n_boot=50)]
        [('a', 2, 0, 0.6), ('b', 1, 1, 0.6)]
    """
    out = []
    n_missing, n_nan = matrix.n_missing(), matrix.n_nan()
    for j, model in enumerate(matrix.models):
        v = matrix.values[:, j]
        v = v[~np.isnan(v)]
        if v.size == 0:
            raise MbenchError(f"model {model!r} has no scores in this selection", found=f"{n_missing[model]} missing, "
                              f"{n_nan[model]} NaN", fix="check the task, metric and budget of its run")
        rng = np.random.default_rng([seed, j])
        ci_mean, ci_median = (_ci(v, stat, n_boot, confidence, rng) for stat in ("mean", "median"))
        out.append(ModelSummary(model, int(v.size), n_missing[model], n_nan[model], ci_mean, ci_median,
                                matrix.runs.get(model), matrix.n_filled.get(model, 0)))
    return tuple(out)


def compare_models(matrix: ScoreMatrix, models: Sequence[str] | None = None, test: str = "wilcoxon",
                   correction: str = "holm", *, pairs: Sequence[tuple[str, str]] | None = None,
                   alternative: str = "two-sided", alpha: float = 0.05, intersection: bool = False,
                   n_boot: int = 1000, confidence: float = 0.95, seed: int = 0, **options: Any) -> PairwiseComparison:
    """Compare every pair of models of a score matrix, case-paired, and correct over the family.

    Args:
        matrix: the scores (rows: cases or seeds; columns: models). Missing cells are not filled: when two
            models cover different cases the comparison is refused unless ``intersection`` is True.
        models: models to compare (default: all, in matrix order).
        test: a :data:`mbench.stats.TESTS` id; Wilcoxon signed-rank by default.
        correction: ``holm`` (default), ``bonferroni``, ``bh`` or ``none``.
        pairs: explicit (a, b) pairs instead of all combinations.
        alternative: ``two-sided``, ``greater`` or ``less`` (a versus b).
        alpha: significance level.
        intersection: compare each pair on its common cases.
        n_boot: bootstrap resamples for all intervals.
        confidence: interval coverage.
        seed: bootstrap seed.
        **options: test options (see :func:`mbench.stats.run_test`).

    Example:
        >>> m = ScoreMatrix.from_columns({"a": [3, 5, 8], "b": [1, 2, 4]}, metric="dice")
        >>> t = compare_models(m, n_boot=100)
        >>> t.results[0].p_adjusted, t.results[0].warnings[0][:45]
        (0.25, 'with n=3 the Wilcoxon signed-rank (exact) can')
    """
    spec = resolve_test(test)
    correction = resolve_correction(correction)
    sub = matrix.subset(list(models)) if models is not None else matrix
    if len(sub.models) < 2:
        raise MbenchError("comparing models needs at least two", found=", ".join(sub.models) or "none")
    pair_list = list(pairs) if pairs is not None else list(itertools.combinations(sub.models, 2))
    results = []
    for a, b in pair_list:
        ia, ib = sub.index(a), sub.index(b)
        p = pair_columns(sub, a, b, intersection=intersection)
        notes = p.notes((a, b))
        notes += [f"{m}: {sub.n_filled[m]} case(s) filled with the worst value {sub.worst:g}" for m in (a, b)
                  if sub.n_filled.get(m)]
        if not spec.paired:
            notes.append(f"{spec.name} treats the two models' scores as independent although they are scored on "
                         "the same cases; a paired test (wilcoxon, ttest_rel, permutation) uses that pairing")
        outcome = run_test(p.x, p.y, spec.id, alternative=alternative, **options)
        results.append(_result(outcome, (a, b), p.x, p.y, spec.paired, alpha=alpha, n_boot=n_boot,
                               confidence=confidence, rng=np.random.default_rng([seed, ia, ib]),
                               higher_is_better=sub.higher_is_better, notes=notes))
    adjusted = adjust_pvalues([r.p_value for r in results], correction)
    results = [replace(r, p_adjusted=float(q), correction=correction) for r, q in zip(results, adjusted)]
    family = []
    m = len(results)
    if correction in ("holm", "bonferroni") and m > 1:
        best = min(r.min_p for r in results)
        if alpha / m <= best < alpha:
            family.append(f"after {correction} correction over {m} comparisons no difference can be significant: "
                          f"it needs a raw p < {alpha / m:.3g}, the smallest attainable is {best:.3g}")
    return PairwiseComparison(metric=sub.metric, higher_is_better=sub.higher_is_better, unit=sub.unit,
                              models=sub.models, summaries=summarise_models(sub, n_boot=n_boot, confidence=confidence,
                                                                            seed=seed),
                              results=tuple(results), test=spec.id, correction=correction, alpha=alpha,
                              alternative=alternative, warnings=tuple(family), notes=sub.notes, task=sub.task)

