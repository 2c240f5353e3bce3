"""What one job asks a cluster for: GPUs, CPUs, memory, derived from the model and task and ``run.*`` overrides.

A job needs torch when its model (or the task's learner, in active learning) is a torch model; such a job
requests one GPU when ``run.device`` is ``cuda`` (or ``auto`` and the cluster has GPUs). ``run.gpus_per_job``,
``run.cpus_per_job`` and ``run.mem_per_job`` (GiB) override the defaults.
"""

from __future__ import annotations

from dataclasses import dataclass

from mbench.config.resolve import RunConfig

__all__ = ["Resources", "job_resources", "needs_torch"]


@dataclass(frozen=True)
class Resources:
    """A job's request. ``memory_gb`` None: no memory request."""

    gpus: float = 0.0
    cpus: float = 1.0
    memory_gb: float | None = None


def needs_torch(config: RunConfig) -> bool:
    """Whether the run's model or its learner is a torch model."""
    from mbench.models.registry import get_model_entry

    ids = [config.model] + ([config.learner] if config.learner else [])
    return any(get_model_entry(i).requires_torch for i in ids)


def job_resources(config: RunConfig, gpus_available: bool) -> Resources:
    """The request of each job of ``config`` on a cluster that has (or has no) GPUs.

    Example:
        >>> from mbench.config.resolve import resolve_run_config
        >>> job_resources(resolve_run_config("brats", "mvaal", {"run.device": "cuda"}), gpus_available=True)
        Resources(gpus=1.0, cpus=1.0, memory_gb=None)
        >>> job_resources(resolve_run_config("brats", "mvaal", {"run.cpus_per_job": 4}), gpus_available=False)
        Resources(gpus=0.0, cpus=4.0, memory_gb=None)
    """
    opts, device = config.run.execution, config.run.device
    if opts.gpus_per_job is not None:
        gpus = float(opts.gpus_per_job)
    else:
        wants = device.startswith("cuda") or (device == "auto" and gpus_available)
        gpus = 1.0 if wants and needs_torch(config) else 0.0
    cpus = float(opts.cpus_per_job) if opts.cpus_per_job is not None else 1.0
    memory = float(opts.mem_per_job) if opts.mem_per_job is not None else None
    return Resources(gpus, cpus, memory)
