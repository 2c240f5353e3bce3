"""Metrics: pure functions (:mod:`mbench.metrics.functional`) and the registry of their conventions."""

from mbench.metrics import functional
from mbench.metrics.registry import METRICS, MetricSpec, get_metric, register_metric

__all__ = ["functional", "METRICS", "MetricSpec", "get_metric", "register_metric"]
