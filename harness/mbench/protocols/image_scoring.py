"""Score image-to-image predictions per case with the card's metrics and their declared parameters.

Each reported metric is called with ``metrics.params[<metric>]`` from the card (e.g. ``psnr: {data_range: 1.0}``);
a metric that needs a data range and has none is refused when the card is read. ``data_range: max_of_pair`` is
paper 19's peak: ``Q = max(max(prediction), max(reference))`` of the case, written into the row's note. Masked
regions (``protocol.masks``, e.g. ``body``) score the voxels inside the mask with the voxel-wise metrics (MAE,
MSE, RMSE, PSNR); window-based metrics (SSIM, LPIPS, VIF) are whole-image only.

Example:
    >>> import numpy as np
    >>> kw, note = metric_kwargs({"data_range": "max_of_pair"}, np.array([1.0, 3.0]), np.array([2.0, 2.0]))
    >>> kw, note
    ({'data_range': 3.0}, 'data_range = max of prediction and reference = 3')
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mbench.config.schema import TaskSpec
from mbench.errors import MbenchError
from mbench.metrics.registry import get_metric

__all__ = ["VOXELWISE", "image_case_rows", "metric_kwargs", "selection_score"]

VOXELWISE = frozenset({"mae", "mse", "rmse", "psnr"})  # defined on any set of voxels (a masked region)


def metric_kwargs(params: dict[str, Any], prediction: np.ndarray, reference: np.ndarray) -> tuple[dict[str, Any], str]:
    """The keyword arguments of one metric call and the row note (the peak used, for ``max_of_pair``)."""
    kwargs = dict(params)
    note = ""
    if kwargs.get("data_range") == "max_of_pair":
        q = float(max(np.max(prediction), np.max(reference)))
        if not q > 0:
            raise MbenchError("data_range max_of_pair is not positive for this case", found=q,
                              fix="declare a fixed data_range in metrics.params")
        kwargs["data_range"] = q
        note = f"data_range = max of prediction and reference = {q:g}"
    elif isinstance(kwargs.get("data_range"), str):
        raise MbenchError(f"unknown data_range policy {kwargs['data_range']!r}", expected="a number or max_of_pair",
                          found=kwargs["data_range"])
    return kwargs, note


def _score(task: TaskSpec, metric_id: str, prediction: np.ndarray, reference: np.ndarray) -> tuple[float, str]:
    kwargs, note = metric_kwargs(task.metrics.params.get(metric_id, {}), prediction, reference)
    return float(get_metric(metric_id).fn(prediction, reference, **kwargs)), note


def image_case_rows(task: TaskSpec, case: str, group: str, prediction: np.ndarray, reference: np.ndarray,
                    masks: dict[str, np.ndarray], context: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per reported metric for the whole image (region ``""``) and per mask for voxel-wise metrics."""
    prediction = np.asarray(prediction, dtype=np.float64)
    reference = np.asarray(reference, dtype=np.float64)
    if prediction.shape != reference.shape:
        raise MbenchError(f"case {case}: the prediction's shape differs from the target's",
                          expected=reference.shape, found=prediction.shape,
                          fix="return the image on the target's grid (for SR: scale x the input size)")
    if not np.isfinite(prediction).all():
        raise MbenchError(f"case {case}: the prediction has NaN or infinite values", found="non-finite voxels",
                          fix="check the model's output (a diverged training run?)")
    rows = []
    regions: list[tuple[str, np.ndarray | None]] = [("", None), *masks.items()]
    for region, mask in regions:
        for metric_id in task.metrics.report:
            if mask is not None and metric_id not in VOXELWISE:
                continue
            if mask is not None and not mask.any():
                value, note = float("nan"), f"mask {region} is empty"
            else:
                p, r = (prediction, reference) if mask is None else (prediction[mask], reference[mask])
                value, note = _score(task, metric_id, p, r)
            rows.append({**context, "case": case, "group": group, "region": region, "metric": metric_id,
                         "value": value, "note": note})
    return rows


def selection_score(task: TaskSpec, predictions: list[np.ndarray], references: list[np.ndarray]) -> float:
    """The primary metric's mean over cases (whole images), oriented so that higher is better."""
    metric_id = task.metrics.primary
    values = np.asarray([_score(task, metric_id, np.asarray(p, np.float64), np.asarray(r, np.float64))[0]
                         for p, r in zip(predictions, references)], float)
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return -np.inf
    mean = float(finite.mean())
    return mean if get_metric(metric_id).higher_is_better else -mean
