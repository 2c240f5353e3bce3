"""Aggregate tidy rows into per-seed values and mean ± sd over seeds (a learning curve for active learning)."""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

import numpy as np

__all__ = ["summarise", "per_seed_values", "format_summary", "metric_label"]


def _float(v: Any) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        return math.nan


def metric_label(row: dict[str, Any]) -> str:
    """``metric`` or ``metric:region`` for region-scored rows (e.g. ``dice:WT``)."""
    region = row.get("region") or ""
    return f"{row['metric']}:{region}" if region else row["metric"]


def per_seed_values(rows: list[dict[str, Any]]) -> dict[tuple, dict[str, Any]]:
    """(metric label, round, n_labelled, seed) -> {value, n, n_valid, n_nan}; case-level metrics averaged over cases.

    NaN case scores are not dropped silently: they are counted in ``n_nan`` and left out of the mean.
    """
    buckets: dict[tuple, list[float]] = defaultdict(list)
    for row in rows:
        rnd = row.get("round")
        rnd = None if rnd in (None, "") else int(rnd)
        key = (metric_label(row), rnd, int(row["n_labelled"]), int(row["seed"]))
        buckets[key].append(_float(row["value"]))
    out = {}
    for key, values in buckets.items():
        arr = np.asarray(values, dtype=float)
        valid = arr[~np.isnan(arr)]
        out[key] = {"value": float(valid.mean()) if valid.size else math.nan, "n": int(arr.size),
                    "n_valid": int(valid.size), "n_nan": int(arr.size - valid.size)}
    return out


def _aulc(curve: list[tuple[int, float]]) -> float:
    """Area under a learning curve (metric vs labelled-set size), normalised by the size range."""
    if len(curve) < 2:
        return math.nan
    x, y = np.asarray([c[0] for c in curve], float), np.asarray([c[1] for c in curve], float)
    return float(np.sum((x[1:] - x[:-1]) * (y[1:] + y[:-1]) / 2) / (x[-1] - x[0]))


def summarise(rows: list[dict[str, Any]], metrics: list[str] | None = None) -> dict[str, Any]:
    """Per metric label: one entry per (round, n_labelled) with mean ± sd over seeds and the per-seed values.

    ``metrics`` orders the metric labels (default: as they first appear in ``rows``).

    For active-learning runs (rounds present) the normalised area under the learning curve is added
    per seed and as mean ± sd.
    """
    per_seed = per_seed_values(rows)
    labels = list(dict.fromkeys(metric_label(r) for r in rows))
    if metrics is not None:
        labels = sorted(labels, key=lambda m: (metrics.index(m.split(":")[0]) if m.split(":")[0] in metrics else 99))
    summary: dict[str, Any] = {"metrics": {}}
    for metric in labels:
        points = sorted({(k[1], k[2]) for k in per_seed if k[0] == metric}, key=lambda p: (p[0] or 0, p[1]))
        entries = []
        for rnd, n_lab in points:
            seeds = {k[3]: v for k, v in per_seed.items() if k[0] == metric and k[1] == rnd and k[2] == n_lab}
            vals = np.asarray([v["value"] for v in seeds.values()], float)
            valid = vals[~np.isnan(vals)]
            entries.append({"round": rnd, "n_labelled": n_lab, "mean": float(valid.mean()) if valid.size else None,
                            "sd": float(valid.std(ddof=1)) if valid.size > 1 else None,
                            "n_seeds": len(seeds), "per_seed": {str(s): v for s, v in sorted(seeds.items())}})
        block: dict[str, Any] = {"points": entries}
        if any(e["round"] is not None for e in entries):
            seeds = sorted({int(s) for e in entries for s in e["per_seed"]})
            aulc = {str(s): _aulc([(e["n_labelled"], e["per_seed"][str(s)]["value"]) for e in entries
                                   if str(s) in e["per_seed"]]) for s in seeds}
            vals = np.asarray(list(aulc.values()), float)
            block["aulc"] = {"per_seed": aulc, "mean": float(np.nanmean(vals)) if vals.size else None,
                             "sd": float(np.nanstd(vals, ddof=1)) if vals.size > 1 else None}
        summary["metrics"][metric] = block
    return summary


def _pm(mean: float | None, sd: float | None) -> str:
    if mean is None or (isinstance(mean, float) and math.isnan(mean)):
        return "nan"
    return f"{mean:.4f} ± {sd:.4f}" if sd is not None else f"{mean:.4f}"


def format_summary(summary: dict[str, Any]) -> list[list[str]]:
    """Table rows (header first): round, labelled, then mean ± sd over seeds per metric."""
    metrics = list(summary["metrics"])
    header = ["round", "labelled", *[f"{m} (mean ± sd)" for m in metrics], "seeds"]
    first = summary["metrics"][metrics[0]]["points"]
    table = [header]
    for i, point in enumerate(first):
        cells = [_pm(summary["metrics"][m]["points"][i]["mean"], summary["metrics"][m]["points"][i]["sd"])
                 for m in metrics]
        table.append(["-" if point["round"] is None else str(point["round"]), str(point["n_labelled"]), *cells,
                      str(point["n_seeds"])])
    if "aulc" in summary["metrics"][metrics[0]]:
        table.append(["AULC", "", *[_pm(summary["metrics"][m]["aulc"]["mean"], summary["metrics"][m]["aulc"]["sd"])
                                    for m in metrics], ""])
    return table
