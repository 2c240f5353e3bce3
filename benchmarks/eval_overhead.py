"""Naive per-image evaluation against mbench's batched, overlapped evaluation, in the same run.

For one task's test split and an untrained (randomly initialised, seed 0) model at the card's official
resolution, each variant turns the normalised test images into score rows:

* ``naive``: one image per forward pass, no DataLoader, then every metric after the last prediction;
* ``mbench/serial``: batched inference (shared helper, DataLoader, inference mode), metrics after each batch;
* ``mbench/thread``: the same, metrics of batch k in a thread pool while batch k+1 is inferred;
* ``mbench/process``: the same with a process pool.

Variants run interleaved ``--repeats`` times (median), all rows are checked identical, and the ratios to
``naive`` are printed. Run: ``python benchmarks/eval_overhead.py [task=brats18-regions] [model=unet] [--limit 48]
[--batch-size 16] [--device cpu]``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from mbench.config.resolve import resolve_run_config  # noqa: E402
from mbench.inference.bench import cpu_model  # noqa: E402
from mbench.inference.overlap import predict_and_score  # noqa: E402
from mbench.inference.settings import InferenceSettings, use_inference  # noqa: E402
from mbench.models.baselines.torch_utils import seed_torch  # noqa: E402
from mbench.models.registry import create_model, get_model_entry  # noqa: E402
from mbench.protocols.base import RunContext  # noqa: E402
from mbench.protocols.scoring import score_rows  # noqa: E402


def naive(learner, images, task, test, targets):
    """One image per forward pass, then all the metrics."""
    out = []
    with torch.inference_mode():
        for img in images:
            x = torch.as_tensor(np.ascontiguousarray(img[None] if img.ndim == 3 else img[None, None]))
            x = x.to(learner.device)
            out.append(learner._to_prediction(learner._forward(x), x).cpu().numpy())
    pred = np.concatenate(out)
    return score_rows(task, test.ids, test.groups, pred, targets, {"seed": 0}, test.labelmaps, test.spacing)


def mbench_path(learner, images, task, test, targets, settings):
    with use_inference(settings):
        _, rows = predict_and_score(learner.iter_predict(images), task, test.ids, test.groups, targets, {"seed": 0},
                                    test.labelmaps, test.spacing)
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("assignments", nargs="*", default=[], help="task=<id> model=<id>")
    parser.add_argument("--limit", type=int, default=48)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--score-workers", type=int, default=1)
    parser.add_argument("--json", help="also write the numbers to this file")
    args = parser.parse_args()
    named = dict(a.split("=", 1) for a in args.assignments)
    config = resolve_run_config(named.get("task", "brats18-regions"), named.get("model", "unet"),
                                {"run.device": args.device}, limit=args.limit)
    ctx = RunContext(config)
    test, images = ctx.test, ctx.model_inputs(ctx.test)
    targets = ctx.task.targets(test)
    learner = create_model(get_model_entry(config.model), config.model_params, args.device)
    seed_torch(0)
    learner.net = learner.build(targets)
    learner.net.eval()
    variants = {"naive": lambda: naive(learner, images, config.task, test, targets)}
    for pool in ("serial", "thread", "process"):
        settings = InferenceSettings(eval_batch_size=args.batch_size, score_pool=pool, score_workers=args.score_workers)
        variants[f"mbench/{pool}"] = (lambda s=settings: mbench_path(learner, images, config.task, test, targets, s))
    times: dict[str, list[float]] = {k: [] for k in variants}
    outputs: dict[str, list[dict]] = {}
    for _ in range(args.repeats):
        for name, fn in variants.items():
            t0 = time.perf_counter()
            outputs[name] = fn()
            times[name].append(time.perf_counter() - t0)
            if name.startswith("mbench/") and outputs[name] != outputs["mbench/serial"]:
                raise SystemExit(f"{name}: rows differ from mbench/serial (overlapped scoring must not change scores)")
    # batch size 1 vs N may change the convolutions' rounding (ulp-level), and with untrained weights a
    # near-tie can flip a pixel's argmax: report how many naive rows differ instead of requiring equality
    naive_diff = sum(a["value"] != b["value"] and not (a["value"] != a["value"] and b["value"] != b["value"])
                     for a, b in zip(outputs["naive"], outputs["mbench/serial"]))
    medians = {k: statistics.median(v) for k, v in times.items()}
    print(f"{config.task.id} · {config.model} (random init) · {len(test)} images {tuple(images.shape[1:])} · "
          f"metrics {', '.join(config.task.metrics.report)} · device {args.device} · CPU {cpu_model()} · "
          f"torch {torch.__version__} · {torch.get_num_threads()} threads · batch {args.batch_size}")
    print(f"{'variant':<16}{'median s':>10}{'images/s':>10}{'naive / variant':>17}")
    for name, t in medians.items():
        print(f"{name:<16}{t:>10.3f}{len(test) / t:>10.1f}{medians['naive'] / t:>17.2f}")
    print(f"rows identical across the mbench variants: yes; naive rows differing from them: {naive_diff} of "
          f"{len(outputs['naive'])} (batch-size-dependent rounding of the convolutions)")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"task": config.task.id, "model": config.model, "n": len(test), "batch_size": args.batch_size,
                       "seconds": times, "medians": medians}, fh, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
