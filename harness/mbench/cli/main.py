"""``mbench`` subcommands: run, ls, validate, show.

Examples::

    mbench run task=brats model=mvaal --quick
    mbench run task=brats model=mvaal data.root=/data/MICCAI_BraTS_2018_Data_Training
    mbench run task=brats model=vaal --dry-run
    mbench run -m task=brats model=random,vaal,mvaal run.seed=0,1,2 run.executor=ray
    mbench ls tasks
    mbench validate task=brats
    mbench show results/brats18-al-wtseg--mvaal--<hash>
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from typing import Any

import yaml

from mbench import __version__
from mbench.errors import MbenchError

__all__ = ["main", "build_parser"]


def _split_assignments(items: list[str], required: tuple[str, ...]) -> tuple[dict[str, str], dict[str, Any]]:
    """Pull ``task=``/``model=`` out of the positional ``key=value`` list; the rest are overrides."""
    from mbench.config.overrides import parse_overrides

    named: dict[str, str] = {}
    rest = []
    for item in items:
        key, sep, value = item.partition("=")
        if sep and key in ("task", "model"):
            named[key] = value
        else:
            rest.append(item)
    missing = [r for r in required if r not in named]
    if missing:
        raise MbenchError(f"missing {' and '.join(f'{m}=' for m in missing)}",
                          expected="e.g. mbench run task=brats model=mvaal", found=" ".join(items) or "nothing",
                          fix="`mbench ls tasks` and `mbench ls models` list the names")
    return named, parse_overrides(rest)


def _run_configs(args: argparse.Namespace) -> list:
    """One resolved configuration, or (``-m``) one per combination of the comma-separated values."""
    from mbench.config.resolve import resolve_run_config
    from mbench.config.sweep import expand_sweep

    combos = expand_sweep(args.assignments) if args.multirun else [args.assignments]
    configs = []
    for items in combos:
        named, overrides = _split_assignments(items, ("task", "model"))
        if not args.multirun and any("," in v for v in named.values()):
            raise MbenchError("several values need a sweep", found=" ".join(items),
                              fix="add -m to run every combination, e.g. mbench run -m task=brats model=vaal,mvaal")
        configs.append(resolve_run_config(named["task"], named["model"], overrides, quick=args.quick,
                                          limit=args.limit))
    return configs


def _print_dry_run(configs: list) -> None:
    from mbench.cli.display import console

    if len(configs) == 1:
        console.print(yaml.safe_dump(configs[0].resolved(), sort_keys=False, width=110), markup=False,
                      highlight=False)
    else:
        console.print(f"sweep of {len(configs)} runs")
    for config in configs:
        execution = config.run.execution.describe()
        console.print(f"run id:      {config.run_id}" if len(configs) > 1 else f"config hash: {config.hash}")
        if len(configs) == 1:
            console.print(f"run id:      {config.run_id}")
        console.print("official:    " + ("yes" if config.official else "NO — " + "; ".join(config.unofficial_reasons)))
    console.print("executor:    " + " ".join([execution.pop("executor")] + [f"{k}={v}" for k, v in execution.items()]),
                  markup=False)


def cmd_run(args: argparse.Namespace) -> int:
    from mbench.cli.display import RichRunObserver, console, print_summary

    configs = _run_configs(args)
    if args.dry_run:
        _print_dry_run(configs)
        return 0
    from mbench.protocols import create_protocol
    from mbench.runner import execute_sweep

    for config in configs:
        if not config.official:
            console.print(f"[yellow]UNOFFICIAL run[/yellow] {config.run_id}: {'; '.join(config.unofficial_reasons)}")
    n_jobs = sum(len(create_protocol(config).jobs()) for config in {c.run_id: c for c in configs}.values())
    with RichRunObserver(n_jobs) as observer:
        folders = execute_sweep(configs, observer, fresh=args.fresh, loading_progress=observer.loading)
    for folder, config in zip(folders, {c.run_id: c for c in configs}.values()):
        record, summary = folder.read_record(), folder.read_summary()
        print_summary(record, summary, [r.model_dump() for r in config.task.reference_results])
        console.print(f"results: {folder.path}")
    return 0


def cmd_ls(args: argparse.Namespace) -> int:
    from rich.table import Table

    from mbench.cli.display import console

    table = Table(title=args.what)
    if args.what == "tasks":
        from mbench.tasks.registry import list_task_cards

        for col in ("id", "aliases", "problem", "protocol", "primary", "models", "version"):
            table.add_column(col, no_wrap=col == "id")
        for card in list_task_cards():
            s = card.spec
            table.add_row(s.id, ", ".join(s.aliases), s.problem, s.protocol.name, s.metrics.primary,
                          ", ".join(s.models), s.version)
    elif args.what == "models":
        from mbench.models.registry import all_models

        for col in ("id", "kind", "description", "parameters (defaults)"):
            table.add_column(col)
        for entry in all_models().values():
            params = ", ".join(f"{k}={v}" for k, v in entry.defaults.items())
            table.add_row(entry.id, entry.kind, entry.description, params)
        table.columns[0].no_wrap = True
    elif args.what == "metrics":
        from mbench.metrics.registry import METRICS

        for col in ("id", "level", "better", "bounds", "definition", "empty inputs", "reference", "parameters"):
            table.add_column(col)
        for m in METRICS.values():
            params = ", ".join(f"{k}={v}" for k, v in m.params.items())
            table.add_row(m.id, m.level, "higher" if m.higher_is_better else "lower", str(list(m.bounds)),
                          f"{m.description}: {m.definition}" if m.definition else m.description, m.empty_policy,
                          m.reference, params)
    else:
        from mbench.protocols import PROTOCOLS

        table.add_column("id")
        table.add_column("description")
        for name, (_, description) in PROTOCOLS.items():
            table.add_row(name, description)
    console.print(table)
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    from rich.table import Table

    from mbench.cli.display import console
    from mbench.config.resolve import resolve_run_config
    from mbench.tasks.task import Task

    named, overrides = _split_assignments(args.assignments, ("task",))
    checks: list[tuple[str, str]] = []
    from mbench.tasks.registry import load_task

    card = load_task(named["task"])
    checks.append(("card schema", f"{card.path} is a valid TaskSpec v{card.spec.version}"))
    model = named.get("model", card.spec.models[0])
    config = resolve_run_config(named["task"], model, overrides, quick=args.quick)
    task = Task(config.task, config.card_folder)
    root = task.data_root
    checks.append(("data", f"{task.data_source} at {root}"))
    split = task.split
    sizes = ", ".join(f"{k} {len(v)}" for k, v in split.splits.items())
    checks.append(("split", f"sha256 matches the card; no {split.group_key} in two splits; all cases present ({sizes})"))
    case = split.ids(config.task.split_names()[0])[0]
    arrays = task.adapter.load_input(case)
    ref = task.adapter.load_reference(case)
    checks.append(("adapter", f"read {case}: {', '.join(f'{k} {v.shape}' for k, v in arrays.items())}, "
                              f"reference {ref.shape} labels {sorted(set(ref.ravel().tolist()))}"))
    checks.append(("config", f"hash {config.hash[:16]}…, {'official' if config.official else 'unofficial'}"))
    table = Table(title=f"validate {card.spec.id}")
    table.add_column("check")
    table.add_column("result")
    for name, result in checks:
        table.add_row(f"[green]✓[/green] {name}", result)
    console.print(table)
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from mbench.cli.display import console, print_summary
    from mbench.paths import results_dir
    from mbench.results.store import ResultsStore

    folder = ResultsStore(args.out or results_dir()).find(args.run)
    record = folder.read_record()
    summary = folder.read_summary()
    if args.json:
        print(json.dumps(summary, indent=1))
        return 0
    refs = record["config"]["task"].get("reference_results", [])
    print_summary(record, summary, refs)
    console.print(f"status: {record['status']} · config {record['config_hash'][:12]} · git {record['environment']['git']['sha']}"
                  f" · split {record['split']['sha256'][:12]} · data {record['data']['sha256'][:12]}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mbench", description="Benchmark harness for medical image analysis")
    parser.add_argument("--version", action="version", version=f"mbench {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging (-vv for debug)")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("run", help="run a model on a task under the task's protocol")
    p.add_argument("assignments", nargs="*", metavar="key=value", help="task=<id> model=<id> and overrides")
    p.add_argument("--quick", action="store_true", help="the task's CPU-sized quick setting (unofficial)")
    p.add_argument("--limit", type=int, help="at most N samples per split (unofficial)")
    p.add_argument("--dry-run", action="store_true", help="print the resolved config and its hash, run nothing")
    p.add_argument("--fresh", action="store_true", help="discard earlier results of this config instead of resuming")
    p.add_argument("-m", "--multirun", action="store_true",
                   help="sweep: one run per combination of comma-separated values (model=vaal,mvaal run.seed=0,1,2); "
                        "all jobs go to run.executor together")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("ls", help="list tasks, models, metrics or protocols")
    p.add_argument("what", choices=["tasks", "models", "metrics", "protocols"])
    p.set_defaults(func=cmd_ls)

    p = sub.add_parser("validate", help="check a task card, its split and its data")
    p.add_argument("assignments", nargs="*", metavar="key=value", help="task=<id> [model=<id>] and overrides")
    p.add_argument("--quick", action="store_true")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("show", help="print the summary of a finished run")
    p.add_argument("run", help="run folder, run id or unique prefix")
    p.add_argument("--out", help="results root (default ./results)")
    p.add_argument("--json", action="store_true", help="print summary.json")
    p.set_defaults(func=cmd_show)
    __import__("mbench.cli.leaderboard", fromlist=["add_parser"]).add_parser(sub)
    __import__("mbench.cli.compare", fromlist=["add_parser"]).add_parser(sub)
    __import__("mbench.cli.submission", fromlist=["add_parser"]).add_parser(sub)
    __import__("mbench.cli.bench", fromlist=["add_parser"]).add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=[logging.WARNING, logging.INFO, logging.DEBUG][min(args.verbose, 2)],
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        return args.func(args)
    except MbenchError as exc:
        from mbench.cli.display import console

        console.print(f"[bold red]error:[/bold red] {exc}", markup=True, highlight=False)
        return 2


if __name__ == "__main__":
    sys.exit(main())
