"""Where mbench finds its data folders and keeps its caches (all overridable by environment)."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["repo_root", "tasks_dir", "cache_dir", "results_dir"]


def repo_root() -> Path:
    """The checkout holding `harness/`, `tasks/` and `submissions/` (``MBENCH_HOME`` overrides)."""
    if env := os.environ.get("MBENCH_HOME"):
        return Path(env).expanduser().resolve()
    return Path(__file__).resolve().parents[2]


def tasks_dir() -> Path:
    """Folder of task cards (``MBENCH_TASKS_DIR`` overrides)."""
    if env := os.environ.get("MBENCH_TASKS_DIR"):
        return Path(env).expanduser().resolve()
    return repo_root() / "tasks"


def cache_dir() -> Path:
    """Cache for generated stand-in data (``MBENCH_CACHE`` overrides; default ``~/.cache/mbench``)."""
    path = Path(os.environ.get("MBENCH_CACHE", Path.home() / ".cache" / "mbench")).expanduser()
    path.mkdir(parents=True, exist_ok=True)
    return path


def results_dir() -> Path:
    """Default results root (``MBENCH_RESULTS`` overrides; default ``./results``)."""
    return Path(os.environ.get("MBENCH_RESULTS", "results")).expanduser()
