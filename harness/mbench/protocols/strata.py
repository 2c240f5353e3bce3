"""Stratified reporting: a case-level metric per stratum of a case attribute (PanNuke's tissue) and their mean."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from mbench.config.schema import TaskSpec
from mbench.errors import MbenchError
from mbench.metrics.registry import get_metric

__all__ = ["strata_rows", "ALL_CASES"]

ALL_CASES = "*"  # the case id of dataset-level rows (as in mbench.protocols.scoring)


def strata_rows(task: TaskSpec, rows: list[dict[str, Any]], ids: list[str], attrs: dict[str, list[str]],
                context: dict[str, Any]) -> list[dict[str, Any]]:
    """Dataset-level rows per stratum (e.g. tissue type) of the case-level rows, and their unweighted mean.

    For each case-level metric of the card and each region of ``metrics.strata.regions`` (or the
    unregioned rows), one row with region ``<region>|<by>=<stratum>`` holds the mean over that stratum's
    cases (NaN cases left out and counted in the note), and one row ``<region>|<by>:mean`` the unweighted
    mean over the strata, as the PanNuke papers average per-tissue Dice. No rows when the card declares
    no strata.

    Example:
        >>> from mbench.tasks import load_task
        >>> spec = load_task("pannuke").spec
        >>> rows = [{"case": c, "region": "nuclei", "metric": "dice", "value": v}
        ...         for c, v in [("a", 1.0), ("b", 0.0), ("c", 0.5)]]
        >>> out = strata_rows(spec, rows, ["a", "b", "c"], {"tissue": ["Lung", "Lung", "Skin"]}, {})
        >>> [(r["region"], r["value"]) for r in out if r["metric"] == "dice"]
        [('nuclei|tissue=Lung', 0.5), ('nuclei|tissue=Skin', 0.5), ('nuclei|tissue:mean', 0.5)]
    """
    strata = task.metrics.strata
    if strata is None or not ids:
        return []
    if strata.by not in attrs:
        raise MbenchError(f"task {task.id} stratifies by {strata.by!r}, but the samples carry no such attribute",
                          expected=f"the adapter's case_attributes() to provide {strata.by!r}",
                          found=f"attributes {sorted(attrs) or 'none'}",
                          fix="use the dataset adapter named in the card")
    stratum_of = dict(zip(ids, attrs[strata.by]))
    out = []
    for metric_id in task.metrics.report:
        if get_metric(metric_id).level != "case":
            continue
        for region in strata.regions or [""]:
            buckets: dict[str, list[float]] = {}
            for row in rows:
                if row["metric"] == metric_id and (row.get("region") or "") == region and row["case"] in stratum_of:
                    buckets.setdefault(stratum_of[row["case"]], []).append(float(row["value"]))
            means = {}
            for stratum in sorted(buckets):
                arr = np.asarray(buckets[stratum], dtype=float)
                ok = arr[~np.isnan(arr)]
                means[stratum] = float(ok.mean()) if ok.size else math.nan
                out.append({**context, "case": ALL_CASES, "group": "", "region": f"{region}|{strata.by}={stratum}",
                            "metric": metric_id, "value": means[stratum],
                            "note": f"mean over {ok.size} of {arr.size} cases ({arr.size - ok.size} NaN)"})
            valid = [v for v in means.values() if not math.isnan(v)]
            out.append({**context, "case": ALL_CASES, "group": "", "region": f"{region}|{strata.by}:mean",
                        "metric": metric_id, "value": float(np.mean(valid)) if valid else math.nan,
                        "note": f"unweighted mean over {len(valid)} of {len(means)} {strata.by} strata"})
    return out
