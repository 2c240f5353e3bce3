"""Subgroup comparisons: one model's per-case scores in two groups of cases (unpaired), e.g. cortical vs subcortical.

Paper 1 compares cortical-stroke with subcortical-stroke test cases by the Mann-Whitney U test (cases with
both subtypes left out). The groups come from a case attribute that volumetric runs record in their job
results (``case_attributes``), so the comparison needs only the results folder.

Example:
    >>> scores = {"a": 0.9, "b": 0.8, "c": 0.85, "d": 0.4, "e": 0.5, "f": 0.45}
    >>> groups = {"a": "sub", "b": "sub", "c": "sub", "d": "cort", "e": "cort", "f": "cort"}
    >>> r = compare_subgroups(scores, groups, "sub", "cort", n_boot=0)
    >>> r.method, r.n, round(r.p_value, 3)
    ('Mann-Whitney U (exact)', 6, 0.1)
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from mbench.errors import MbenchError
from mbench.stats.comparison import ComparisonResult, compare_pair
from mbench.stats.tests import resolve_test

__all__ = ["compare_subgroups", "load_subgroup_scores", "subgroup_comparison"]


def compare_subgroups(scores: Mapping[str, float], groups: Mapping[str, str], a: str, b: str,
                      test: str = "mannwhitney", **options: Any) -> ComparisonResult:
    """Test whether the scores of the cases in group ``a`` differ from those in group ``b`` (unpaired test).

    Args:
        scores: ``{case: score}`` of one model (NaN scores are left out and counted in the result's warnings).
        groups: ``{case: group}``; cases of other groups (e.g. ``both``) are ignored.
        a, b: the two groups.
        test: an unpaired test id (``mannwhitney`` default, ``welch``, ``student``, ``permutation_ind``).
        **options: passed to :func:`mbench.stats.compare_pair` (``alternative``, ``alpha``, ``n_boot``, ...).
    """
    if resolve_test(test).paired:
        raise MbenchError(f"test {test!r} is paired, but subgroups hold different cases",
                          expected="mannwhitney, welch, student or permutation_ind", found=test)
    x = [float(v) for c, v in scores.items() if groups.get(c) == a]
    y = [float(v) for c, v in scores.items() if groups.get(c) == b]
    if not x or not y:
        present = sorted({groups.get(c, "?") for c in scores})
        raise MbenchError(f"subgroup {a if not x else b!r} has no scored cases", expected=f"groups {a!r} and {b!r}",
                          found=f"groups {present}", fix="check the attribute name and its values")
    return compare_pair(np.asarray(x), np.asarray(y), test, names=(a, b), **options)


def load_subgroup_scores(task: str, model: str, metric: str, by: str, *, root: str | Path | None = None
                         ) -> tuple[dict[str, float], dict[str, str]]:
    """One model's per-case scores of ``metric`` (e.g. ``dice:stroke``) and each case's ``by`` attribute.

    Case scores are averaged over seeds; attributes come from the run's job results (``case_attributes``).
    """
    from mbench.results.summary import metric_label
    from mbench.stats.loading import select_runs

    run = select_runs(task, [model], root)[model] if model else None
    if run is None:
        raise MbenchError("no model given", fix="pass model=<id>")
    attrs: dict[str, str] = {}
    for path in sorted((run.path / "jobs").glob("*.json")):
        for case, values in (json.loads(path.read_text()).get("case_attributes") or {}).items():
            if by in values:
                attrs[case] = str(values[by])
    if not attrs:
        raise MbenchError(f"run {run.run_id} records no case attribute {by!r}",
                          expected="a volumetric run whose adapter provides the attribute (e.g. stroke_type)",
                          fix="check the attribute name (the dataset's metadata columns)")
    buckets: dict[str, list[float]] = defaultdict(list)
    for row in run.folder.read_scores():
        if metric_label(row) == metric and row["case"] != "*":
            try:
                buckets[row["case"]].append(float(row["value"]))
            except (TypeError, ValueError):
                buckets[row["case"]].append(math.nan)
    if not buckets:
        raise MbenchError(f"run {run.run_id} has no case scores of {metric!r}", fix="pass metric=<metric:region>")
    scores = {c: float(np.nanmean(v)) if np.isfinite(v).any() else math.nan for c, v in buckets.items()}
    return scores, {c: attrs[c] for c in scores if c in attrs}


def subgroup_comparison(task: str, model: str, metric: str, by: str, a: str, b: str, *,
                        root: str | Path | None = None, test: str = "mannwhitney", **options: Any) -> ComparisonResult:
    """:func:`compare_subgroups` on a finished run, e.g. ``("svd-wmh-stroke", "unet3d", "dice:WMH", "stroke_type",
    "cortical", "subcortical")``."""
    from mbench.metrics.registry import get_metric

    scores, groups = load_subgroup_scores(task, model, metric, by, root=root)
    options.setdefault("higher_is_better", get_metric(metric).higher_is_better)
    return compare_subgroups(scores, groups, a, b, test, **options)
