"""Read the results store into leaderboard entries and per-unit score tables.

An *entry* is one complete run (one row of a ranked table). Folders that are not complete runs are
returned as :class:`SkippedRun` with the reason, so the site can list them instead of leaving them
out silently.

Example:
    >>> import tempfile
    >>> from mbench.results.store import RunFolder
    >>> root = Path(tempfile.mkdtemp())
    >>> folder = RunFolder(root / "t--m--0")
    >>> folder.write_record({"run_id": "t--m--0", "status": "complete", "task": "t", "model": "m", "official": True})
    >>> folder.write_scores([{"task": "t", "model": "m", "seed": 0, "round": "", "n_labelled": 10, "case": c,
    ...                       "group": "", "metric": "dice", "value": v, "note": ""} for c, v in [("a", .5), ("b", 1)]])
    >>> folder.write_summary({"metrics": {}}, "")
    >>> runs, skipped = collect_runs(root)
    >>> entry = runs["t"][0]
    >>> entry.label, skipped
    ('m', [])
    >>> entry.seeds, entry.is_active_learning
    ([0], False)
"""

from __future__ import annotations

import logging
import math
import re
from collections import defaultdict
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from mbench.errors import MbenchError
from mbench.results.store import RunFolder

__all__ = ["RunEntry", "SkippedRun", "collect_runs", "final_round", "slugify"]

log = logging.getLogger(__name__)

DATASET_CASE = "*"


def slugify(text: str) -> str:
    """A file-name-safe form of ``text`` (letters, digits, ``.``, ``_`` and ``-`` kept).

    Example:
        >>> slugify("<script>alert(1)</script>")
        '_script_alert_1___script_'
    """
    return re.sub(r"[^A-Za-z0-9._-]", "_", text)[:120] or "_"


def _float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _round(value: Any) -> int | None:
    return None if value in (None, "") else int(value)


@dataclass(frozen=True)
class SkippedRun:
    """A run folder the leaderboard leaves out, and why (shown on the index page)."""

    path: str
    reason: str


@dataclass
class RunEntry:
    """One complete run: its record (run.json), summary (summary.json) and tidy score rows."""

    folder: RunFolder
    record: dict[str, Any]
    summary: dict[str, Any]
    rows: list[dict[str, Any]]
    label: str = ""
    slug: str = ""
    colour: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def run_id(self) -> str:
        return self.folder.run_id

    @property
    def task(self) -> str:
        return str(self.record["task"])

    @property
    def model(self) -> str:
        return str(self.record.get("model", "?"))

    @property
    def official(self) -> bool:
        return bool(self.record.get("official", False))

    @property
    def unofficial_reasons(self) -> list[str]:
        return [str(r) for r in self.record.get("unofficial_reasons") or []]

    @cached_property
    def rounds(self) -> list[int]:
        """Active-learning rounds present in the scores (empty for other protocols)."""
        return sorted({r for r in (_round(row.get("round")) for row in self.rows) if r is not None})

    @property
    def is_active_learning(self) -> bool:
        return bool(self.rounds)

    @cached_property
    def seeds(self) -> list[int]:
        return sorted({int(row["seed"]) for row in self.rows})

    @cached_property
    def metrics(self) -> list[str]:
        return sorted({row["metric"] for row in self.rows})


def collect_runs(root: str | Path) -> tuple[dict[str, list[RunEntry]], list[SkippedRun]]:
    """Every complete run under ``root``, grouped by task id, and the folders left out with the reason.

    Raises:
        MbenchError: ``root`` does not exist or holds no run folders at all.
    """
    root = Path(root)
    if not root.is_dir():
        raise MbenchError(f"results folder {root} does not exist", expected="a folder of run folders (run.json each)",
                          fix="pass --results DIR, the folder `mbench run` wrote to (default ./results)")
    folders = sorted(p for p in root.iterdir() if (p / "run.json").is_file())
    if not folders:
        found = ", ".join(sorted(p.name for p in root.iterdir())[:5]) or "nothing"
        raise MbenchError(f"results folder {root} holds no runs", expected="run folders with run.json",
                          found=found,
                          fix="run `mbench run task=<id> model=<id>` first, or pass --results DIR")
    runs: dict[str, list[RunEntry]] = defaultdict(list)
    skipped: list[SkippedRun] = []
    for path in folders:
        folder = RunFolder(path)
        try:
            record = folder.read_record()
        except ValueError as exc:
            skipped.append(SkippedRun(path.name, f"run.json is not valid JSON ({exc})"))
            continue
        status = record.get("status", "complete")
        missing = [n for n in ("scores.csv", "summary.json") if not (path / n).is_file()]
        if status != "complete" or missing:
            reason = f"status {status!r}" + (f", no {' or '.join(missing)}" if missing else "")
            skipped.append(SkippedRun(path.name, reason))
            continue
        if "task" not in record:
            skipped.append(SkippedRun(path.name, "run.json names no task"))
            continue
        rows = folder.read_scores()
        if not rows:
            skipped.append(SkippedRun(path.name, "scores.csv has no rows"))
            continue
        runs[str(record["task"])].append(RunEntry(folder, record, folder.read_summary(), rows))
    for name in skipped:
        log.warning("leaderboard leaves out %s: %s", name.path, name.reason)
    for entries in runs.values():
        _label(entries)
    return dict(runs), skipped


def _label(entries: list[RunEntry]) -> None:
    """Display labels: the model id, plus the run id's hash when one model has several runs."""
    count: dict[str, int] = defaultdict(int)
    for entry in entries:
        count[entry.model] += 1
    for entry in entries:
        suffix = entry.run_id.rsplit("--", 1)[-1][:10]
        entry.label = entry.model if count[entry.model] == 1 else f"{entry.model} ({suffix})"


def final_round(entry: RunEntry) -> int | None:
    """The last active-learning round of a run (None for other protocols)."""
    return entry.rounds[-1] if entry.rounds else None
