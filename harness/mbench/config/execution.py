"""Where and how a run's jobs execute: the ``run.executor`` family of options.

These options never change what is computed, so they are not part of a run's configuration hash, its id
or its official status: a run gives the same results whichever executor ran it.

Keys (``run.<key>=<value>`` on the command line):

=================== ==========================================================================================
``executor``        ``local`` (default: this machine), ``ray`` (a Ray cluster) or ``slurm`` (SLURM via submitit)
``workers``         local executor: parallel worker processes for independent jobs (default 1: serial, in-process)
``ray_address``     ray: address of an existing cluster (``auto``, ``<head-ip>:6379``, ``ray://<head>:10001``);
                    unset: start a local one
``gpus_per_job``    GPUs each job requests (default: 1 for models that need torch when ``run.device`` is
                    ``cuda`` or ``auto`` and the cluster has GPUs, else 0)
``cpus_per_job``    CPUs each job requests (default 1)
``mem_per_job``     memory each job requests, in GiB (default: no request)
``threads``         CPU threads of torch inside each job, the same under every executor so that results do not
                    depend on where a job ran (default: ``cpus_per_job`` rounded down, at least 1; else 1)
``max_retries``     how often a job lost to a node failure is resubmitted (default 3)
``slurm_partition`` slurm: partition (``--partition``)
``slurm_time``      slurm: time limit per job in minutes (default 60)
``slurm_account``   slurm: account (``--account``)
``slurm_cluster``   submitit backend: ``slurm`` (default when ``srun`` exists), ``local`` or ``debug`` (tests)
``slurm_folder``    folder for submitit's job files and logs (default ``<run.out>/.submitit``)
=================== ==========================================================================================

Example:
    >>> opts = ExecutionOptions.from_overrides({"executor": "ray", "gpus_per_job": 0.5})
    >>> opts.executor, opts.gpus_per_job, opts.workers
    ('ray', 0.5, 1)
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from mbench.errors import MbenchError, did_you_mean

__all__ = ["EXECUTION_KEYS", "EXECUTORS", "ExecutionOptions"]

EXECUTORS = ("local", "ray", "slurm")
_SLURM_CLUSTERS = ("slurm", "local", "debug")


@dataclass(frozen=True)
class ExecutionOptions:
    """The executor and its resource settings (see the module docstring for each key)."""

    executor: str = "local"
    workers: int = 1
    ray_address: str | None = None
    gpus_per_job: float | None = None
    cpus_per_job: float | None = None
    mem_per_job: float | None = None
    threads: int | None = None
    max_retries: int = 3
    slurm_partition: str | None = None
    slurm_time: int = 60
    slurm_account: str | None = None
    slurm_cluster: str | None = None
    slurm_folder: str | None = None

    def __post_init__(self) -> None:
        if self.executor not in EXECUTORS:
            raise did_you_mean("executor", str(self.executor), EXECUTORS, fix="run.executor=local|ray|slurm")
        for name in ("workers", "max_retries", "slurm_time"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < (0 if name == "max_retries" else 1):
                raise MbenchError(f"run.{name} must be a {'non-negative' if name == 'max_retries' else 'positive'} "
                                  "integer", found=repr(value), fix=f"e.g. run.{name}=2")
        for name in ("gpus_per_job", "cpus_per_job", "mem_per_job"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0):
                raise MbenchError(f"run.{name} must be a non-negative number", found=repr(value),
                                  fix=f"e.g. run.{name}=1")
        if self.threads is not None and (not isinstance(self.threads, int) or isinstance(self.threads, bool)
                                         or self.threads < 1):
            raise MbenchError("run.threads must be a positive integer", found=repr(self.threads), fix="e.g. run.threads=4")
        if self.slurm_cluster is not None and self.slurm_cluster not in _SLURM_CLUSTERS:
            raise did_you_mean("slurm cluster", str(self.slurm_cluster), _SLURM_CLUSTERS,
                               fix="run.slurm_cluster=slurm|local|debug")
        if self.workers > 1 and self.executor != "local":
            raise MbenchError("run.workers applies to the local executor only",
                              found=f"run.executor={self.executor} run.workers={self.workers}",
                              fix="drop run.workers: a cluster runs as many jobs at once as it has resources")

    @property
    def job_threads(self) -> int:
        """Torch threads per job: ``threads``, else ``cpus_per_job`` rounded down (at least 1), else 1.

        Example:
            >>> ExecutionOptions().job_threads, ExecutionOptions(cpus_per_job=4).job_threads
            (1, 4)
        """
        if self.threads is not None:
            return self.threads
        return max(1, int(self.cpus_per_job)) if self.cpus_per_job else 1

    @classmethod
    def from_overrides(cls, values: dict[str, Any]) -> ExecutionOptions:
        """Options from ``{key: value}`` (keys without the ``run.`` prefix); strings become ``str``."""
        unknown = [k for k in values if k not in EXECUTION_KEYS]
        if unknown:
            raise did_you_mean("run option", unknown[0], EXECUTION_KEYS)
        text = {"executor", "ray_address", "slurm_partition", "slurm_account", "slurm_cluster", "slurm_folder"}
        return cls(**{k: (None if v is None else str(v)) if k in text else v for k, v in values.items()})

    def describe(self) -> dict[str, Any]:
        """The options that are set (for ``--dry-run`` and ``run.json``)."""
        defaults = ExecutionOptions()
        return {k: v for k, v in asdict(self).items() if k == "executor" or v != getattr(defaults, k)}


EXECUTION_KEYS = tuple(f.name for f in fields(ExecutionOptions))
