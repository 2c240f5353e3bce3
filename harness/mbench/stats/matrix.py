"""The score matrix: per-unit scores (rows: cases, or seeds) for several models (columns), with missing cells.

A cell is *missing* when the model has no score for that unit at all, and *undefined* when it has a row whose
value is NaN (e.g. Dice with both masks empty under a NaN convention). Both are NaN in ``values``; ``present``
tells them apart. Ranking fills both with the metric's declared worst value and counts the fill
(:meth:`ScoreMatrix.fill_worst`); paired tests refuse differing coverage instead (see
:mod:`mbench.stats.pairing`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from mbench.errors import MbenchError

__all__ = ["ScoreMatrix"]


@dataclass(frozen=True)
class ScoreMatrix:
    """Scores of several models on the same units, one column per model.

    Attributes:
        values: float array (n_units, n_models); NaN where missing or undefined.
        cases: unit ids (case ids, or ``seed:<s>`` for seed-level units), one per row.
        models: model labels, one per column.
        metric: metric id (for messages and tables).
        higher_is_better: orientation of the metric.
        worst: the value that stands for a missing or failed case (the metric's declared worst), or None.
        present: bool array like ``values``; True where the model has a row for that unit (its value may be NaN).
        unit: what one row is: ``case`` or ``seed``.
        n_filled: per model, how many cells :meth:`fill_worst` replaced (empty before filling).
        notes: how the matrix was selected (budget, seed averaging, ...), in words.
        runs: model label -> run id it came from (when loaded from a results folder).
        task: task id, when loaded from a results folder.

    Example:
        >>> m = ScoreMatrix.from_scores({"a": {"c1": 0.9, "c2": 0.8}, "b": {"c1": 0.7}}, metric="dice",
        ...                             higher_is_better=True, worst=0.0)
        >>> m.shape, m.coverage()
        ((2, 2), {'a': 2, 'b': 1})
        >>> f = m.fill_worst()
        >>> f.column("b").tolist(), f.n_filled
        ([0.7, 0.0], {'a': 0, 'b': 1})
    """

    values: np.ndarray
    cases: tuple[str, ...]
    models: tuple[str, ...]
    metric: str = "score"
    higher_is_better: bool = True
    worst: float | None = None
    present: np.ndarray | None = None
    unit: str = "case"
    n_filled: dict[str, int] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    runs: dict[str, str] = field(default_factory=dict)
    task: str | None = None

    def __post_init__(self) -> None:
        values = np.asarray(self.values, dtype=float)
        if values.ndim != 2:
            raise MbenchError("a score matrix must be two-dimensional", expected="(n_units, n_models)",
                              found=f"shape {values.shape}")
        cases, models = tuple(str(c) for c in self.cases), tuple(str(m) for m in self.models)
        if values.shape != (len(cases), len(models)):
            raise MbenchError("score matrix shape does not match its labels",
                              expected=f"({len(cases)} units, {len(models)} models)", found=f"shape {values.shape}")
        for kind, labels in (("unit", cases), ("model", models)):
            if len(set(labels)) != len(labels):
                dup = sorted({x for x in labels if labels.count(x) > 1})
                raise MbenchError(f"duplicate {kind} labels in a score matrix", found=", ".join(dup[:5]),
                                  fix=f"give each {kind} a unique label")
        present = ~np.isnan(values) if self.present is None else np.asarray(self.present, dtype=bool)
        if present.shape != values.shape:
            raise MbenchError("`present` must have the shape of `values`", expected=str(values.shape),
                              found=str(present.shape))
        values.setflags(write=False)
        present = present.copy()
        present.setflags(write=False)
        object.__setattr__(self, "values", values)
        object.__setattr__(self, "present", present)
        object.__setattr__(self, "cases", cases)
        object.__setattr__(self, "models", models)

    # construction -------------------------------------------------------------------------------------------
    @classmethod
    def from_scores(cls, scores: Mapping[str, Mapping[str, float]], **kwargs: Any) -> ScoreMatrix:
        """Build from ``{model: {case: value}}``; cases are the sorted union, absent cells are missing.

        Example:
            >>> ScoreMatrix.from_scores({"a": {"x": 1.0}, "b": {"x": 2.0, "y": 3.0}}).cases
            ('x', 'y')
        """
        models = list(scores)
        cases = sorted({str(c) for per_case in scores.values() for c in per_case})
        index = {c: i for i, c in enumerate(cases)}
        values = np.full((len(cases), len(models)), np.nan)
        present = np.zeros_like(values, dtype=bool)
        for j, model in enumerate(models):
            for case, value in scores[model].items():
                i = index[str(case)]
                values[i, j] = float(value)
                present[i, j] = True
        return cls(values=values, cases=tuple(cases), models=tuple(models), present=present, **kwargs)

    @classmethod
    def from_columns(cls, columns: Mapping[str, Sequence[float] | np.ndarray], cases: Sequence[str] | None = None,
                     **kwargs: Any) -> ScoreMatrix:
        """Build from equal-length columns ``{model: values}`` aligned on the same units (NaN = missing).

        Example:
            >>> ScoreMatrix.from_columns({"a": [1.0, 2.0], "b": [3.0, 4.0]}).cases
            ('0', '1')
        """
        arrays = [np.asarray(v, dtype=float).ravel() for v in columns.values()]
        lengths = {a.size for a in arrays}
        if len(lengths) > 1:
            raise MbenchError("columns of a score matrix must have the same length",
                              found=", ".join(f"{m}: {a.size}" for m, a in zip(columns, arrays)),
                              fix="use ScoreMatrix.from_scores with case ids to align unequal columns")
        n = lengths.pop() if lengths else 0
        values = np.column_stack(arrays) if arrays else np.empty((n, 0))
        return cls(values=values, cases=tuple(cases) if cases is not None else tuple(str(i) for i in range(n)),
                   models=tuple(columns), **kwargs)

    @classmethod
    def for_metric(cls, scores: Mapping[str, Mapping[str, float]], metric: str, **kwargs: Any) -> ScoreMatrix:
        """Like :meth:`from_scores`, with orientation and worst value from the metric registry.

        Example:
            >>> ScoreMatrix.for_metric({"a": {"x": 0.5}}, "dice").worst
            0.0
        """
        from mbench.metrics.registry import get_metric

        spec = get_metric(metric)
        return cls.from_scores(scores, metric=metric, higher_is_better=spec.higher_is_better, worst=spec.worst,
                               **kwargs)

    # access ---------------------------------------------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, int]:
        """(n_units, n_models)."""
        return self.values.shape  # type: ignore[return-value]

    def index(self, model: str) -> int:
        """Column index of a model, with a clear error for unknown labels."""
        try:
            return self.models.index(model)
        except ValueError:
            raise MbenchError(f"model {model!r} is not in this score matrix", expected=", ".join(self.models),
                              found=model) from None

    def column(self, model: str) -> np.ndarray:
        """The scores of one model (NaN where missing or undefined)."""
        return self.values[:, self.index(model)]

    def coverage(self) -> dict[str, int]:
        """Per model, the number of units it has a row for."""
        return {m: int(self.present[:, j].sum()) for j, m in enumerate(self.models)}

    def n_missing(self) -> dict[str, int]:
        """Per model, units without a row."""
        return {m: int((~self.present[:, j]).sum()) for j, m in enumerate(self.models)}

    def n_nan(self) -> dict[str, int]:
        """Per model, units with a row whose value is NaN."""
        nan = np.isnan(self.values) & self.present
        return {m: int(nan[:, j].sum()) for j, m in enumerate(self.models)}

    def subset(self, models: Sequence[str]) -> ScoreMatrix:
        """The matrix restricted to some models (in the given order)."""
        idx = [self.index(m) for m in models]
        if len(set(idx)) != len(idx):
            raise MbenchError("a model is listed twice", found=", ".join(models))
        return replace(self, values=self.values[:, idx], present=self.present[:, idx], models=tuple(models),
                       n_filled={m: self.n_filled[m] for m in models if m in self.n_filled},
                       runs={m: self.runs[m] for m in models if m in self.runs})

    def fill_worst(self) -> ScoreMatrix:
        """Replace missing and undefined cells by the declared worst value; ``n_filled`` counts them per model.

        Every cell of the result is present, so paired tests on it use the filled values (challengeR's
        ``na.treat`` with a number); ``n_filled`` keeps the count for reporting.

        Raises:
            MbenchError: if cells need filling and no worst value is declared.
        """
        holes = np.isnan(self.values)
        counts = {m: int(holes[:, j].sum()) for j, m in enumerate(self.models)}
        if not holes.any():
            return replace(self, n_filled={m: self.n_filled.get(m, 0) for m in self.models})
        if self.worst is None or np.isnan(self.worst):
            raise MbenchError(f"{int(holes.sum())} missing or NaN scores and no worst value for metric "
                              f"{self.metric!r}", expected="a declared worst value (MetricSpec.worst)",
                              found=", ".join(f"{m}: {c}" for m, c in counts.items() if c),
                              fix="pass worst= when building the ScoreMatrix, or use a registered metric")
        values = np.where(holes, float(self.worst), self.values)
        return replace(self, values=values, present=np.ones_like(self.present),
                       n_filled={m: self.n_filled.get(m, 0) + counts[m] for m in self.models})

    def oriented(self) -> np.ndarray:
        """Values with the sign flipped for lower-is-better metrics, so that larger is always better."""
        return self.values if self.higher_is_better else -self.values
