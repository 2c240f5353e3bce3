"""``key=value`` command-line overrides and deep merging of nested mappings."""

from __future__ import annotations

import copy
from typing import Any

import yaml

from mbench.errors import MbenchError

__all__ = ["parse_overrides", "deep_merge", "set_dotted", "get_dotted"]


def parse_overrides(items: list[str]) -> dict[str, Any]:
    """Parse ``["a.b=1", "run.seeds=[0,1]"]`` into ``{"a.b": 1, "run.seeds": [0, 1]}`` (YAML values).

    Example:
        >>> parse_overrides(["model.gamma3=0.4", "data.root=/data/BraTS2018", "protocol.seeds=[0, 1]"])
        {'model.gamma3': 0.4, 'data.root': '/data/BraTS2018', 'protocol.seeds': [0, 1]}
    """
    out: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key or any(c.isspace() for c in key):
            raise MbenchError(f"cannot read override {item!r}", expected="key=value, e.g. protocol.rounds=3",
                              found=item, fix="write overrides as key=value with no spaces around '='")
        try:
            value = yaml.safe_load(raw) if raw != "" else None
        except yaml.YAMLError:
            value = raw
        out[key] = value
    return out


def get_dotted(data: dict[str, Any], key: str) -> Any:
    """Value at a dotted path, or ``KeyError``."""
    node: Any = data
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            raise KeyError(key)
        node = node[part]
    return node


def set_dotted(data: dict[str, Any], key: str, value: Any) -> None:
    """Set a dotted path in a nested dict, creating intermediate mappings."""
    parts = key.split(".")
    node = data
    for part in parts[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = node[part] = {}
        node = child
    node[parts[-1]] = value


def deep_merge(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    """Recursively merge ``update`` into a copy of ``base`` (mappings merge, everything else replaces).

    Example:
        >>> deep_merge({"a": {"b": 1, "c": 2}}, {"a": {"c": 3}})
        {'a': {'b': 1, 'c': 3}}
    """
    out = copy.deepcopy(base)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out
