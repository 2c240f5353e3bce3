"""The metric registry: each metric with its declared conventions.

Example:
    >>> from mbench.metrics import get_metric
    >>> m = get_metric("dice")
    >>> (m.higher_is_better, m.bounds, m.level)
    (True, (0.0, 1.0), 'case')
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from mbench.errors import did_you_mean
from mbench.metrics import functional as F

__all__ = ["MetricSpec", "METRICS", "get_metric", "register_metric"]


@dataclass(frozen=True)
class MetricSpec:
    """A metric and its declared conventions.

    Attributes:
        level: ``case`` metrics score one case (one row per case in the results); ``dataset``
            metrics score a whole evaluation set (one row per evaluation, case ``*``).
        empty_policy: what the metric returns on empty inputs, in words (also in the function docstring).
        worst: the value that stands for a missing or failed case.
    """

    id: str
    fn: Callable[..., float]
    level: Literal["case", "dataset"]
    higher_is_better: bool
    bounds: tuple[float, float]
    empty_policy: str
    worst: float
    description: str


METRICS: dict[str, MetricSpec] = {}


def register_metric(spec: MetricSpec) -> MetricSpec:
    """Add a metric to the registry (ids are unique)."""
    if spec.id in METRICS:
        raise ValueError(f"metric {spec.id!r} is already registered")
    METRICS[spec.id] = spec
    return spec


def get_metric(metric_id: str) -> MetricSpec:
    """Look up a metric, with a did-you-mean error for unknown ids."""
    if metric_id not in METRICS:
        raise did_you_mean("metric", metric_id, METRICS)
    return METRICS[metric_id]


register_metric(MetricSpec(
    id="dice", fn=F.dice, level="case", higher_is_better=True, bounds=(0.0, 1.0), worst=0.0,
    empty_policy="both empty -> task convention both_empty (default 1.0); one empty -> 0.0",
    description="Sørensen-Dice overlap of binary masks, per case"))
register_metric(MetricSpec(
    id="map_macro", fn=F.mean_average_precision, level="dataset", higher_is_better=True, bounds=(0.0, 1.0),
    worst=0.0, empty_policy="labels without positives are left out of the mean and counted; none -> nan",
    description="macro mean average precision over labels (multi-label classification)"))
