"""Turn predictions into tidy score rows with the task's metrics and conventions."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from mbench.config.schema import TaskSpec
from mbench.metrics.registry import get_metric

__all__ = ["score_rows", "aggregate_primary", "ALL_CASES"]

ALL_CASES = "*"  # the case id of dataset-level metric rows


def _case_value(metric_id: str, pred: np.ndarray, target: np.ndarray, task: TaskSpec) -> float:
    spec = get_metric(metric_id)
    if metric_id == "dice":
        both = task.metrics.conventions.both_empty
        return spec.fn(pred, target, both_empty=math.nan if both is None else both)
    return spec.fn(pred, target)


def score_rows(task: TaskSpec, ids: list[str], groups: list[str], predictions: np.ndarray, targets: np.ndarray,
               context: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per (case, case-level metric) and one per dataset-level metric (case ``*``).

    ``context`` (seed, fold, round, n_labelled, ...) is copied into every row.
    """
    rows = []
    for metric_id in task.metrics.report:
        spec = get_metric(metric_id)
        if spec.level == "case":
            for case, group, p, t in zip(ids, groups, predictions, targets):
                value = _case_value(metric_id, p, t, task)
                rows.append({**context, "case": case, "group": group, "metric": metric_id, "value": value,
                             "note": "nan" if math.isnan(value) else ""})
        else:
            value = spec.fn(predictions, targets)
            rows.append({**context, "case": ALL_CASES, "group": "", "metric": metric_id, "value": value,
                         "note": f"dataset-level over {len(ids)} cases"})
    return rows


def aggregate_primary(task: TaskSpec, predictions: np.ndarray, targets: np.ndarray) -> float:
    """The primary metric over a whole set (mean over cases for case-level metrics): the selection score."""
    metric_id = task.metrics.primary
    spec = get_metric(metric_id)
    if spec.level == "dataset":
        value = spec.fn(predictions, targets)
    else:
        values = [_case_value(metric_id, p, t, task) for p, t in zip(predictions, targets)]
        value = float(np.nanmean(values)) if values and not np.all(np.isnan(values)) else math.nan
    sign = 1.0 if spec.higher_is_better else -1.0
    return -math.inf if math.isnan(value) else sign * value
