"""Executors run the jobs of runs and sweeps: ``run.executor=local`` (serial or ``run.workers=N`` processes),
``ray`` (a Ray cluster) or ``slurm`` (SLURM through submitit). The Ray and SLURM modules import their engines
lazily, so the core needs neither.
"""

from mbench.executors.local import LocalExecutor, RunObserver, SilentObserver
from mbench.executors.select import create_backend

__all__ = ["LocalExecutor", "RunObserver", "SilentObserver", "create_backend"]
