"""The results store: a folder per run, every file written atomically, resumable job by job.

Layout of ``<out>/<run_id>/``::

    run.json      provenance: git sha, versions, task/split/data hashes, resolved config, seeds, device, timings
    jobs/<key>.json   one finished job each (score rows, selected ids, training log, timings)
    scores.csv    tidy per-case scores: run, task, model, seed, fold, round, n_labelled, case, group, region, metric,
                  value, note (region is empty unless the task scores regions, e.g. BraTS WT / TC / ET)
    summary.json  aggregates (and the learning curve for active learning)
    summary.txt   the summary table as printed
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from mbench.errors import MbenchError

__all__ = ["atomic_write_text", "RunFolder", "ResultsStore", "SCORE_COLUMNS"]

SCORE_COLUMNS = ["run", "task", "model", "seed", "fold", "round", "n_labelled", "case", "group", "region", "metric",
                 "value", "note"]


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` via a temporary file and ``os.replace`` (never a half-written file)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _json(data: Any) -> str:
    return json.dumps(data, indent=1, sort_keys=True, default=str, allow_nan=True) + "\n"


class RunFolder:
    """One run's folder."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    @property
    def run_id(self) -> str:
        return self.path.name

    def exists(self) -> bool:
        return (self.path / "run.json").exists()

    def read_record(self) -> dict[str, Any]:
        if not self.exists():
            raise MbenchError(f"no run at {self.path}", expected="a folder with run.json",
                              fix="pass a run folder or id from `mbench show` / the results folder")
        return json.loads((self.path / "run.json").read_text())

    def write_record(self, record: dict[str, Any]) -> None:
        atomic_write_text(self.path / "run.json", _json(record))

    def job_path(self, key: str) -> Path:
        return self.path / "jobs" / f"{key}.json"

    def job_done(self, key: str) -> bool:
        return self.job_path(key).exists()

    def read_job(self, key: str) -> dict[str, Any]:
        return json.loads(self.job_path(key).read_text())

    def write_job(self, key: str, result: dict[str, Any]) -> None:
        atomic_write_text(self.job_path(key), _json(result))

    def write_scores(self, rows: list[dict[str, Any]]) -> None:
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=SCORE_COLUMNS, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({**row, "run": self.run_id})
        atomic_write_text(self.path / "scores.csv", buf.getvalue())

    def read_scores(self) -> list[dict[str, Any]]:
        with open(self.path / "scores.csv", newline="") as fh:
            return list(csv.DictReader(fh))

    def write_summary(self, summary: dict[str, Any], text: str) -> None:
        atomic_write_text(self.path / "summary.json", _json(summary))
        atomic_write_text(self.path / "summary.txt", text)

    def read_summary(self) -> dict[str, Any]:
        path = self.path / "summary.json"
        if not path.exists():
            raise MbenchError(f"run {self.run_id} has no summary yet (status: {self.read_record().get('status')})",
                              fix="resume it by re-running the same `mbench run` command")
        return json.loads(path.read_text())


class ResultsStore:
    """All runs under one root folder."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def folder(self, run_id: str) -> RunFolder:
        return RunFolder(self.root / run_id)

    def find(self, ref: str) -> RunFolder:
        """A run by folder path, id, or unique id prefix."""
        path = Path(ref)
        if (path / "run.json").exists():
            return RunFolder(path)
        matches = sorted(p for p in self.root.glob(f"{ref}*") if (p / "run.json").exists()) if self.root.exists() else []
        if len(matches) == 1:
            return RunFolder(matches[0])
        known = sorted(p.name for p in self.root.iterdir() if (p / "run.json").exists()) if self.root.exists() else []
        raise MbenchError(f"no unique run matches {ref!r} in {self.root}",
                          expected="a run folder, run id or unique prefix",
                          found=f"{len(matches)} matches; runs here: {', '.join(known[:5]) or 'none'}",
                          fix="pass the run folder path printed by `mbench run`")
