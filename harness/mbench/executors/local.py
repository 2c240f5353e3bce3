"""The local executor: jobs run in this process one after another (default), or in a pool of worker processes.

Also defines the progress interface every executor reports to (:class:`RunObserver`).
"""

from __future__ import annotations

import logging
import multiprocessing
import queue
from collections.abc import Hashable
from concurrent import futures
from concurrent.futures import ProcessPoolExecutor
from typing import Any, Protocol

from mbench.executors.backend import Backend, Outcome
from mbench.executors.work import WorkItem, run_work_item
from mbench.protocols.base import EvaluationProtocol, Job, RunContext
from mbench.results.store import RunFolder

__all__ = ["LocalExecutor", "ProcessPoolBackend", "RunObserver", "SerialBackend", "SilentObserver"]

log = logging.getLogger(__name__)


class RunObserver(Protocol):
    """Receives progress events (the CLI shows them as rich progress bars)."""

    def job_started(self, job: Job, stages: int) -> None: ...

    def job_progress(self, job: Job, stage: str, completed: int, total: int) -> None: ...

    def job_finished(self, job: Job, skipped: bool) -> None: ...


class SilentObserver:
    """An observer that ignores every event."""

    def job_started(self, job: Job, stages: int) -> None:
        pass

    def job_progress(self, job: Job, stage: str, completed: int, total: int) -> None:
        pass

    def job_finished(self, job: Job, skipped: bool) -> None:
        pass


class SerialBackend(Backend):
    """Runs one job at a time in this process, with the driver's loaded data (``run.workers=1``).

    Args:
        prepared: ``{run_id: (protocol, context)}`` the driver built; other runs are prepared on first use.
    """

    name = "local"
    capacity = 1

    def __init__(self, prepared: dict[str, tuple[EvaluationProtocol, RunContext]] | None = None) -> None:
        self.prepared = dict(prepared or {})
        self._pending: dict[int, WorkItem] = {}
        self._next = 0

    def submit(self, items: list[WorkItem]) -> list[Hashable]:
        handles = []
        for item in items:
            self._pending[self._next] = item
            handles.append(self._next)
            self._next += 1
        return handles

    def wait(self, handles: list[Hashable], timeout: float) -> list[Outcome]:
        handle = next(h for h in self._pending if h in handles)
        item = self._pending.pop(handle)
        try:
            return [(handle, run_work_item(item, self.sink, self.prepared.get(item.config.run_id)))]
        except Exception as exc:  # noqa: BLE001 - the scheduler stores finished jobs and raises this one
            return [(handle, exc)]


def _pool_worker_init(queue: Any) -> None:
    global _POOL_QUEUE
    _POOL_QUEUE = queue


def _pool_run(item: WorkItem) -> dict[str, Any]:
    return run_work_item(item, _POOL_QUEUE.put)


_POOL_QUEUE: Any = None


class ProcessPoolBackend(Backend):
    """Runs independent jobs in ``workers`` fresh processes of this machine (``run.workers=N``).

    Workers are started with ``spawn`` (no forked torch state) and load each run's data once.
    """

    name = "local"

    def __init__(self, workers: int) -> None:
        self.capacity = workers
        self.workers = workers

    def start(self, sink) -> None:
        super().start(sink)
        context = multiprocessing.get_context("spawn")
        self._queue = context.Queue()
        self._pool = ProcessPoolExecutor(self.workers, mp_context=context, initializer=_pool_worker_init,
                                         initargs=(self._queue,))

    def submit(self, items: list[WorkItem]) -> list[Hashable]:
        return [self._pool.submit(_pool_run, item) for item in items]

    def _relay(self) -> None:
        while True:
            try:
                self.sink(self._queue.get_nowait())
            except queue.Empty:
                return

    def wait(self, handles: list[Hashable], timeout: float) -> list[Outcome]:
        done, _ = futures.wait(handles, timeout=timeout, return_when=futures.FIRST_COMPLETED)
        self._relay()
        return [(f, f.exception() if f.exception() is not None else f.result()) for f in done]

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._relay()
        self._queue.close()

    def describe(self) -> dict[str, Any]:
        return {"executor": self.name, "workers": self.workers}


class LocalExecutor:
    """Runs one run's jobs one after another in this process (kept for callers of the serial executor).

    A job whose result file exists is not run again (resume). A failing job stops the run; the
    results of finished jobs stay on disk.
    """

    def run(self, protocol: EvaluationProtocol, ctx: RunContext, folder: RunFolder,
            observer: RunObserver | None = None) -> dict[str, dict]:
        from mbench.executors.scheduler import RunJobs, run_jobs

        run = RunJobs(protocol.config, folder, protocol.jobs())
        backend = SerialBackend({run.run_id: (protocol, ctx)})
        return run_jobs([run], backend, observer)[run.run_id]
