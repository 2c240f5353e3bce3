"""Pick the backend named by ``run.executor`` (Ray and submitit are imported only when asked for)."""

from __future__ import annotations

from pathlib import Path

from mbench.config.execution import ExecutionOptions
from mbench.config.resolve import RunConfig
from mbench.errors import MbenchError
from mbench.executors.backend import Backend
from mbench.executors.local import ProcessPoolBackend, SerialBackend
from mbench.protocols.base import EvaluationProtocol, RunContext

__all__ = ["create_backend"]


def _check_portable(configs: list[RunConfig], where: str) -> None:
    """Models registered at run time (a sandboxed submission) exist in this process only."""
    from mbench.models.registry import get_model_entry

    for config in configs:
        if callable(get_model_entry(config.model).factory):
            raise MbenchError(f"model {config.model!r} was registered in this process and cannot run {where}",
                              fix="use run.executor=local with run.workers=1 (the default)")


def create_backend(options: ExecutionOptions, configs: list[RunConfig],
                   prepared: dict[str, tuple[EvaluationProtocol, RunContext]] | None = None) -> Backend:
    """The backend for ``options``; ``prepared`` holds the driver's protocols and data for the serial executor.

    Example:
        >>> create_backend(ExecutionOptions(), []).name
        'local'
    """
    if options.executor == "local" and options.workers == 1:
        return SerialBackend(prepared)
    _check_portable(configs, "in another process")
    if options.executor == "local":
        return ProcessPoolBackend(options.workers)
    if options.executor == "ray":
        from mbench.executors.ray import RayBackend

        return RayBackend(options)
    from mbench.executors.slurm import SlurmBackend

    out = configs[0].run.out if configs else Path("results")
    return SlurmBackend(options, Path(options.slurm_folder) if options.slurm_folder else Path(out) / ".submitit")
