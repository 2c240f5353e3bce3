"""``mbench submission new|inputs``, ``mbench submit`` and ``mbench validate submission=<path> [--schema]``.

Examples::

    mbench submission new my-sampler task=brats kind=sampler
    mbench validate submission=my-sampler
    mbench validate --schema > submission.schema.json
    mbench submit my-sampler task=brats --quick
    mbench submission inputs task=brats-wt-full inputs/    # test images for predictions-only packages
"""

from __future__ import annotations

import argparse
import json
import tempfile
from functools import partial
from pathlib import Path
from typing import Any

from mbench.errors import MbenchError

__all__ = ["add_parser", "cmd_inputs", "cmd_new", "cmd_submit", "cmd_validate_submission"]


def _assignments(items: list[str], required: tuple[str, ...], named: tuple[str, ...]) -> tuple[dict[str, str],
                                                                                               dict[str, Any]]:
    from mbench.config.overrides import parse_overrides

    found: dict[str, str] = {}
    rest = []
    for item in items:
        key, sep, value = item.partition("=")
        if sep and key in named:
            found[key] = value
        else:
            rest.append(item)
    missing = [r for r in required if r not in found]
    if missing:
        raise MbenchError(f"missing {' and '.join(f'{m}=' for m in missing)}", found=" ".join(items) or "nothing",
                          expected=" ".join(f"{r}=<...>" for r in required),
                          fix="`mbench ls tasks` lists the task ids")
    return found, parse_overrides(rest)


def cmd_new(args: argparse.Namespace) -> int:
    """Scaffold a package that validates and runs as it is."""
    from rich.markup import escape

    from mbench.cli.display import console
    from mbench.submissions.scaffold import new_package

    named, extra = _assignments(args.assignments, ("task", "kind"), ("task", "kind", "id", "team", "author"))
    if extra:
        raise MbenchError(f"unknown arguments {sorted(extra)}", expected="task= kind= [id= team= author=]")
    folder = new_package(args.folder, named["task"], named["kind"], package_id=named.get("id"),
                         team=named.get("team", "my team"), author=named.get("author", "A. Author"))
    console.print(f"wrote {escape(str(folder))}:", highlight=False)
    for path in sorted(p for p in folder.rglob("*") if p.is_file())[:12]:
        console.print(f"  {escape(str(path.relative_to(folder)))}", highlight=False)
    console.print(f"next: mbench validate submission={escape(str(folder))}  ·  "
                  f"mbench submit {escape(str(folder))} task={escape(named['task'])}", highlight=False)
    return 0


def cmd_inputs(args: argparse.Namespace) -> int:
    """Export a task's test inputs (no references) for predictions-only packages."""
    from rich.markup import escape

    from mbench.cli.display import console
    from mbench.submissions.scaffold import export_test_inputs

    named, overrides = _assignments(args.assignments, ("task",), ("task",))
    ids = export_test_inputs(named["task"], args.folder, overrides, quick=args.quick)
    console.print(f"wrote {len(ids)} test inputs to {escape(str(args.folder))}/images (ids in inputs.json); "
                  "write one prediction per id to predictions/<case>/<slice>.npy", highlight=False)
    return 0


def cmd_validate_submission(args: argparse.Namespace) -> int:
    """``mbench validate submission=<path> [task=<id>] [--schema] [--no-data]``."""
    from rich.markup import escape
    from rich.table import Table

    from mbench.cli.display import console
    from mbench.submissions.manifest import manifest_schema
    from mbench.submissions.validate import validate_submission

    if args.schema:
        print(json.dumps(manifest_schema(), indent=1))
        return 0
    named, extra = _assignments(args.assignments, ("submission",), ("submission", "task"))
    if extra:
        raise MbenchError(f"unknown arguments {sorted(extra)}", expected="submission=<path> [task=<id>]")
    report = validate_submission(named["submission"], named.get("task"), data=not args.no_data)
    table = Table(title=f"validate {escape(named['submission'])}")
    table.add_column("check")
    table.add_column("result")
    for check in report.checks:
        mark = "[green]✓[/green]" if check.ok else "[bold red]✗[/bold red]"
        table.add_row(f"{mark} {escape(check.name)}", escape(check.detail))
    console.print(table)
    if not report.ok:
        console.print("[bold red]not valid[/bold red]: fix the checks marked ✗", highlight=False)
        return 1
    return 0


def _route_validate(original: Any, args: argparse.Namespace) -> int:
    if getattr(args, "schema", False) or any(a.startswith("submission=") for a in args.assignments):
        return cmd_validate_submission(args)
    return original(args)


