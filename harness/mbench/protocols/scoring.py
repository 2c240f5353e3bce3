"""Turn predictions into tidy score rows with the task's metrics and its convention profile.

The profile (``metrics.conventions`` of the card) decides, per task: the score when both masks are
empty, whether empty-reference cases count, the finite value that replaces an infinite distance,
the NSD tolerance and the boundary connectivity. Every replaced value is marked in the row's note.
"""

from __future__ import annotations

import inspect
import math
from typing import Any

import numpy as np

from mbench.config.schema import ConventionProfile, TaskSpec
from mbench.metrics import functional as F
from mbench.metrics.registry import get_metric
from mbench.tasks.targets import index_to_labels

__all__ = ["score_rows", "aggregate_primary", "case_score", "ALL_CASES", "EXCLUDED_NOTE"]

ALL_CASES = "*"  # the case id of dataset-level metric rows
EXCLUDED_NOTE = "reference empty: excluded by the task's convention"  # note of rows that are not scores


def _apply_conventions(metric_id: str, value: float, empty_pred: bool, empty_ref: bool,
                       conv: ConventionProfile) -> tuple[float, str]:
    """The value after the profile's empty-mask and worst-case rules, with a note saying what changed."""
    spec = get_metric(metric_id)
    if empty_ref and conv.empty_reference == "exclude":
        return math.nan, EXCLUDED_NOTE
    if empty_ref and empty_pred and spec.higher_is_better and conv.both_empty is not None:
        return float(conv.both_empty), "both empty"
    if math.isinf(value) and conv.distance_worst is not None:
        return float(conv.distance_worst), f"inf -> {conv.distance_worst} (one mask empty)"
    return float(value), "nan" if math.isnan(value) else ""


def _metric_kwargs(metric_id: str, conv: ConventionProfile, spacing: tuple[float, ...] | None) -> dict[str, Any]:
    spec = get_metric(metric_id)
    kwargs: dict[str, Any] = {}
    if "spacing" in spec.params:
        kwargs["spacing"] = spacing
    if "tolerance" in spec.params and conv.nsd_tolerance is not None:
        kwargs["tolerance"] = conv.nsd_tolerance
    if "connectivity" in inspect.signature(spec.fn).parameters:
        kwargs["connectivity"] = conv.connectivity
    return kwargs


def case_score(metric_id: str, prediction: np.ndarray, reference: np.ndarray, task: TaskSpec,
               spacing: tuple[float, ...] | None = None) -> tuple[float, str]:
    """One case's score of a case-level metric under the task's conventions, and the row note."""
    conv = task.metrics.conventions
    value = get_metric(metric_id).fn(prediction, reference, **_metric_kwargs(metric_id, conv, spacing))
    return _apply_conventions(metric_id, value, not np.any(prediction), not np.any(reference), conv)


def _region_rows(task: TaskSpec, ids: list[str], groups: list[str], predictions: np.ndarray,
                 labelmaps: np.ndarray, spacing: np.ndarray | None, context: dict[str, Any]) -> list[dict[str, Any]]:
    """Rows per (case, region, metric) for tasks that declare ``regions`` (predictions are class indices)."""
    conv = task.metrics.conventions
    regions = task.region_codes()
    rows = []
    for k, (case, group) in enumerate(zip(ids, groups)):
        pred = index_to_labels(predictions[k], task.labels)
        scores = F.region_scores(pred, labelmaps[k], regions=regions, metrics=list(task.metrics.report),
                                 spacing=None if spacing is None else tuple(spacing[k]),
                                 connectivity=conv.connectivity, tolerance=conv.nsd_tolerance)
        for region, values in scores.items():
            empty_ref = not np.isin(labelmaps[k], regions[region]).any()
            empty_pred = not np.isin(pred, regions[region]).any()
            for metric_id, value in values.items():
                value, note = _apply_conventions(metric_id, value, empty_pred, empty_ref, conv)
                rows.append({**context, "case": case, "group": group, "region": region, "metric": metric_id,
                             "value": value, "note": note})
    return rows


def score_rows(task: TaskSpec, ids: list[str], groups: list[str], predictions: np.ndarray, targets: np.ndarray,
               context: dict[str, Any], labelmaps: np.ndarray | None = None,
               spacing: np.ndarray | None = None) -> list[dict[str, Any]]:
    """One row per (case, case-level metric[, region]) and one per dataset-level metric (case ``*``).

    ``context`` (seed, fold, round, n_labelled, ...) is copied into every row. Tasks with ``regions``
    are scored per region on the label maps (``labelmaps`` and in-plane ``spacing`` required). The card's
    ``postprocessing`` ops, when any, are applied to the predictions first.
    """
    if task.postprocessing:  # the card's ops (e.g. keep the largest component) on the test predictions
        from mbench.protocols.postprocess import apply_ops

        predictions = apply_ops(predictions, task.postprocessing)
    if task.regions:
        return _region_rows(task, ids, groups, predictions, labelmaps, spacing, context)
    rows = []
    for metric_id in task.metrics.report:
        spec = get_metric(metric_id)
        if spec.level == "case":
            for k, (case, group, p, t) in enumerate(zip(ids, groups, predictions, targets)):
                value, note = case_score(metric_id, p, t, task, None if spacing is None else tuple(spacing[k]))
                rows.append({**context, "case": case, "group": group, "region": "", "metric": metric_id,
                             "value": value, "note": note})
        else:
            value = spec.fn(predictions, targets)
            rows.append({**context, "case": ALL_CASES, "group": "", "region": "", "metric": metric_id,
                         "value": value, "note": f"dataset-level over {len(ids)} cases"})
    return rows


def aggregate_primary(task: TaskSpec, predictions: np.ndarray, targets: np.ndarray) -> float:
    """The primary metric over a whole set, oriented so that higher is better: the checkpoint-selection score.

    Case-level metrics are averaged over cases (NaN and infinite values left out); for region tasks
    over cases and regions (class-index predictions and targets).
    """
    metric_id = task.metrics.primary
    spec = get_metric(metric_id)
    if task.regions:
        values = [case_score(metric_id, np.isin(index_to_labels(p, task.labels), codes),
                             np.isin(index_to_labels(t, task.labels), codes), task)[0]
                  for p, t in zip(predictions, targets) for codes in task.region_codes().values()]
    elif spec.level == "dataset":
        values = [spec.fn(predictions, targets)]
    else:
        values = [case_score(metric_id, p, t, task)[0] for p, t in zip(predictions, targets)]
    arr = np.asarray(values, dtype=float)
    finite = arr[np.isfinite(arr)]
    if finite.size == 0:
        return -math.inf
    value = float(finite.mean())
    return value if spec.higher_is_better else -value
