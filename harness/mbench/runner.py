"""Run a resolved configuration end to end: verify data, run jobs, write provenance, scores and summary."""

from __future__ import annotations

import datetime as dt
import shutil
import time
from typing import Any

from mbench.config.resolve import RunConfig, card_sha256
from mbench.errors import MbenchError
from mbench.executors.local import LocalExecutor, RunObserver
from mbench.protocols import create_protocol
from mbench.protocols.base import RunContext
from mbench.provenance import environment
from mbench.results.store import ResultsStore, RunFolder
from mbench.results.summary import format_summary, summarise

__all__ = ["execute_run", "render_summary_text"]


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def render_summary_text(record: dict[str, Any], summary: dict[str, Any]) -> str:
    """Plain-text summary table (also written to summary.txt)."""
    table = format_summary(summary)
    widths = [max(len(r[i]) for r in table) for i in range(len(table[0]))]
    lines = [f"{record['task']} · {record['model']} · {'OFFICIAL' if record['official'] else 'UNOFFICIAL'}"
             f" · data: {record['data']['source']}"]
    if not record["official"]:
        lines.append("unofficial because: " + "; ".join(record["unofficial_reasons"]))
    for i, row in enumerate(table):
        lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths)))
        if i == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines) + "\n"


def execute_run(config: RunConfig, observer: RunObserver | None = None, *, fresh: bool = False,
                loading_progress=None, context: RunContext | None = None) -> RunFolder:
    """Run (or resume) a configuration and return its results folder.

    ``context`` lets a caller share a :class:`RunContext` it built for this configuration (its loaded data).
    """
    store = ResultsStore(config.run.out)
    folder = store.folder(config.run_id)
    if fresh and folder.path.exists():
        shutil.rmtree(folder.path)
    previous = folder.read_record() if folder.exists() else None
    if previous and previous.get("config_hash") != config.hash:
        raise MbenchError(f"results folder {folder.path} holds a different configuration",
                          expected=config.hash, found=previous.get("config_hash"), fix="rerun with --fresh")
    protocol = create_protocol(config)
    ctx = context if context is not None else RunContext(config, progress=loading_progress)
    task = ctx.task
    split = task.split  # verifies hash, leaks and coverage before any work
    for name in protocol.splits_to_load():  # load (and check) the data before the first job
        ctx.split(name)
    record: dict[str, Any] = {
        "run_id": config.run_id, "status": "running", "task": config.task.id, "task_version": config.task.version,
        "model": config.model, "official": config.official, "unofficial_reasons": list(config.unofficial_reasons),
        "config_hash": config.hash, "config": config.resolved(), "card": {"path": str(config.card_path),
                                                                          "sha256": card_sha256(config)},
        "split": {"file": str(split.path), "sha256": split.sha256, "sizes": {k: len(v) for k, v in split.splits.items()}},
        "data": {"source": task.data_source, "root": str(task.data_root), "sha256": task.data_hash()},
        "seeds": list(config.task.protocol.seeds), "environment": environment(config.run.device),
        "conventions": config.task.metrics.conventions.model_dump(mode="json"),
        "postprocessing": [op.model_dump(mode="json", exclude_none=True) for op in config.task.postprocessing],
        "started": (previous or {}).get("started", _now()), "resumed": [*(previous or {}).get("resumed", []),
                                                                         *([_now()] if previous else [])],
        "jobs_total": len(protocol.jobs()),
    }
    folder.write_record(record)
    t0 = time.perf_counter()
    try:
        results = LocalExecutor().run(protocol, ctx, folder, observer)
    except BaseException as exc:
        record.update(status="failed" if not isinstance(exc, KeyboardInterrupt) else "interrupted",
                      error=f"{type(exc).__name__}: {exc}", failed_at=_now())
        folder.write_record(record)
        raise
    rows = [row for job in protocol.jobs() for row in results[job.key]["rows"]]
    folder.write_scores(rows)
    summary = summarise(rows, list(config.task.metrics.report))
    summary.update(task=config.task.id, model=config.model, official=config.official,
                   primary=config.task.metrics.primary)
    folder.write_summary(summary, render_summary_text(record, summary))
    record.update(status="complete", finished=_now(),
                  timings={"this_invocation_s": time.perf_counter() - t0,
                           "jobs_s": {k: r["job"]["seconds"] for k, r in results.items()}},
                  training={k: {"train_s": (r.get("timings") or {}).get("train_s"),
                                "n_parameters": (r.get("train_log") or {}).get("n_parameters")}
                            for k, r in results.items()})
    folder.write_record(record)
    return folder
