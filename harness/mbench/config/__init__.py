"""Task cards and run configuration: pydantic schemas, YAML loading, ``key=value`` overrides."""

from mbench.config.schema import ActiveLearningSpec, HoldoutSpec, TaskSpec
from mbench.config.loading import load_task_card
from mbench.config.resolve import RunConfig, resolve_run_config

__all__ = ["TaskSpec", "HoldoutSpec", "ActiveLearningSpec", "load_task_card", "RunConfig", "resolve_run_config"]
