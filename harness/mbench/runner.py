"""Run a resolved configuration end to end: verify data, run jobs, write provenance, scores and summary."""

from __future__ import annotations

import datetime as dt
import shutil
import time
from dataclasses import dataclass
from typing import Any

from mbench.config.execution import ExecutionOptions
from mbench.config.resolve import RunConfig, card_sha256
from mbench.errors import MbenchError
from mbench.executors.local import RunObserver
from mbench.executors.scheduler import RunJobs, run_jobs
from mbench.executors.select import create_backend
from mbench.protocols import create_protocol
from mbench.protocols.base import EvaluationProtocol, RunContext
from mbench.provenance import environment
from mbench.results.store import ResultsStore, RunFolder
from mbench.results.summary import format_summary, summarise

__all__ = ["execute_run", "execute_sweep", "render_summary_text"]


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


@dataclass
class _Run:
    """A prepared run of a sweep: its folder and record written, its data checked."""

    config: RunConfig
    folder: RunFolder
    protocol: EvaluationProtocol
    ctx: RunContext | None
    record: dict[str, Any]


def _prepare(config: RunConfig, *, fresh: bool, loading_progress, context: RunContext | None) -> _Run:
    """Check the folder and the data of a run and write its ``run.json`` (status ``running``)."""
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
        "seeds": list(config.task.protocol.seeds), "environment": {
            **environment(config.run.device), "inference": config.run.inference.provenance(config.run.device)},
        "conventions": config.task.metrics.conventions.model_dump(mode="json"),
        "postprocessing": [op.model_dump(mode="json", exclude_none=True) for op in config.task.postprocessing],
        "started": (previous or {}).get("started", _now()), "resumed": [*(previous or {}).get("resumed", []),
                                                                         *([_now()] if previous else [])],
        "jobs_total": len(protocol.jobs()), "executor": config.run.execution.describe(),
    }
    folder.write_record(record)
    return _Run(config, folder, protocol, ctx, record)


def _finish(run: _Run, results: dict[str, dict], seconds: float, executor: dict[str, Any] | None) -> RunFolder:
    """Write scores, summary and the completed record of a run whose jobs are all done."""
    config, folder, record = run.config, run.folder, run.record
    rows = [row for job in run.protocol.jobs() for row in results[job.key]["rows"]]
    folder.write_scores(rows)
    summary = summarise(rows, list(config.task.metrics.report))
    summary.update(task=config.task.id, model=config.model, official=config.official,
                   primary=config.task.metrics.primary)
    folder.write_summary(summary, render_summary_text(record, summary))
    record.update(status="complete", finished=_now(), executor=executor or record["executor"],
                  timings={"this_invocation_s": seconds,
                           "jobs_s": {k: r["job"]["seconds"] for k, r in results.items()}},
                  training={k: {"train_s": (r.get("timings") or {}).get("train_s"),
                                "n_parameters": (r.get("train_log") or {}).get("n_parameters")}
                            for k, r in results.items()})
    folder.write_record(record)
    return folder


def _execution_options(configs: list[RunConfig]) -> ExecutionOptions:
    options = {c.run.execution for c in configs}
    if len(options) != 1:
        raise MbenchError("the runs of a sweep must share their run.executor settings",
                          found=", ".join(sorted(str(o.describe()) for o in options)),
                          fix="do not sweep over run.executor / run.* resource keys")
    return options.pop()


def execute_sweep(configs: list[RunConfig], observer: RunObserver | None = None, *, fresh: bool = False,
                  loading_progress=None, contexts: dict[str, RunContext] | None = None) -> list[RunFolder]:
    """Run (or resume) several configurations as one sweep: all their jobs go to the executor together.

    The executor is ``run.executor`` of the configurations (they must agree). Each run gets its own folder, as
    with :func:`execute_run`; finished jobs are not run again. When a job fails, the runs whose jobs all
    finished are completed, the others are marked failed, and the error is raised.

    Example::

        folders = execute_sweep([resolve_run_config("brats", m, {"run.executor": "ray"}) for m in ("vaal", "mvaal")])
    """
    unique = list({c.run_id: c for c in configs}.values())
    options = _execution_options(unique)
    contexts = contexts or {}
    runs = [_prepare(c, fresh=fresh, loading_progress=loading_progress, context=contexts.get(c.run_id))
            for c in unique]
    in_process = options.executor == "local" and options.workers == 1
    if not in_process:  # workers load their own data; free the driver's copy
        for run in runs:
            run.ctx = None
    prepared = {r.config.run_id: (r.protocol, r.ctx) for r in runs if r.ctx is not None}
    backend = create_backend(options, unique, prepared)
    t0 = time.perf_counter()
    try:
        results = run_jobs([RunJobs(r.config, r.folder, r.protocol.jobs()) for r in runs], backend, observer)
    except BaseException as exc:
        for run in runs:
            keys = [j.key for j in run.protocol.jobs()]
            if all(run.folder.job_done(k) for k in keys):
                _finish(run, {k: run.folder.read_job(k) for k in keys}, time.perf_counter() - t0, backend.info)
                continue
            run.record.update(status="failed" if not isinstance(exc, KeyboardInterrupt) else "interrupted",
                              error=f"{type(exc).__name__}: {exc}", failed_at=_now())
            run.folder.write_record(run.record)
        raise
    return [_finish(r, results[r.config.run_id], time.perf_counter() - t0, backend.info) for r in runs]


def execute_run(config: RunConfig, observer: RunObserver | None = None, *, fresh: bool = False,
                loading_progress=None, context: RunContext | None = None) -> RunFolder:
    """Run (or resume) a configuration and return its results folder.

    ``context`` lets a caller share a :class:`RunContext` it built for this configuration (its loaded data).
    Jobs run on ``config.run.execution.executor`` (default: serially in this process).
    """
    contexts = {config.run_id: context} if context is not None else None
    return execute_sweep([config], observer, fresh=fresh, loading_progress=loading_progress, contexts=contexts)[0]
