"""``mbench leaderboard build``: render the static leaderboard site from a results folder.

Examples::

    mbench leaderboard build
    mbench leaderboard build --results results --config leaderboard/leaderboard.yaml --out public/
"""

from __future__ import annotations

import argparse

__all__ = ["add_parser", "cmd_build"]


def cmd_build(args: argparse.Namespace) -> int:
    """Build the site and print where it went."""
    from rich.markup import escape

    from mbench.cli.display import console
    from mbench.leaderboard import build_site
    from mbench.paths import results_dir

    report = build_site(args.results or results_dir(), args.config, args.out, resamples=args.resamples)
    console.print(f"leaderboard: {len(report.tasks)} task(s), {report.runs} run(s), {report.pages} pages in "
                  f"{report.seconds:.1f} s", highlight=False)
    for skipped in report.skipped:
        console.print(f"[yellow]left out[/yellow] {escape(skipped.path)}: {escape(skipped.reason)}", highlight=False)
    for problem in report.problems:
        console.print(f"[bold red]not compared[/bold red] {escape(problem)}", highlight=False)
    console.print(f"open {escape(str(report.out / 'index.html'))}", highlight=False)
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``mbench leaderboard build`` on the top-level subcommand parser."""
    p = sub.add_parser("leaderboard", help="build the static HTML leaderboard")
    actions = p.add_subparsers(dest="leaderboard_command", required=True)
    b = actions.add_parser("build", help="render the site from a results folder (works offline, no CDN)")
    b.add_argument("--results", help="results root with one folder per run (default ./results or $MBENCH_RESULTS)")
    b.add_argument("--config", help="leaderboard config (default leaderboard/leaderboard.yaml in the checkout)")
    b.add_argument("--out", help="site folder (default leaderboard/site); replaced only if empty or an earlier build")
    b.add_argument("--resamples", type=int, help="bootstrap resamples (overrides the config's bootstrap.resamples)")
    b.set_defaults(func=cmd_build)
