"""Metrics: pure functions (:mod:`mbench.metrics.functional`), the registry of their conventions, and aggregation."""

from mbench.metrics import functional
from mbench.metrics.aggregation import Aggregate, aggregate
from mbench.metrics.registry import METRICS, MetricSpec, get_metric, register_metric

__all__ = ["METRICS", "Aggregate", "MetricSpec", "aggregate", "functional", "get_metric", "register_metric"]
