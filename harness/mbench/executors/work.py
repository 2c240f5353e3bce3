"""One job as a self-contained unit of work that any process can run: :class:`WorkItem` and :func:`run_work_item`.

A worker (a pool process, a Ray worker, a SLURM task) receives the resolved :class:`RunConfig`, the job and the
results of the jobs it depends on; it rebuilds the run's data context (cached per configuration in the worker
process), runs ``protocol.run_job`` and returns the result. It writes nothing: the driver stores each result
atomically in the run folder, so a result is written once, by one process.

Progress reaches the driver as events ``(tag, "started", stages)`` and ``(tag, "progress", stage, done, total)``
through the ``emit`` callable the executor provides (a queue, a Ray actor, a file on a shared disk).
"""

from __future__ import annotations

import importlib.util
import os
import socket
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from mbench.config.resolve import RunConfig
from mbench.inference.settings import use_inference
from mbench.protocols.base import EvaluationProtocol, Job, RunContext

__all__ = ["Emit", "WorkItem", "run_work_item", "throttled", "torch_threads", "worker_environment"]

Emit = Callable[[tuple], None]

# protocols and data contexts kept per worker process (a worker usually runs several jobs of the same run)
_PREPARED: OrderedDict[str, tuple[EvaluationProtocol, RunContext]] = OrderedDict()
_MAX_PREPARED = 2


@dataclass(frozen=True)
class WorkItem:
    """A job of a run with everything a worker needs to run it.

    ``tag`` (``<run_id>/<job key>``) names the item in progress events; ``deps`` are the results of the jobs
    it depends on.
    """

    config: RunConfig
    job: Job
    deps: dict[str, dict] = field(default_factory=dict)

    @property
    def tag(self) -> str:
        return f"{self.config.run_id}/{self.job.key}"


def _prepared(config: RunConfig) -> tuple[EvaluationProtocol, RunContext]:
    """The run's protocol and data context in this worker process (protocols cache further contexts in themselves)."""
    from mbench.protocols import create_protocol

    key = config.hash
    if key not in _PREPARED:
        while len(_PREPARED) >= _MAX_PREPARED:
            _PREPARED.popitem(last=False)
        _PREPARED[key] = (create_protocol(config), RunContext(config))
    _PREPARED.move_to_end(key)
    return _PREPARED[key]


def throttled(emit: Emit, interval_s: float = 0.25) -> Emit:
    """Forward progress events at most every ``interval_s`` per job (other events and the last step always)."""
    last: dict[str, float] = {}

    def forward(event: tuple) -> None:
        if event[1] == "progress" and event[3] < event[4]:
            now = time.monotonic()
            if now - last.get(event[0], -1e9) < interval_s:
                return
            last[event[0]] = now
        emit(event)

    return forward


@contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Run the block with ``n`` torch CPU threads, then restore the previous count (no-op without torch).

    Floating-point reductions depend on the number of threads, so every executor runs a job with the same
    count (``run.threads``): a job gives the same numbers in this process, a pool worker, a Ray worker or a
    SLURM task.

    Example:
        >>> with torch_threads(1):
        ...     pass
    """
    if importlib.util.find_spec("torch") is None:
        yield
        return
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def run_work_item(item: WorkItem, emit: Emit | None = None,
                  prepared: tuple[EvaluationProtocol, RunContext] | None = None) -> dict[str, Any]:
    """Run one job and return its result (with ``job``: identifying columns, key, seconds, host).

    ``prepared`` is the run's protocol and data context when the caller has them (the in-process executor);
    otherwise they are built from the configuration, once per worker process.

    Example (``item`` from a sweep's scheduler)::

        result = run_work_item(WorkItem(config, job, deps))
    """
    emit = throttled(emit) if emit is not None else (lambda event: None)
    job = item.job
    protocol, ctx = prepared if prepared is not None else _prepared(item.config)
    emit((item.tag, "started", protocol.job_stages(job)))
    t0 = time.perf_counter()
    threads = item.config.run.execution.job_threads
    with use_inference(item.config.run.inference), torch_threads(threads):  # precision, batch size, loader workers
        result = protocol.run_job(job, ctx, dict(item.deps),
                                  lambda stage, done, total: emit((item.tag, "progress", stage, done, total)))
    result["job"] = {**job.context(), "key": job.key, "seconds": time.perf_counter() - t0,
                     "host": socket.gethostname(), "pid": os.getpid(), "threads": threads}
    return result


# environment variables a worker on the same file system needs to find the same task cards, caches and hub files
_FORWARDED = ("MBENCH_HOME", "MBENCH_TASKS_DIR", "MBENCH_CACHE", "MBENCH_RESULTS", "HF_HUB_OFFLINE", "HF_HOME",
              "TORCH_HOME")


def worker_environment() -> dict[str, str]:
    """The driver's ``MBENCH_*`` (and hub cache) variables, for workers started elsewhere."""
    return {k: os.environ[k] for k in _FORWARDED if k in os.environ}
