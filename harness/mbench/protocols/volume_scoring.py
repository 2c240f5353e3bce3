"""Score 3D label maps in mm: per-region rows, lesion-free false positives, strata and the mean over regions.

One case at a time (memory stays bounded): :func:`volume_case_rows` scores a predicted label map against
the reference on the native grid with its native spacing, through the task's regions and convention profile
(:func:`mbench.protocols.scoring.score_rows`); for each region of ``metrics.lesion_free_regions`` whose
reference is empty in this case, it adds ``false_positive_case`` and ``false_positive_volume`` rows. After
all cases, :func:`volume_summary_rows` adds the strata rows and, per metric, a dataset-level row of region
``mean``: the unweighted mean of the region means of ``metrics.mean_over_regions`` (paper 1's "mean DSC").

Example:
    >>> import numpy as np
    >>> from mbench.tasks import load_task
    >>> spec = load_task("svd-wmh-stroke").spec
    >>> ref = np.zeros((8, 8, 8), np.int16); ref[2:5, 2:5, 2:5] = 1
    >>> rows = volume_case_rows(spec, "c1", "c1", ref.copy(), ref, (1.0, 1.0, 1.0), {})
    >>> sorted({(r["region"], r["metric"]) for r in rows if r["metric"].startswith("false")})
    [('stroke', 'false_positive_case'), ('stroke', 'false_positive_volume')]
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from mbench.config.schema import TaskSpec
from mbench.metrics.functional import false_positive_case, false_positive_volume
from mbench.protocols.scoring import ALL_CASES, score_rows
from mbench.protocols.strata import strata_rows

__all__ = ["FALSE_POSITIVE_METRICS", "region_metric_task", "volume_case_rows", "volume_summary_rows"]

FALSE_POSITIVE_METRICS = {"false_positive_case": false_positive_case, "false_positive_volume": false_positive_volume}


def region_metric_task(task: TaskSpec) -> TaskSpec:
    """The card with only the metrics scored per region (the false-positive ones are scored separately)."""
    report = [m for m in task.metrics.report if m not in FALSE_POSITIVE_METRICS]
    return task.model_copy(update={"metrics": task.metrics.model_copy(update={"report": report})})


def volume_case_rows(task: TaskSpec, case: str, group: str, prediction: np.ndarray, reference: np.ndarray,
                     spacing: tuple[float, ...], context: dict[str, Any]) -> list[dict[str, Any]]:
    """Rows of one case: ``prediction`` and ``reference`` are label maps in the dataset's codes on the same grid."""
    from mbench.data.volumes import labels_to_indices

    region_task = region_metric_task(task)
    pred_idx = labels_to_indices(prediction, task.labels)[None]
    rows = score_rows(region_task, [case], [group], pred_idx, labels_to_indices(reference, task.labels)[None],
                      context, np.asarray(reference)[None], np.asarray([spacing], dtype=float))
    codes = task.region_codes()
    for region in task.metrics.lesion_free_regions:
        ref_mask = np.isin(reference, codes[region])
        if ref_mask.any():
            continue
        pred_mask = np.isin(prediction, codes[region])
        for metric_id, fn in FALSE_POSITIVE_METRICS.items():
            if metric_id not in task.metrics.report:
                continue
            value = fn(pred_mask, ref_mask, spacing=spacing) if metric_id == "false_positive_volume" \
                else fn(pred_mask, ref_mask)
            rows.append({**context, "case": case, "group": group, "region": region, "metric": metric_id,
                         "value": value, "note": "reference empty: false positives of a lesion-free case"})
    return rows


def volume_summary_rows(task: TaskSpec, rows: list[dict[str, Any]], ids: list[str], attrs: dict[str, list[str]],
                        context: dict[str, Any]) -> list[dict[str, Any]]:
    """Dataset-level rows after all cases: strata (``metrics.strata``) and the mean over ``mean_over_regions``."""
    out = strata_rows(region_metric_task(task), rows, ids, attrs, context) if attrs else []
    regions = task.metrics.mean_over_regions
    if not regions:
        return out
    for metric_id in task.metrics.report:
        if metric_id in FALSE_POSITIVE_METRICS:
            continue
        means = []
        for region in regions:
            values = np.asarray([float(r["value"]) for r in rows if r["metric"] == metric_id
                                 and r.get("region") == region and r["case"] != ALL_CASES], dtype=float)
            ok = values[~np.isnan(values)]
            means.append(float(ok.mean()) if ok.size else math.nan)
        valid = [m for m in means if not math.isnan(m)]
        out.append({**context, "case": ALL_CASES, "group": "", "region": "mean", "metric": metric_id,
                    "value": float(np.mean(valid)) if len(valid) == len(means) else math.nan,
                    "note": "unweighted mean of the region means (" + ", ".join(
                        f"{r}: {m:.4f}" for r, m in zip(regions, means)) + "); each over the cases holding it"})
    return out
