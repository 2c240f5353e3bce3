"""``run.executor=slurm``: jobs as SLURM array jobs through submitit, one array per wave of ready jobs.

A wave is the set of jobs whose dependencies are done (for most protocols: every job of the sweep at once;
for active learning: one round of every seed of every run). Jobs of a wave with the same resource request
share one array job (``sbatch --array``); its resources come from
:func:`~mbench.executors.resources.job_resources` plus ``run.slurm_partition``, ``run.slurm_time`` (minutes)
and ``run.slurm_account``. A task that ends without a result (node failure, preemption, time limit) is
resubmitted up to ``run.max_retries`` times. Workers must share the driver's file system: submitit's job
files, the task cards, data and caches. Progress reaches the driver through small files under
``<slurm_folder>/progress``.

``run.slurm_cluster=local`` runs the same arrays as local processes (submitit's local executor), ``debug`` in
this process; both are for tests.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import shutil
import time
from collections.abc import Hashable
from pathlib import Path
from typing import Any

from mbench.config.execution import ExecutionOptions
from mbench.errors import MbenchError
from mbench.executors.backend import Backend, Outcome, import_engine
from mbench.executors.resources import Resources, job_resources
from mbench.executors.work import WorkItem, run_work_item
from mbench.results.store import atomic_write_text

__all__ = ["SlurmBackend"]

log = logging.getLogger(__name__)


def _progress_file(folder: Path, tag: str) -> Path:
    return folder / (hashlib.sha1(tag.encode()).hexdigest()[:16] + ".json")


def _run_on_node(item: WorkItem, progress_dir: str) -> dict[str, Any]:
    """The body of every array task: run the job, keeping its latest progress in a file the driver reads."""
    path = _progress_file(Path(progress_dir), item.tag)
    state: dict[str, Any] = {}

    def emit(event: tuple) -> None:
        state["started" if event[1] == "started" else "progress"] = list(event[2:])
        try:
            atomic_write_text(path, json.dumps(state))
        except OSError:  # a lost progress update must never fail the job
            pass

    return run_work_item(item, emit)


class SlurmBackend(Backend):
    """Runs jobs as submitit array jobs (see the module docstring)."""

    name = "slurm"

    def __init__(self, options: ExecutionOptions, folder: Path) -> None:
        self.options = options
        self.folder = Path(folder)
        self.cluster = options.slurm_cluster or "slurm"
        self._jobs: dict[int, dict[str, Any]] = {}  # handle -> {"item", "job", "attempts"}
        self._seen: dict[str, dict[str, Any]] = {}
        self._next = 0

    def start(self, sink) -> None:
        super().start(sink)
        self._submitit = import_engine("submitit", "slurm", "submitit")
        if self.cluster == "slurm" and shutil.which("sbatch") is None:
            raise MbenchError("run.executor=slurm but SLURM is not installed here (no `sbatch` on PATH)",
                              fix="run on a SLURM login node; for a local test run.slurm_cluster=local")
        self.progress_dir = self.folder / "progress"
        self.progress_dir.mkdir(parents=True, exist_ok=True)

    def _executor(self, res: Resources):
        ex = self._submitit.AutoExecutor(folder=self.folder / "%j", cluster=self.cluster)
        params: dict[str, Any] = {"timeout_min": self.options.slurm_time, "cpus_per_task": max(1, math.ceil(res.cpus)),
                                  "name": "mbench", "nodes": 1, "tasks_per_node": 1}
        if res.gpus:
            params["gpus_per_node"] = max(1, math.ceil(res.gpus))
        if res.memory_gb is not None:
            params["mem_gb"] = res.memory_gb
        if self.options.slurm_partition:
            params["slurm_partition"] = self.options.slurm_partition
        if self.options.slurm_account:
            params["slurm_account"] = self.options.slurm_account
        ex.update_parameters(**params)
        return ex

    def _launch(self, handles: list[int]) -> None:
        """One array job per resource request among ``handles``."""
        groups: dict[Resources, list[int]] = {}
        for h in handles:
            res = job_resources(self._jobs[h]["item"].config, gpus_available=False)
            groups.setdefault(res, []).append(h)
        for res, group in groups.items():
            items = [self._jobs[h]["item"] for h in group]
            jobs = self._executor(res).map_array(_run_on_node, items, [str(self.progress_dir)] * len(items))
            for h, job in zip(group, jobs):
                self._jobs[h]["job"] = job
                self._jobs[h]["attempts"] += 1
            log.info("submitted array job %s: %d jobs (%s)", jobs[0].job_id.split("_")[0] if jobs else "-",
                     len(jobs), res)

    def submit(self, items: list[WorkItem]) -> list[Hashable]:
        handles = []
        for item in items:
            self._jobs[self._next] = {"item": item, "job": None, "attempts": 0}
            handles.append(self._next)
            self._next += 1
        self._launch(handles)
        return handles

    def _relay(self, handles: list[int]) -> None:
        for h in handles:
            tag = self._jobs[h]["item"].tag
            path = _progress_file(self.progress_dir, tag)
            try:
                state = json.loads(path.read_text())
            except (OSError, ValueError):
                continue
            seen = self._seen.setdefault(tag, {})
            if "started" in state and "started" not in seen:
                self.sink((tag, "started", *state["started"]))
            if "progress" in state and state["progress"] != seen.get("progress"):
                self.sink((tag, "progress", *state["progress"]))
            self._seen[tag] = state

    def wait(self, handles: list[Hashable], timeout: float) -> list[Outcome]:
        utils = self._submitit.core.utils
        deadline = time.monotonic() + timeout
        while True:
            done = [h for h in handles if self._jobs[h]["job"].done()]
            self._relay(handles)
            if done or time.monotonic() >= deadline:
                break
            time.sleep(min(0.5, max(0.0, deadline - time.monotonic())))
        out: list[Outcome] = []
        retry: list[int] = []
        for h in done:
            entry = self._jobs[h]
            try:
                result = entry["job"].result()
            except utils.UncompletedJobError as exc:  # ended without a result: node failure, preemption, time limit
                if entry["attempts"] <= self.options.max_retries:
                    log.warning("job %s ended without a result (%s); resubmitting", entry["item"].tag, exc)
                    retry.append(h)
                    continue
                result = MbenchError(f"job {entry['item'].tag} ended without a result {entry['attempts']} times",
                                     found=str(exc)[:500], fix=f"see the logs under {self.folder}")
            except utils.FailedJobError as exc:  # the job raised: its traceback is in the message
                result = MbenchError(f"job {entry['item'].tag} failed on {self.cluster}", found=str(exc)[-2000:],
                                     fix=f"see the logs under {self.folder}")
            except Exception as exc:  # noqa: BLE001 - the debug executor raises the job's own exception
                result = exc
            out.append((h, result))
            del self._jobs[h]
        if retry:
            self._launch(retry)
        return out

    def close(self) -> None:
        for entry in self._jobs.values():  # jobs still queued when the driver stops on a failure or interrupt
            if entry["job"] is not None and not entry["job"].done():
                try:
                    entry["job"].cancel(check=False)
                except Exception as exc:  # noqa: BLE001 - best effort on the way out
                    log.debug("cancel: %s", exc)
        shutil.rmtree(getattr(self, "progress_dir", self.folder / "progress"), ignore_errors=True)

    def describe(self) -> dict[str, Any]:
        return {"executor": self.name, "cluster": self.cluster, "folder": str(self.folder),
                "partition": self.options.slurm_partition, "submitit": self._submitit.__version__}
