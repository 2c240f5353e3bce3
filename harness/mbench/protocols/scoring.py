"""Turn predictions into tidy score rows with the task's metrics and conventions."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from mbench.config.schema import TaskSpec
from mbench.metrics import functional as F
from mbench.metrics.registry import get_metric
from mbench.tasks.targets import index_to_labels

__all__ = ["score_rows", "aggregate_primary", "ALL_CASES"]

ALL_CASES = "*"  # the case id of dataset-level metric rows


def _case_value(metric_id: str, pred: np.ndarray, target: np.ndarray, task: TaskSpec) -> float:
    spec = get_metric(metric_id)
    if metric_id == "dice":
        both = task.metrics.conventions.both_empty
        return spec.fn(pred, target, both_empty=math.nan if both is None else both)
    return spec.fn(pred, target)


def _region_rows(task: TaskSpec, ids: list[str], groups: list[str], predictions: np.ndarray,
                 labelmaps: np.ndarray, spacing: np.ndarray | None, context: dict[str, Any]) -> list[dict[str, Any]]:
    """Rows per (case, region, metric) for tasks that declare ``regions`` (predictions are class indices).

    An infinite distance (exactly one mask empty) is replaced by the profile's ``distance_worst`` and
    the row's note says so; both-empty values follow the profile (``both_empty``) for overlap metrics
    and the functional default (0 mm) for distances.
    """
    conv = task.metrics.conventions
    regions = task.region_codes()
    rows = []
    for k, (case, group) in enumerate(zip(ids, groups)):
        pred = index_to_labels(predictions[k], task.labels)
        scores = F.region_scores(pred, labelmaps[k], regions=regions, metrics=list(task.metrics.report),
                                 spacing=None if spacing is None else tuple(spacing[k]))
        for region, values in scores.items():
            empty_ref = not np.isin(labelmaps[k], regions[region]).any()
            empty_pred = not np.isin(pred, regions[region]).any()
            for metric_id, value in values.items():
                note = ""
                if empty_ref and empty_pred and get_metric(metric_id).higher_is_better and conv.both_empty is not None:
                    value, note = float(conv.both_empty), "both empty"
                if math.isinf(value) and conv.distance_worst is not None:
                    value, note = float(conv.distance_worst), f"inf -> {conv.distance_worst} (one mask empty)"
                rows.append({**context, "case": case, "group": group, "region": region, "metric": metric_id,
                             "value": value, "note": note})
    return rows


def score_rows(task: TaskSpec, ids: list[str], groups: list[str], predictions: np.ndarray, targets: np.ndarray,
               context: dict[str, Any], labelmaps: np.ndarray | None = None,
               spacing: np.ndarray | None = None) -> list[dict[str, Any]]:
    """One row per (case, case-level metric[, region]) and one per dataset-level metric (case ``*``).

    ``context`` (seed, fold, round, n_labelled, ...) is copied into every row. Tasks with ``regions``
    are scored per region on the label maps (``labelmaps`` and in-plane ``spacing`` required).
    """
    if task.regions:
        return _region_rows(task, ids, groups, predictions, labelmaps, spacing, context)
    rows = []
    for metric_id in task.metrics.report:
        spec = get_metric(metric_id)
        if spec.level == "case":
            for case, group, p, t in zip(ids, groups, predictions, targets):
                value = _case_value(metric_id, p, t, task)
                rows.append({**context, "case": case, "group": group, "region": "", "metric": metric_id,
                             "value": value, "note": "nan" if math.isnan(value) else ""})
        else:
            value = spec.fn(predictions, targets)
            rows.append({**context, "case": ALL_CASES, "group": "", "region": "", "metric": metric_id,
                         "value": value, "note": f"dataset-level over {len(ids)} cases"})
    return rows


def aggregate_primary(task: TaskSpec, predictions: np.ndarray, targets: np.ndarray) -> float:
    """The primary metric over a whole set, oriented so that higher is better: the checkpoint-selection score.

    Case-level metrics are averaged over cases; for region tasks the primary metric is averaged over
    cases and regions (class-index predictions and targets).
    """
    metric_id = task.metrics.primary
    spec = get_metric(metric_id)
    if task.regions:
        values = [spec.fn(np.isin(index_to_labels(p, task.labels), codes), np.isin(index_to_labels(t, task.labels), codes))
                  for p, t in zip(predictions, targets) for codes in task.region_codes().values()]
    elif spec.level == "dataset":
        values = [spec.fn(predictions, targets)]
    else:
        values = [_case_value(metric_id, p, t, task) for p, t in zip(predictions, targets)]
    arr = np.asarray(values, dtype=float)
    finite = arr[np.isfinite(arr)]
    if finite.size == 0:
        return -math.inf
    value = float(finite.mean())
    return value if spec.higher_is_better else -value
