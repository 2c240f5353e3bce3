"""Multirun sweeps: ``mbench run -m model=random,vaal run.seed=0,1,2`` is the cartesian product of the values.

Only commas at the top level of a value separate sweep values: ``protocol.seeds=[0,1]`` stays one value.
"""

from __future__ import annotations

import itertools

from mbench.errors import MbenchError

__all__ = ["expand_sweep", "split_sweep_values"]

_OPEN, _CLOSE = "[{(", "]})"


def split_sweep_values(value: str) -> list[str]:
    """Split ``value`` at commas outside brackets and quotes.

    Example:
        >>> split_sweep_values("random,vaal,mvaal")
        ['random', 'vaal', 'mvaal']
        >>> split_sweep_values("[0,1],[2]")
        ['[0,1]', '[2]']
    """
    parts, depth, quote, current = [], 0, "", []
    for char in value:
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char in _OPEN:
            depth += 1
        elif char in _CLOSE:
            depth -= 1
        elif char == "," and depth == 0:
            parts.append("".join(current))
            current = []
            continue
        current.append(char)
    parts.append("".join(current))
    if any(p == "" for p in parts):
        raise MbenchError(f"empty value in sweep {value!r}", expected="comma-separated values, e.g. model=vaal,mvaal",
                          found=value)
    return parts


def expand_sweep(items: list[str]) -> list[list[str]]:
    """The ``key=value`` lists of every run of a sweep, in the order the values are given (last key fastest).

    Example:
        >>> expand_sweep(["task=brats", "model=vaal,mvaal", "run.seed=0,1"])  # doctest: +NORMALIZE_WHITESPACE
        [['task=brats', 'model=vaal', 'run.seed=0'], ['task=brats', 'model=vaal', 'run.seed=1'],
         ['task=brats', 'model=mvaal', 'run.seed=0'], ['task=brats', 'model=mvaal', 'run.seed=1']]
    """
    axes = []
    for item in items:
        key, sep, value = item.partition("=")
        axes.append([f"{key}={v}" for v in split_sweep_values(value)] if sep else [item])
    return [list(combo) for combo in itertools.product(*axes)]
