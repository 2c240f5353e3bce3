"""``mbench bench``: evaluation speed of a model on a task: forward throughput, end-to-end images/s, overhead.

Examples::

    mbench bench task=brats18-wtseg model=unet --limit 64
    mbench bench task=kvasir-seg model=unet --device cuda --precision bf16 --batch-size 32
    mbench bench task=brats18-wtseg model=unet --json

The model is randomly initialised (throughput does not depend on trained weights) and runs at the task's
official resolution. The overhead is (end-to-end time - pure forward time) / pure forward time; the target
is below 10 % (issue 9, on a GPU).
"""

from __future__ import annotations

import argparse
import json
from typing import Any

__all__ = ["add_parser", "cmd_bench", "render_bench"]


def render_bench(report: dict[str, Any]) -> None:
    """Print a bench report as a rich table."""
    from rich.table import Table

    from mbench.cli.display import console

    env = report["environment"]
    where = env.get("gpu") or env["cpu"]
    table = Table(title=f"mbench bench · {report['task']} · {report['model']} · {report['device']} ({where})")
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_column("note")
    fwd, e2e = report["forward"], report["end_to_end"]
    verdict = "[green]PASS[/green]" if report["passed"] else "[red]FAIL[/red]"
    rows = [
        ("images", str(report["n_images"]),
         f"test split, input {tuple(report['input_shape'])}, "
         f"image_size {report['image_size']} (card: {report['official_image_size']})"),
        ("batch size / precision", f"{report['batch_size']} / {report['precision']}",
         f"workers {report['num_workers']}, scoring pool {report['score_pool']} x{report['score_workers']}"),
        ("forward", f"{fwd['images_per_s']:.1f} img/s",
         f"median of {fwd['repeats']} batches after {fwd['warmup']} warm-up: {1000 * fwd['median_batch_s']:.2f} ms"),
        ("end to end", f"{e2e['images_per_s']:.1f} img/s",
         f"{e2e['seconds']:.3f} s: loading + preprocessing {e2e['loading_s']:.3f} s, loop {e2e['loop_s']:.3f} s"),
        ("forward time of these images", f"{report['forward_s']:.3f} s", ""),
        ("overhead, loop only", f"{100 * report['overhead_loop_only']:.1f} %",
         "batching, transfer, post-processing, metrics " + ", ".join(report["metrics"])),
        ("overhead", f"{100 * report['overhead']:.1f} %",
         f"(end to end - forward) / forward; target < {100 * report['target']:.0f} %: {verdict}"),
    ]
    for row in rows:
        table.add_row(*row)
    console.print(table)
    console.print(f"weights: {report['weights']} · torch {env['torch']} · CUDA {env['cuda']} · CPU {env['cpu']}"
                  f" · {env['torch_threads']} torch threads", highlight=False)


def cmd_bench(args: argparse.Namespace) -> int:
    from mbench.cli.main import _split_assignments
    from mbench.inference.bench import run_bench

    named, overrides = _split_assignments(args.assignments, ("task", "model"))
    report = run_bench(named["task"], named["model"], overrides=overrides, batch_size=args.batch_size,
                       precision=args.precision, limit=args.limit, device=args.device, warmup=args.warmup,
                       repeats=args.repeats, e2e_repeats=args.e2e_repeats, num_workers=args.num_workers,
                       score_pool=args.score_pool, score_workers=args.score_workers)
    if args.json:
        print(json.dumps(report, indent=1))
    else:
        render_bench(report)
    return 0


def add_parser(sub: Any) -> None:
    """Register ``mbench bench`` on the main parser's subcommands."""
    from mbench.inference.settings import PRECISIONS, SCORE_POOLS

    p = sub.add_parser("bench", help="evaluation speed: forward throughput, end-to-end images/s, harness overhead",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("assignments", nargs="*", metavar="key=value", help="task=<id> model=<id> and overrides")
    p.add_argument("--batch-size", type=int, help="evaluation batch size (default: the model's in the card)")
    p.add_argument("--precision", choices=PRECISIONS, default="fp32", help="autocast of the forward pass")
    p.add_argument("--limit", type=int, help="at most N test samples")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    p.add_argument("--repeats", type=int, default=10, help="timed forward calls (median)")
    p.add_argument("--warmup", type=int, default=3, help="untimed forward calls first")
    p.add_argument("--e2e-repeats", type=int, default=3, help="end-to-end passes over the test split (median)")
    p.add_argument("--num-workers", type=int, default=0, help="DataLoader workers")
    p.add_argument("--score-pool", choices=SCORE_POOLS, default="thread", help="where metrics run during inference")
    p.add_argument("--score-workers", type=int, default=1, help="threads / processes of the scoring pool")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=cmd_bench)
