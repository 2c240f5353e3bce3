"""Active learning: learning curves per seed, the area under them, and per-budget tests across seeds.

A learning curve holds one value per (seed, labelled-set size): the metric averaged over test cases. Seeds
are the independent replicates, so models are compared per budget on seed-level values paired by seed,
and on each seed's area under the learning curve (AULC, trapezoid rule over the labelled-set sizes,
normalised by their range so it stays in the metric's units, as :mod:`mbench.results.summary` reports it).

The default test across seeds is the paired t-test: with 3 to 5 seeds no Wilcoxon test can reach p < 0.05
(see :func:`mbench.stats.min_attainable_p`). Every result still reports that bound in its warnings.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from mbench.errors import MbenchError
from mbench.stats.comparison import PairwiseComparison, compare_models
from mbench.stats.corrections import adjust_pvalues, resolve_correction
from mbench.stats.matrix import ScoreMatrix

__all__ = ["LearningCurve", "LearningCurveComparison", "aulc", "compare_learning_curves"]


def aulc(n_labelled: Sequence[float] | np.ndarray, values: Sequence[float] | np.ndarray,
         normalise: bool = True) -> float | np.ndarray:
    """Area under a learning curve by the trapezoid rule, over the last axis of ``values``.

    Args:
        n_labelled: labelled-set sizes (increasing), one per point.
        values: metric values, (..., n_points); NaN anywhere in a curve gives NaN for it.
        normalise: divide by the size range, giving a mean metric value over the budget range.

    Example:
        >>> aulc([100, 200, 300], [0.5, 0.7, 0.8])
        0.675
        >>> aulc([100, 200, 300], [[0.5, 0.7, 0.8], [0.6, 0.6, 0.6]]).tolist()
        [0.675, 0.6]
    """
    x = np.asarray(n_labelled, dtype=float)
    y = np.asarray(values, dtype=float)
    if x.ndim != 1 or x.size < 2 or y.shape[-1] != x.size:
        raise MbenchError("AULC needs at least two budgets and one value per budget",
                          found=f"{x.size} budgets, values of shape {y.shape}")
    if np.any(np.diff(x) <= 0):
        raise MbenchError("labelled-set sizes must increase", found=str(x.tolist()))
    area = np.sum((x[1:] - x[:-1]) * (y[..., 1:] + y[..., :-1]) / 2, axis=-1)
    if normalise:
        area = area / (x[-1] - x[0])
    return float(area) if np.ndim(area) == 0 else area


@dataclass(frozen=True)
class LearningCurve:
    """One model's learning curve: values per seed (rows) and labelled-set size (columns).

    Example:
        >>> c = LearningCurve.from_points("random", {(0, 100): 0.5, (0, 200): 0.75, (1, 100): 0.25, (1, 200): 0.5})
        >>> c.seeds, c.n_labelled, c.mean().tolist(), c.aulc().tolist()
        ((0, 1), (100, 200), [0.375, 0.625], [0.625, 0.375])
    """

    model: str
    n_labelled: tuple[int, ...]
    seeds: tuple[int, ...]
    values: np.ndarray
    metric: str = "score"
    higher_is_better: bool = True
    run: str | None = None

    def __post_init__(self) -> None:
        v = np.asarray(self.values, dtype=float)
        if v.shape != (len(self.seeds), len(self.n_labelled)):
            raise MbenchError("learning-curve values must be (seeds, budgets)",
                              expected=f"({len(self.seeds)}, {len(self.n_labelled)})", found=str(v.shape))
        object.__setattr__(self, "values", v)

    @classmethod
    def from_points(cls, model: str, points: Mapping[tuple[int, int], float], **kwargs: Any) -> LearningCurve:
        """Build from ``{(seed, n_labelled): value}``; absent points are NaN."""
        seeds = sorted({s for s, _ in points})
        sizes = sorted({n for _, n in points})
        values = np.full((len(seeds), len(sizes)), np.nan)
        for (s, n), v in points.items():
            values[seeds.index(s), sizes.index(n)] = float(v)
        return cls(model, tuple(sizes), tuple(seeds), values, **kwargs)

    def mean(self) -> np.ndarray:
        """Mean over seeds per budget (NaN-aware)."""
        with np.errstate(invalid="ignore"):
            return np.nanmean(self.values, axis=0) if self.values.size else np.array([])

    def sd(self) -> np.ndarray:
        """Sample standard deviation over seeds per budget (NaN with fewer than two seeds)."""
        ok = (~np.isnan(self.values)).sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            sd = np.nanstd(self.values, axis=0, ddof=1) if len(self.seeds) > 1 else np.full(len(self.n_labelled),
                                                                                            np.nan)
        return np.where(ok > 1, sd, np.nan)

    def aulc(self, normalise: bool = True) -> np.ndarray:
        """Per seed, the area under the curve (NaN for a seed missing a point)."""
        return np.asarray(aulc(self.n_labelled, self.values, normalise))

    def at(self, n_labelled: int) -> dict[int, float]:
        """Per seed, the value at one budget (seeds without it are left out)."""
        if n_labelled not in self.n_labelled:
            raise MbenchError(f"{self.model} has no point at {n_labelled} labelled",
                              expected=", ".join(map(str, self.n_labelled)))
        col = self.values[:, self.n_labelled.index(n_labelled)]
        return {s: float(v) for s, v in zip(self.seeds, col) if not np.isnan(v)}


@dataclass(frozen=True)
class LearningCurveComparison:
    """Per-budget pairwise tests across seeds, and pairwise tests of per-seed AULC.

    Attributes:
        curves: the compared curves.
        budgets: labelled-set sizes common to all curves (the ones tested).
        per_budget: budget -> pairwise comparison across seeds; p-values corrected over ``family``.
        aulc: pairwise comparison of per-seed AULC over ``budgets`` (its own family).
        family: ``all`` (every budget and pair together) or ``budget`` (each budget its own family).
        notes: budgets left out, and the like.
    """

    curves: tuple[LearningCurve, ...]
    budgets: tuple[int, ...]
    per_budget: dict[int, PairwiseComparison]
    aulc: PairwiseComparison | None
    family: str
    notes: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        """Plain data (JSON-ready), with the curves' mean and sd per budget."""
        return {"budgets": list(self.budgets), "family": self.family, "notes": list(self.notes),
                "curves": [{"model": c.model, "run": c.run, "n_labelled": list(c.n_labelled), "seeds": list(c.seeds),
                            "mean": c.mean().tolist(), "sd": c.sd().tolist(), "aulc": c.aulc().tolist()}
                           for c in self.curves],
                "per_budget": {str(b): t.to_dict() for b, t in self.per_budget.items()},
                "aulc": self.aulc.to_dict() if self.aulc is not None else None}