def cmd_submit(args: argparse.Namespace) -> int:
    """Run a package under its task's protocol and store the results."""
    from rich.markup import escape

    from mbench.cli.display import RichRunObserver, console, print_summary
    from mbench.protocols import create_protocol
    from mbench.submissions.package import open_package
    from mbench.submissions.submit import build_config, submit

    named, overrides = _assignments(args.assignments, ("task",), ("task",))
    observer = None
    if not args.no_progress:
        with tempfile.TemporaryDirectory() as tmp:
            package = open_package(args.path, Path(tmp) / "package")
            n_jobs = len(create_protocol(build_config(package, named["task"], overrides, quick=args.quick,
                                                      limit=args.limit)).jobs())
        observer = RichRunObserver(n_jobs)
    if observer is not None:
        with observer:
            result = submit(args.path, named["task"], overrides, quick=args.quick, limit=args.limit, fresh=args.fresh,
                            allow_unisolated=args.allow_unisolated, observer=observer,
                            loading_progress=observer.loading, keep_sandbox=args.keep_sandbox)
    else:
        result = submit(args.path, named["task"], overrides, quick=args.quick, limit=args.limit, fresh=args.fresh,
                        allow_unisolated=args.allow_unisolated, keep_sandbox=args.keep_sandbox)
    record = result.folder.read_record() if result.folder.exists() else {}
    sub = record.get("submission", {})
    console.print(f"submission [bold]{escape(str(sub.get('model_id', '?')))}[/bold] · team "
                  f"{escape(str(sub.get('team', '?')))} · package sha256 {result.package_sha256}", highlight=False)
    console.print(f"sandbox: {escape(result.isolation.describe())}", highlight=False)
    if sub.get("sandbox_dir"):
        console.print(f"sandbox folder kept: {escape(sub['sandbox_dir'])}", highlight=False)
    if not result.ok:
        report = result.report or {}
        console.print(f"[bold red]stopped[/bold red]: {escape(str(report.get('kind')))}: "
                      f"{escape(str(report.get('what')))}", highlight=False)
        for key in ("case", "limit", "found", "expected", "fix"):
            if report.get(key):
                console.print(f"  {key}: {escape(str(report[key]))}", highlight=False)
        console.print(f"recorded as failed in {escape(str(result.folder.path))}", highlight=False)
        return 1
    print_summary(record, result.folder.read_summary(),
                  [r for r in record.get("config", {}).get("task", {}).get("reference_results", [])])
    console.print(f"results: {escape(str(result.folder.path))}", highlight=False)
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``submission``, ``submit`` and ``validate submission=`` on the top-level subcommand parser."""
    p = sub.add_parser("submission", help="write or prepare submission packages")
    actions = p.add_subparsers(dest="submission_command", required=True)
    new = actions.add_parser("new", help="scaffold a package that validates and runs as it is")
    new.add_argument("folder", help="new package folder")
    new.add_argument("assignments", nargs="*", metavar="key=value", help="task=<id> kind=<kind> [id= team= author=]")
    new.set_defaults(func=cmd_new)
    inputs = actions.add_parser("inputs", help="export a task's test images (no labels) for predictions-only packages")
    inputs.add_argument("folder", help="output folder")
    inputs.add_argument("assignments", nargs="*", metavar="key=value", help="task=<id> and task overrides")
    inputs.add_argument("--quick", action="store_true")
    inputs.set_defaults(func=cmd_inputs)

    s = sub.add_parser("submit", help="run a submission package under its task's protocol and store the results")
    s.add_argument("path", help="package folder or .zip")
    s.add_argument("assignments", nargs="*", metavar="key=value",
                   help="task=<id>, model.<param>=, sandbox.<limit>= (wall_s cpu_s memory_mb processes output_mb), "
                        "task overrides")
    s.add_argument("--quick", action="store_true", help="the task's quick setting (unofficial)")
    s.add_argument("--limit", type=int, help="at most N samples per split (unofficial)")
    s.add_argument("--fresh", action="store_true", help="discard earlier results of this config")
    s.add_argument("--allow-unisolated", action="store_true",
                   help="run where the sandbox cannot isolate the code (the run is then unofficial)")
    s.add_argument("--keep-sandbox", action="store_true", help="keep the sandbox folder (inputs, outputs) to inspect")
    s.add_argument("--no-progress", action="store_true", help="no progress bars")
    s.set_defaults(func=cmd_submit)

    validate = sub.choices.get("validate")
    if validate is not None:  # extend `mbench validate` with submission=<path>
        validate.add_argument("--schema", action="store_true", help="print the submission.yaml JSON Schema")
        validate.add_argument("--no-data", action="store_true",
                              help="submission=: skip checks that read the task's data (predictions coverage)")
        validate.set_defaults(func=partial(_route_validate, validate.get_default("func")))
        validate.usage = None
        validate.description = "check a task card, its split and its data; or a submission package (submission=)"
