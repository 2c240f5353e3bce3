"""Executors run a protocol's jobs. The local one runs them in order in this process."""

from mbench.executors.local import LocalExecutor, RunObserver

__all__ = ["LocalExecutor", "RunObserver"]