def _seed_matrix(curves: Sequence[LearningCurve], per_seed: list[dict[int, float]], metric: str,
                 higher: bool, label: str) -> ScoreMatrix:
    scores = {c.model: {f"seed:{s}": v for s, v in vals.items()} for c, vals in zip(curves, per_seed)}
    m = ScoreMatrix.from_scores(scores, metric=metric, higher_is_better=higher, unit="seed", notes=(label,))
    return replace(m, runs={c.model: c.run for c in curves if c.run})


def compare_learning_curves(curves: Sequence[LearningCurve] | Mapping[str, LearningCurve], test: str = "ttest_rel",
                            correction: str = "holm", *, family: str = "all", alpha: float = 0.05,
                            alternative: str = "two-sided", intersection: bool = False, n_boot: int = 1000,
                            seed: int = 0, **options: Any) -> LearningCurveComparison:
    """Test every pair of models at every common budget (paired on seeds), and on per-seed AULC.

    Args:
        curves: one learning curve per model.
        test: a paired test (``ttest_rel`` by default; see the module docstring).
        correction: multiple-comparison correction.
        family: ``all``: correct over every (budget, pair) together; ``budget``: per budget.
        alpha: significance level.
        alternative: ``two-sided``, ``greater`` or ``less``.
        intersection: compare on common seeds when models ran different seeds (else refuse).
        n_boot: bootstrap resamples for intervals (over seeds).
        seed: bootstrap seed.
        **options: test options.

    Example:
        >>> a = LearningCurve("a", (100, 200), (0, 1, 2), np.array([[0.5, 0.7], [0.52, 0.71], [0.49, 0.69]]))
        >>> b = LearningCurve("b", (100, 200), (0, 1, 2), np.array([[0.4, 0.6], [0.43, 0.62], [0.41, 0.58]]))
        >>> cmp = compare_learning_curves([a, b], n_boot=100)
        >>> cmp.budgets, [round(cmp.per_budget[n].results[0].p_adjusted, 4) for n in cmp.budgets]
        ((100, 200), [0.0066, 0.0066])
    """
    items = list(curves.values()) if isinstance(curves, Mapping) else list(curves)
    if len(items) < 2:
        raise MbenchError("comparing learning curves needs at least two models", found=str(len(items)))
    if family not in ("all", "budget"):
        raise MbenchError(f"unknown correction family {family!r}", expected="all or budget")
    correction = resolve_correction(correction)
    metric, higher = items[0].metric, items[0].higher_is_better
    common = sorted(set.intersection(*(set(c.n_labelled) for c in items)))
    notes = []
    for c in items:
        extra = sorted(set(c.n_labelled) - set(common))
        if extra:
            notes.append(f"{c.model}: budgets {', '.join(map(str, extra))} not shared by all models, not tested")
    if not common:
        raise MbenchError("the learning curves share no labelled-set size",
                          found="; ".join(f"{c.model}: {list(c.n_labelled)}" for c in items),
                          fix="compare runs of the same task configuration")
    kw = dict(alternative=alternative, alpha=alpha, intersection=intersection, n_boot=n_boot, seed=seed, **options)
    inner = "none" if family == "all" else correction
    per_budget = {n: compare_models(_seed_matrix(items, [c.at(n) for c in items], metric, higher,
                                                 f"{n} labelled: seed-level mean over test cases"),
                                    test=test, correction=inner, **kw) for n in common}
    if family == "all":
        flat = [(n, i) for n in common for i in range(len(per_budget[n].results))]
        adj = adjust_pvalues([per_budget[n].results[i].p_value for n, i in flat], correction)
        new: dict[int, list] = {n: list(per_budget[n].results) for n in common}
        for (n, i), q in zip(flat, adj):
            new[n][i] = replace(new[n][i], p_adjusted=float(q), correction=f"{correction} (all budgets)")
        per_budget = {n: replace(per_budget[n], results=tuple(new[n]), correction=correction) for n in common}
    aulc_cmp = None
    if len(common) >= 2:
        per_seed = []
        for c in items:
            cols = [c.n_labelled.index(n) for n in common]
            areas = np.asarray(aulc(common, c.values[:, cols]))
            per_seed.append({s: float(a) for s, a in zip(c.seeds, areas) if not np.isnan(a)})
        aulc_cmp = compare_models(_seed_matrix(items, per_seed, f"AULC {metric}", higher,
                                               f"normalised AULC over {common[0]}..{common[-1]} labelled"),
                                  test=test, correction=correction, **kw)
    else:
        notes.append("a single common budget: no area under the learning curve")
    return LearningCurveComparison(tuple(items), tuple(common), per_budget, aulc_cmp, family, tuple(notes))
