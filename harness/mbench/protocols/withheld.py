"""Scoring against withheld test labels (challenge style): the only place that reads the organiser's label file.

The public release of a challenge dataset (e.g. Trauma THOMPSON) has test timestamps only. An organiser keeps the
test labels in a file that users never get (outside the released data folder, readable only by the scoring
account; a sandboxed submission cannot see it) and points the task's ``withheld_labels`` at it. A user without
the file still runs the task: the protocol stores the test predictions unscored (predictions-only), and the
organiser scores them later with :func:`score_clip_predictions`.

Example:
    >>> import numpy as np, tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "labels.csv"
    >>> _ = path.write_text("clip_id,procedure,verb_class\\nc1,TOUR,1\\nc2,CT,0\\n")
    >>> labels = WithheldLabels(path)
    >>> rows = score_clip_predictions({"verb": np.array([[0.2, 0.8], [0.6, 0.4]])}, ["c1", "c2"], labels,
    ...                               ["accuracy"], {"seed": 0}, by=None)
    >>> [(r["region"], r["value"]) for r in rows]
    [('verb', 1.0)]
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import numpy as np

from mbench.errors import MbenchError
from mbench.metrics.registry import get_metric
from mbench.protocols.scoring import ALL_CASES

__all__ = ["WithheldLabels", "score_clip_predictions", "locate_withheld_labels"]


def locate_withheld_labels(setting: str | None, data_root: Path) -> Path | None:
    """The label file named by the task's ``withheld_labels`` (relative to ``data_root`` or absolute), or None when
    it is not set or not there (a user's predictions-only run)."""
    if not setting:
        return None
    path = Path(setting).expanduser()
    path = path if path.is_absolute() else Path(data_root) / path
    return path if path.is_file() else None


class WithheldLabels:
    """The organiser's test labels: a CSV with ``clip_id``, ``<head>_class`` columns and optional attributes."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        with open(self.path, newline="") as fh:
            self.rows = {r["clip_id"]: r for r in csv.DictReader(fh)}

    def _check(self, clip_ids: list[str]) -> None:
        missing = [c for c in clip_ids if c not in self.rows]
        if missing:
            raise MbenchError(f"the withheld label file lacks {len(missing)} test clip(s)", found=str(missing[:3]),
                              fix=f"use the complete organiser label file ({self.path})")

    def labels(self, clip_ids: list[str], head: str) -> np.ndarray:
        """(N,) integer classes of ``head`` for the clips, in order; every clip must be labelled."""
        self._check(clip_ids)
        column = "action_class" if head == "action" else f"{head}_class"
        try:
            return np.asarray([int(self.rows[c][column]) for c in clip_ids], dtype=np.int64)
        except KeyError:
            raise MbenchError(f"the withheld label file has no {column!r} column",
                              found=", ".join(next(iter(self.rows.values()), {}))) from None

    def attribute(self, clip_ids: list[str], key: str) -> list[str]:
        """A column's value per clip (e.g. the procedure), ``""`` where the file has no such column."""
        self._check(clip_ids)
        return [self.rows[c].get(key, "") for c in clip_ids]


def score_clip_predictions(scores: dict[str, np.ndarray], clip_ids: list[str], labels: WithheldLabels,
                           metrics: list[str], context: dict[str, Any], by: str | None = "procedure") -> list[dict]:
    """Dataset-level rows per head and metric (region ``<head>``) and, with ``by``, per stratum
    (``<head>|<by>=<value>``) and their unweighted mean (``<head>|<by>:mean``)."""
    rows = []
    strata = labels.attribute(clip_ids, by) if by else []
    for head, s in scores.items():
        y = labels.labels(clip_ids, head)
        for metric_id in metrics:
            fn = get_metric(metric_id).fn
            rows.append({**context, "case": ALL_CASES, "group": "", "region": head, "metric": metric_id,
                         "value": float(fn(s, y)), "note": f"over {len(y)} test clips (withheld labels)"})
            if not by:
                continue
            values = []
            for value in sorted(set(strata)):
                keep = np.asarray([v == value for v in strata])
                values.append(float(fn(s[keep], y[keep])))
                rows.append({**context, "case": ALL_CASES, "group": "", "region": f"{head}|{by}={value}",
                             "metric": metric_id, "value": values[-1], "note": f"over {int(keep.sum())} test clips"})
            rows.append({**context, "case": ALL_CASES, "group": "", "region": f"{head}|{by}:mean", "metric": metric_id,
                         "value": float(np.mean(values)), "note": f"unweighted mean over {len(values)} {by} strata"})
    return rows
