"""Score batch k in a CPU pool while the model infers batch k+1; the rows equal :func:`score_rows` on the whole set.

Case-level metrics (Dice, HD95, NSD, ... and region tasks) are computed per batch in a thread or process pool
as soon as the batch's predictions reach the host; dataset-level metrics (AUC, mAP, pooled IoU, ...) need every
prediction and are computed once at the end. The rows are then put in the order :func:`score_rows` gives
(metric by metric, cases in order; region tasks case by case), so a run's scores are the same, row for row,
whichever path computed them (tested).

Example:
    >>> import numpy as np
    >>> from mbench.config.resolve import resolve_run_config
    >>> task = resolve_run_config("brats18-wtseg", "unet").task
    >>> masks = np.zeros((4, 8, 8), np.uint8); masks[:, 2:6, 2:6] = 1
    >>> batches = [(0, masks[:3]), (3, masks[3:])]
    >>> pred, rows = predict_and_score(batches, task, ["a", "b", "c", "d"], ["p"] * 4, masks, {"seed": 0})
    >>> pred.shape, [r["value"] for r in rows]
    ((4, 8, 8), [1.0, 1.0, 1.0, 1.0])
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
from collections.abc import Iterable
from typing import Any

import numpy as np

from mbench.config.schema import TaskSpec
from mbench.inference.settings import InferenceSettings, current_inference
from mbench.metrics.registry import get_metric
from mbench.protocols.scoring import score_rows

__all__ = ["predict_and_score", "prediction_batches", "split_metrics"]


def split_metrics(task: TaskSpec) -> tuple[TaskSpec, TaskSpec | None]:
    """The task restricted to its case-level metrics, and to its dataset-level ones (``None`` when it has none).

    Region tasks are scored per case only (as :func:`score_rows` does), so they are returned unchanged.
    """
    if task.regions:
        return task, None
    report = list(task.metrics.report)
    case = [m for m in report if get_metric(m).level == "case"]
    dataset = [m for m in report if get_metric(m).level != "case"]

    def only(ids: list[str]) -> TaskSpec:
        return task.model_copy(update={"metrics": task.metrics.model_copy(update={"report": ids})})

    return only(case), (only(dataset) if dataset else None)


def prediction_batches(model: Any, images: np.ndarray) -> Iterable[tuple[int, np.ndarray]]:
    """A model's predictions batch by batch: its ``iter_predict`` when it has one, else one batch of ``predict``."""
    if hasattr(model, "iter_predict"):
        return model.iter_predict(images)
    return [(0, np.asarray(model.predict(images)))]


def _take(array: np.ndarray | None, start: int, stop: int) -> np.ndarray | None:
    return None if array is None else array[start:stop]


def _pool(settings: InferenceSettings) -> cf.Executor | None:
    if settings.score_pool == "thread":
        return cf.ThreadPoolExecutor(settings.score_workers, thread_name_prefix="mbench-score")
    if settings.score_pool == "process":  # spawn: never fork a process that runs torch threads
        return cf.ProcessPoolExecutor(settings.score_workers, mp_context=multiprocessing.get_context("spawn"))
    return None


def predict_and_score(batches: Iterable[tuple[int, np.ndarray]], task: TaskSpec, ids: list[str], groups: list[str],
                      targets: np.ndarray, context: dict[str, Any], labelmaps: np.ndarray | None = None,
                      spacing: np.ndarray | None = None, settings: InferenceSettings | None = None,
                      ) -> tuple[np.ndarray, list[dict[str, Any]]]:
    """Consume ``(start, predictions)`` batches (e.g. a learner's ``iter_predict``), scoring each in the pool.

    Returns the concatenated predictions and the rows of :func:`score_rows` (same values, same order). The
    pool is ``settings.score_pool`` (default: the settings in force); ``serial`` scores each batch in turn.
    """
    settings = settings or current_inference()
    case_task, dataset_task = split_metrics(task)
    parts: list[np.ndarray] = []
    futures: list[cf.Future | list[dict[str, Any]]] = []
    pool = _pool(settings)
    try:
        for start, pred in batches:
            stop = start + len(pred)
            parts.append(pred)
            args = (case_task, ids[start:stop], groups[start:stop], pred, targets[start:stop], context,
                    _take(labelmaps, start, stop), _take(spacing, start, stop))
            futures.append(pool.submit(score_rows, *args) if pool is not None else score_rows(*args))
        batch_rows = [f.result() if isinstance(f, cf.Future) else f for f in futures]
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
    predictions = np.concatenate(parts)
    if len(predictions) != len(ids):
        raise ValueError(f"the batches cover {len(predictions)} samples, expected {len(ids)}")
    rows = [row for chunk in batch_rows for row in chunk]
    if dataset_task is not None:
        rows += score_rows(dataset_task, ids, groups, predictions, targets, context, labelmaps, spacing)
    if not task.regions:  # score_rows' order: metric by metric (stable sort keeps the case order)
        order = {m: k for k, m in enumerate(task.metrics.report)}
        rows.sort(key=lambda r: order[r["metric"]])
    return predictions, rows
