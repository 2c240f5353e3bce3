"""Measure evaluation speed in one run: the model's pure forward throughput, end-to-end images/s, and the overhead.

* **forward**: the network's forward pass (the learner's ``_forward``, at the task's official resolution) on a
  batch already on the device, under ``inference_mode`` and the run's autocast; warm-up calls first, CUDA
  synchronised around each timed call; ``repeats`` calls before each end-to-end pass (interleaved), the median.
* **end to end**: what evaluating the test split costs: reading the cases from the task's data and
  preprocessing them (the card's clipping / scaling / slicing, then normalisation), batching, host-to-device
  transfer, forward, post-processing to the task's prediction, copy back, and every reported metric (scored
  in the CPU pool while the next batch is inferred). The median of ``e2e_repeats`` passes.
* **overhead** ``= (end_to_end_s - forward_s) / forward_s`` where ``forward_s`` is the pure forward time of the
  same number of images. The loop-only overhead leaves out reading and preprocessing the data.

Weights are randomly initialised (seed 0): throughput does not depend on trained values. The training-split
normalisation statistics (``train_zscore``) are a fitted quantity and are computed before the timing.

Example (tiny, so that it runs anywhere)::

    report = run_bench("brats18-wtseg", "unet", limit=8, repeats=2, e2e_repeats=1,
                       overrides={"model.encoder": "tu-resnet10t", "model.decoder_channels": [8, 8, 8, 8]})
    report["overhead"]
"""

from __future__ import annotations

import platform
import statistics
import time
from typing import Any

import numpy as np

from mbench.errors import MbenchError
from mbench.inference.settings import InferenceSettings, use_inference

__all__ = ["OVERHEAD_TARGET", "run_bench", "cpu_model"]

OVERHEAD_TARGET = 0.10  # issue 9: harness overhead below 10 % of the forward time (on a GPU)


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo`` on Linux, else ``platform.processor()``)."""
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _sync(device) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _learner(config) -> tuple[Any, str]:
    """The model to time: the run's learner, or the task model of an active-learning task (samplers do not predict)."""
    from mbench.models.registry import create_model, get_model_entry

    model, params = ((config.learner, config.learner_params) if config.model_kind == "sampler"
                     else (config.model, config.model_params))
    learner = create_model(get_model_entry(model), params, config.run.device)
    missing = [m for m in ("build", "_forward", "_to_prediction", "iter_predict") if not hasattr(learner, m)]
    if missing:
        raise MbenchError(f"mbench bench times mbench's torch learners; {model!r} lacks {', '.join(missing)}",
                          expected="a SupervisedLearner (unet, segformer_b0, unet_ronneberger, resnet18, ...)",
                          found=type(learner).__name__, fix="pick one of the task's network learners")
    return learner, model


def _time_forward(learner, x, precision: str, warmup: int, repeats: int) -> list[float]:
    import torch

    from mbench.inference.settings import autocast

    times = []
    with torch.inference_mode(), autocast(learner.device, precision):
        for k in range(warmup + repeats):
            _sync(learner.device)
            t0 = time.perf_counter()
            learner._forward(x)
            _sync(learner.device)
            if k >= warmup:
                times.append(time.perf_counter() - t0)
    return times


def _versions(device) -> dict[str, Any]:
    import torch

    out = {"torch": torch.__version__, "cuda": torch.version.cuda, "cudnn": torch.backends.cudnn.version(),
           "cpu": cpu_model(), "torch_threads": torch.get_num_threads(), "python": platform.python_version()}
    if device.type == "cuda":
        out["gpu"] = torch.cuda.get_device_name(device)
    return out


