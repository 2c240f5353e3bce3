"""Tasks: the card registry (ids, aliases) and :class:`Task`, a card bound to its data."""

from mbench.tasks.registry import TaskCard, list_task_cards, load_task
from mbench.tasks.task import Task

__all__ = ["TaskCard", "list_task_cards", "load_task", "Task"]
