"""Serial local executor: runs jobs in dependency order, saves each one atomically, skips finished ones."""

from __future__ import annotations

import logging
import time
from typing import Protocol

from mbench.errors import MbenchError
from mbench.protocols.base import EvaluationProtocol, Job, RunContext
from mbench.results.store import RunFolder

__all__ = ["RunObserver", "LocalExecutor"]

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


class LocalExecutor:
    """Runs jobs one after another in this process.

    A job whose result file exists is not run again (resume). A failing job stops the run; the
    results of finished jobs stay on disk.
    """

    def run(self, protocol: EvaluationProtocol, ctx: RunContext, folder: RunFolder,
            observer: RunObserver | None = None) -> dict[str, dict]:
        observer = observer or SilentObserver()
        results: dict[str, dict] = {}
        for job in protocol.jobs():
            if folder.job_done(job.key):
                results[job.key] = folder.read_job(job.key)
                observer.job_finished(job, skipped=True)
                continue
            missing = [d for d in job.depends_on if d not in results]
            if missing:
                raise MbenchError(f"job {job.key} depends on jobs that have not run: {missing}",
                                  fix="this is a protocol bug: jobs() must list dependencies first")
            observer.job_started(job, protocol.job_stages(job))
            t0 = time.perf_counter()
            result = protocol.run_job(job, ctx, {d: results[d] for d in job.depends_on},
                                      lambda stage, done, total, job=job: observer.job_progress(job, stage, done, total))
            result["job"] = {**job.context(), "key": job.key, "seconds": time.perf_counter() - t0}
            folder.write_job(job.key, result)
            results[job.key] = result
            observer.job_finished(job, skipped=False)
            log.info("finished job %s in %.1fs", job.key, result["job"]["seconds"])
        return results