def run_bench(task: str, model: str, *, overrides: dict[str, Any] | None = None, batch_size: int | None = None,
              precision: str = "fp32", limit: int | None = None, device: str = "auto", warmup: int = 3,
              repeats: int = 10, e2e_repeats: int = 3, num_workers: int = 0, score_pool: str = "thread",
              score_workers: int = 1) -> dict[str, Any]:
    """Time ``model`` on the test split of ``task`` (see the module docstring); returns the report as plain data.

    ``batch_size`` is the evaluation batch size (default: the model's batch size in the card); ``limit`` keeps
    at most that many test samples (and training samples for the normalisation statistics).
    """
    import torch

    from mbench.config.resolve import resolve_run_config
    from mbench.models.baselines.torch_utils import seed_torch
    from mbench.protocols.base import RunContext, normalise_images
    from mbench.tasks.task import Task

    if repeats < 1 or e2e_repeats < 1 or warmup < 0:
        raise MbenchError("invalid repeat counts", expected="repeats >= 1, e2e_repeats >= 1, warmup >= 0",
                          found=f"repeats={repeats}, e2e_repeats={e2e_repeats}, warmup={warmup}")
    config = resolve_run_config(task, model, {**(overrides or {}), "run.device": device, "run.precision": precision},
                                limit=limit)
    official = resolve_run_config(task, model)  # the card as published: its resolution is the official one
    settings = InferenceSettings(precision=precision, eval_batch_size=batch_size, num_workers=num_workers,
                                 score_pool=score_pool, score_workers=score_workers)
    learner, timed_model = _learner(config)
    ctx = RunContext(config)
    stats = ctx.train_stats if config.task.preprocessing.normalise == "train_zscore" else (0.0, 1.0)
    test = ctx.test  # first read: stand-in generation and file-system caches are not what is measured
    if len(test) == 0:
        raise MbenchError(f"task {config.task.id} has no test samples to time", fix="raise --limit or check the split")
    seed_torch(0)
    learner.net = learner.build(ctx.task.targets(test))
    learner.net.eval()
    size = settings.batch_size(learner.batch_size)

    inputs = normalise_images(test.images[:size], config.task.preprocessing.normalise, stats)
    x = torch.as_tensor(np.ascontiguousarray(inputs), dtype=torch.float32)
    x = (x.unsqueeze(1) if x.ndim == 3 else x).to(learner.device)
    forward_times: list[float] = []
    e2e, loop, loading = [], [], []
    for k in range(e2e_repeats):  # interleaved, so that both see the same machine load
        forward_times += _time_forward(learner, x, precision, warmup if k == 0 else 1, repeats)
        t0 = time.perf_counter()
        slices = Task(config.task, config.card_folder, limit=limit).load_split("test")
        images = normalise_images(slices.images, config.task.preprocessing.normalise, stats)
        targets = ctx.task.targets(slices)
        t1 = time.perf_counter()
        with use_inference(settings):
            from mbench.inference.overlap import predict_and_score

            _, rows = predict_and_score(learner.iter_predict(images), config.task, slices.ids, slices.groups, targets,
                                        {"seed": 0}, slices.labelmaps, slices.spacing)
        _sync(learner.device)
        t2 = time.perf_counter()
        e2e.append(t2 - t0)
        loop.append(t2 - t1)
        loading.append(t1 - t0)
    per_image = statistics.median(forward_times) / len(x)
    n = len(test)
    forward_s = per_image * n
    end_to_end_s, loop_s = statistics.median(e2e), statistics.median(loop)
    overhead = (end_to_end_s - forward_s) / forward_s
    return {
        "task": config.task.id, "model": timed_model, "weights": "random initialisation (untrained; seed 0)",
        "device": str(learner.device), "precision": precision, "batch_size": size, "n_images": n,
        "input_shape": list(x.shape[1:]), "image_size": getattr(learner, "image_size", None),
        "metrics": list(config.task.metrics.report), "rows_scored": len(rows),
        "num_workers": num_workers, "score_pool": score_pool, "score_workers": score_workers,
        "forward": {"median_batch_s": statistics.median(forward_times), "min_batch_s": min(forward_times),
                    "repeats": len(forward_times), "warmup": warmup, "images_per_s": 1.0 / per_image},
        "end_to_end": {"seconds": end_to_end_s, "images_per_s": n / end_to_end_s, "repeats": e2e_repeats,
                       "loading_s": statistics.median(loading), "loop_s": loop_s},
        "forward_s": forward_s, "overhead": overhead, "overhead_loop_only": (loop_s - forward_s) / forward_s,
        "target": OVERHEAD_TARGET, "passed": overhead < OVERHEAD_TARGET,
        "official_image_size": official.model_params.get("image_size") if official.model == timed_model
        else (official.learner_params or {}).get("image_size"),
        "environment": _versions(learner.device),
    }
