"""Run the jobs of one or more runs (a sweep) through a backend, in dependency waves, storing each result once.

Every job whose result file exists is skipped (resume after a crash of the driver). The others go to the
backend as soon as the results of the jobs they depend on exist, all runs together, so a cluster works on
the whole sweep at once. Only this driver writes job files, atomically, when a result comes back; a result
file that appeared meanwhile (another driver) is kept, not overwritten. When a job fails, no further job is
submitted, the jobs in flight finish and are stored, and the first failure is raised.
"""

from __future__ import annotations

import logging
from collections.abc import Hashable
from dataclasses import dataclass, replace

from mbench.config.resolve import RunConfig
from mbench.errors import MbenchError
from mbench.executors.backend import Backend
from mbench.executors.local import RunObserver, SilentObserver
from mbench.executors.work import WorkItem
from mbench.protocols.base import Job
from mbench.results.store import RunFolder

__all__ = ["RunJobs", "run_jobs"]

log = logging.getLogger(__name__)


@dataclass
class RunJobs:
    """The jobs of one run and the folder their results go to."""

    config: RunConfig
    folder: RunFolder
    jobs: list[Job]

    @property
    def run_id(self) -> str:
        return self.config.run_id


def _check_dependencies(run: RunJobs) -> None:
    seen: set[str] = set()
    for job in run.jobs:
        missing = [d for d in job.depends_on if d not in seen]
        if missing:
            raise MbenchError(f"job {job.key} of {run.run_id} depends on jobs listed after it or not at all: {missing}",
                              fix="this is a protocol bug: jobs() must list dependencies first")
        seen.add(job.key)


def run_jobs(runs: list[RunJobs], backend: Backend, observer: RunObserver | None = None, *,
             poll_s: float = 0.2) -> dict[str, dict[str, dict]]:
    """Run every unfinished job of ``runs`` on ``backend``; return ``{run_id: {job key: result}}``.

    The observer sees jobs of a sweep of several runs under the key ``<run_id>/<job key>``.

    Example::

        results = run_jobs([RunJobs(config, folder, protocol.jobs())], SerialBackend({}), observer)
    """
    observer = observer or SilentObserver()
    multi = len(runs) > 1
    shown: dict[str, Job] = {}  # tag -> the job as the observer sees it
    results: dict[str, dict[str, dict]] = {run.run_id: {} for run in runs}
    todo: list[tuple[RunJobs, Job]] = []
    for run in runs:
        _check_dependencies(run)
        for job in run.jobs:
            tag = f"{run.run_id}/{job.key}"
            shown[tag] = replace(job, key=tag) if multi else job
            if run.folder.job_done(job.key):
                results[run.run_id][job.key] = run.folder.read_job(job.key)
                observer.job_finished(shown[tag], skipped=True)
            else:
                todo.append((run, job))

    def relay(event: tuple) -> None:
        job = shown.get(event[0])
        if job is None:
            return
        if event[1] == "started":
            observer.job_started(job, event[2])
        elif event[1] == "progress":
            observer.job_progress(job, *event[2:5])

    in_flight: dict[Hashable, tuple[RunJobs, Job]] = {}
    failure: BaseException | None = None
    backend.start(relay)
    try:
        backend.info = backend.describe()  # where the jobs ran (the runner writes it into run.json)
        while todo or in_flight:
            if failure is None:
                room = None if backend.capacity is None else backend.capacity - len(in_flight)
                ready = [(r, j) for r, j in todo if all(d in results[r.run_id] for d in j.depends_on)][:room]
                if ready:
                    items = [WorkItem(r.config, j, {d: results[r.run_id][d] for d in j.depends_on}) for r, j in ready]
                    for handle, unit in zip(backend.submit(items), ready):
                        in_flight[handle] = unit
                    started = {id(j) for _, j in ready}
                    todo = [u for u in todo if id(u[1]) not in started]
            if not in_flight:
                break
            for handle, outcome in backend.wait(list(in_flight), poll_s):
                run, job = in_flight.pop(handle)
                tag = f"{run.run_id}/{job.key}"
                if isinstance(outcome, BaseException):
                    log.error("job %s failed: %s", tag, outcome)
                    failure = failure or outcome
                    continue
                if run.folder.job_done(job.key):  # another driver stored it meanwhile: keep the first one
                    log.warning("job %s was stored by another process meanwhile; keeping that result", tag)
                    outcome = run.folder.read_job(job.key)
                else:
                    run.folder.write_job(job.key, outcome)
                results[run.run_id][job.key] = outcome
                observer.job_finished(shown[tag], skipped=False)
                log.info("finished job %s in %.1fs", tag, outcome["job"]["seconds"])
    finally:
        backend.close()
    if failure is not None:
        raise failure
    if todo:  # unreachable for protocols whose jobs() lists dependencies first (checked above)
        raise MbenchError(f"{len(todo)} jobs never became ready", found=", ".join(j.key for _, j in todo[:5]))
    return results
