"""The interface every executor backend implements (local serial, local process pool, Ray, SLURM).

A backend only runs :class:`~mbench.executors.work.WorkItem`\\ s and hands back their results; the scheduler
(:func:`mbench.executors.scheduler.run_jobs`) decides what is ready and stores the results.
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from collections.abc import Hashable
from types import ModuleType
from typing import Any

from mbench.errors import MbenchError
from mbench.executors.work import Emit, WorkItem

__all__ = ["Backend", "Outcome", "import_engine"]

# a finished item: its handle and either its result or the exception it raised
Outcome = tuple[Hashable, "dict[str, Any] | BaseException"]


def import_engine(module: str, executor: str, package: str) -> ModuleType:
    """Import a cluster engine (``ray``, ``submitit``) that only its executor needs, or say how to install it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MbenchError(f"run.executor={executor} needs {package}", found=str(exc),
                          fix=f'pip install -e ".[cluster]"  (or: pip install "{package}")') from exc


class Backend(ABC):
    """Runs work items somewhere.

    Attributes:
        name: the ``run.executor`` value.
        capacity: at most this many items in flight (``None``: every ready item is submitted at once).
    """

    name: str = ""
    capacity: int | None = None
    info: dict[str, Any] | None = None  # describe() while running (set by the scheduler)

    def start(self, sink: Emit) -> None:
        """Connect; ``sink`` receives the progress events of running items (in the driver process)."""
        self.sink = sink

    @abstractmethod
    def submit(self, items: list[WorkItem]) -> list[Hashable]:
        """Start ``items`` (one wave of ready jobs); return one handle per item."""

    @abstractmethod
    def wait(self, handles: list[Hashable], timeout: float) -> list[Outcome]:
        """Items of ``handles`` that finished within about ``timeout`` seconds; relays progress meanwhile."""

    def close(self) -> None:
        """Release what :meth:`start` acquired."""

    def describe(self) -> dict[str, Any]:
        """Where the jobs ran, for the run's provenance."""
        return {"executor": self.name}
