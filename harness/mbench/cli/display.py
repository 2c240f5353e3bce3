"""Rich terminal output: progress bars per job (seed × round), summary tables."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from mbench.protocols.base import Job
from mbench.results.summary import format_summary

__all__ = ["RichRunObserver", "print_summary", "console"]

console = Console(stderr=False)


def _job_label(job: Job) -> str:
    parts = [f"seed {job.seed}"]
    if job.fold is not None:
        parts.append(f"fold {job.fold}")
    if job.round is not None:
        parts.append(f"round {job.round}")
    if "/" in job.key:  # a job of a sweep of several runs (key <run_id>/<job key>): say which run
        parts.insert(0, f"{job.model} [{job.key.split('/')[0].rsplit('--', 1)[-1][:6]}]")
    return " · ".join(parts)


class RichRunObserver:
    """One progress bar per job, plus bars for data loading; use as a context manager."""

    def __init__(self, total_jobs: int) -> None:
        self.progress = Progress(TextColumn("{task.description}", style="bold"), BarColumn(),
                                 TextColumn("{task.fields[stage]}", style="cyan"), TimeElapsedColumn(),
                                 console=console, transient=False)
        self.overall = self.progress.add_task("all jobs", total=total_jobs, stage="")
        self._bars: dict[str, Any] = {}
        self._stages: dict[str, list[str]] = {}
        self._loading: dict[str, Any] = {}

    def __enter__(self) -> "RichRunObserver":
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def loading(self, stage: str, done: int, total: int) -> None:
        if stage not in self._loading:
            self._loading[stage] = self.progress.add_task(stage, total=total, stage="cases")
        self.progress.update(self._loading[stage], completed=done)

    def job_started(self, job: Job, stages: int) -> None:
        if job.key in self._bars:  # started again: a cluster reruns a job lost with its node
            self.progress.reset(self._bars[job.key], total=100 * stages, stage="restarted")
        else:
            self._bars[job.key] = self.progress.add_task(_job_label(job), total=100 * stages, stage="starting")
        self._stages[job.key] = []

    def job_progress(self, job: Job, stage: str, completed: int, total: int) -> None:
        seen = self._stages[job.key]
        if stage not in seen:
            seen.append(stage)
        index = seen.index(stage)
        self.progress.update(self._bars[job.key], completed=100 * index + 100 * completed / max(total, 1),
                             stage=f"{stage} {completed}/{total}")

    def job_finished(self, job: Job, skipped: bool) -> None:
        if skipped:
            self._bars[job.key] = self.progress.add_task(_job_label(job), total=1, completed=1,
                                                         stage="done earlier (resumed)")
        else:
            bar = self._bars[job.key]
            self.progress.update(bar, completed=self.progress.tasks[bar].total, stage="done")
        self.progress.advance(self.overall)


def print_summary(record: dict[str, Any], summary: dict[str, Any], references: list[dict] | None = None) -> None:
    """Print a run's header line, its learning-curve / results table, and the paper's numbers."""
    status = "[green]OFFICIAL[/green]" if record["official"] else "[yellow]UNOFFICIAL[/yellow]"
    console.print(f"[bold]{record['task']}[/bold] · model [bold]{record['model']}[/bold] · {status} · "
                  f"data: {record['data']['source']} · seeds {record['seeds']}")
    if not record["official"]:
        console.print("  unofficial because: " + "; ".join(record["unofficial_reasons"]), style="yellow")
    table = Table()
    rows = format_summary(summary)
    for i, head in enumerate(rows[0]):
        table.add_column(head, justify="right" if i else "left", no_wrap=True)
    for row in rows[1:]:
        table.add_row(*row)
    console.print(table)
    for r in references or []:
        console.print(f"  reported in paper: {r['metric']} = {r['value']} ({r['setting']}; {r['source']})")
