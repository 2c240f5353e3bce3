"""Write a folder atomically: fill a staging folder beside it, then rename it into place.

A reader never sees a half-written folder: an interrupted write leaves only a hidden staging folder, removed on
the way out, and the target keeps its previous state.

Example:
    >>> import tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "made"
    >>> with atomic_folder(target) as staging:
    ...     _ = (staging / "a.txt").write_text("x")
    >>> sorted(p.name for p in target.iterdir())
    ['a.txt']
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["atomic_folder"]


@contextmanager
def atomic_folder(target: Path) -> Iterator[Path]:
    """Yield a staging folder; on normal exit it replaces ``target`` (an existing one is removed first)."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        yield staging
        if target.exists():
            shutil.rmtree(target)
        os.replace(staging, target)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
