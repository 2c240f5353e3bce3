"""Discover task cards under ``tasks/`` and resolve ids and aliases.

Example:
    >>> load_task("brats").spec.id
    'brats18-al-wtseg'
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mbench.config.loading import load_task_card, read_yaml
from mbench.config.schema import TaskSpec
from mbench.errors import MbenchError, did_you_mean
from mbench.paths import tasks_dir

__all__ = ["TaskCard", "card_paths", "resolve_task_name", "load_task", "list_task_cards"]


@dataclass(frozen=True)
class TaskCard:
    """A validated card and the file it came from (split files are relative to it)."""

    spec: TaskSpec
    path: Path

    @property
    def folder(self) -> Path:
        return self.path.parent


def card_paths(root: Path | None = None) -> dict[str, Path]:
    """Task id -> card path, for every ``tasks/<family>/*.yaml``."""
    root = Path(root) if root else tasks_dir()
    out: dict[str, Path] = {}
    for path in sorted(root.glob("*/*.yaml")):
        task_id = str(read_yaml(path).get("id", path.stem))
        if task_id in out:
            raise MbenchError(f"task id {task_id!r} is defined twice", found=f"{out[task_id]} and {path}",
                              fix="give each card a unique id")
        out[task_id] = path
    return out


def resolve_task_name(name: str, root: Path | None = None) -> Path:
    """Card path for a task id or alias; unknown names get a did-you-mean error, ambiguous aliases an error."""
    paths = card_paths(root)
    if name in paths:
        return paths[name]
    owners = [tid for tid, path in paths.items() if name in (read_yaml(path).get("aliases") or [])]
    if len(owners) > 1:
        raise MbenchError(f"task alias {name!r} is ambiguous", found=f"declared by {owners}",
                          fix="use the full task id")
    if owners:
        return paths[owners[0]]
    aliases = [a for p in paths.values() for a in (read_yaml(p).get("aliases") or [])]
    raise did_you_mean("task", name, [*paths, *aliases])


def load_task(name: str, root: Path | None = None) -> TaskCard:
    """Load and validate the card for a task id or alias."""
    path = resolve_task_name(name, root)
    return TaskCard(load_task_card(path), path)


def list_task_cards(root: Path | None = None) -> list[TaskCard]:
    """Every task card, validated."""
    return [TaskCard(load_task_card(p), p) for p in card_paths(root).values()]
