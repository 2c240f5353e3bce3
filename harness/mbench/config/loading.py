"""Read YAML task cards into validated :class:`TaskSpec` objects, with errors a person can act on."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from mbench.config.schema import TaskSpec
from mbench.errors import MbenchError

__all__ = ["read_yaml", "validate_task_dict", "load_task_card", "format_validation_error"]


def read_yaml(path: Path, what: str = "a task card") -> dict[str, Any]:
    """Parse a YAML mapping, or raise an :class:`MbenchError` naming the file and line (``what`` names the file kind)."""
    try:
        data = yaml.safe_load(Path(path).read_text())
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise MbenchError(f"{path}: invalid YAML{where}", expected="a YAML mapping",
                          found=str(exc).splitlines()[0], fix="fix the YAML syntax at that position") from None
    if not isinstance(data, dict):
        raise MbenchError(f"{path}: {what} must be a YAML mapping", expected="key: value pairs",
                          found=type(data).__name__)
    return data


def format_validation_error(source: str, exc: ValidationError, model: type[BaseModel]) -> MbenchError:
    """Turn a pydantic error into one message listing every bad field, what was found and the fix."""
    lines = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"])
        if err["type"] == "extra_forbidden":
            lines.append(f"  - {loc}: unknown field (found {err['input']!r}); remove it or check its spelling")
        elif err["type"] == "missing":
            lines.append(f"  - {loc}: required field is missing")
        else:
            lines.append(f"  - {loc}: {err['msg']} (found {err['input']!r})")
    fields = ", ".join(model.model_fields)
    return MbenchError(f"{source}: invalid {model.__name__}\n" + "\n".join(lines),
                       expected=f"fields of {model.__name__}: {fields}",
                       fix="correct the fields listed above; `mbench validate task=<id>` re-checks the card")


def validate_task_dict(data: dict[str, Any], source: str = "task card") -> TaskSpec:
    """Validate a task mapping (e.g. a card after overrides) into a :class:`TaskSpec`."""
    try:
        return TaskSpec.model_validate(data)
    except ValidationError as exc:
        raise format_validation_error(source, exc, TaskSpec) from None


def load_task_card(path: str | Path) -> TaskSpec:
    """Load and validate one YAML task card.

    Example:
        >>> from mbench.paths import tasks_dir
        >>> load_task_card(tasks_dir() / "brats18" / "brats18-al-wtseg.yaml").id
        'brats18-al-wtseg'
    """
    return validate_task_dict(read_yaml(Path(path)), source=str(path))
