"""Build score matrices and learning curves from a results folder (one run folder per task, model and config).

Runs are found under a results root (``./results`` or ``$MBENCH_RESULTS`` by default) by their ``run.json``;
their tidy ``scores.csv`` rows (``run, task, model, seed, fold, round, n_labelled, case, group, metric, value,
note``) are selected down to one value per (case, model):

* active-learning runs: one budget (``n_labelled``; default the largest budget every model reached);
* seeds: ``seed="mean"`` (default) averages each case over seeds, ``seed=<int>`` takes one seed;
* dataset-level metrics (case ``*``) have no cases to pair: their units are the seeds instead.

Every choice is written into :attr:`ScoreMatrix.notes`. Models are named by model id, or by run id (or a
unique prefix) when a model has several finished runs for the task.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mbench.errors import MbenchError, did_you_mean
from mbench.results.store import RunFolder
from mbench.stats.learning_curves import LearningCurve
from mbench.stats.matrix import ScoreMatrix

__all__ = ["RunInfo", "find_runs", "select_runs", "load_score_matrix", "load_learning_curves", "ALL_CASES"]

ALL_CASES = "*"  # case id of dataset-level metric rows
# note of rows that hold no score (empty reference under empty_reference: exclude), as mbench.protocols.scoring
EXCLUDED_NOTE = "reference empty: excluded by the task's convention"


@dataclass(frozen=True)
class RunInfo:
    """What ``run.json`` says about one run folder."""

    run_id: str
    path: Path
    task: str
    model: str
    status: str
    official: bool
    primary: str | None = None
    protocol: str | None = None
    pair_units: str = "none"  # metrics.conventions.pair_units of the run's card (registration pairs -> cases)

    @property
    def folder(self) -> RunFolder:
        """The run's :class:`mbench.results.RunFolder`."""
        return RunFolder(self.path)

    @property
    def has_scores(self) -> bool:
        """Whether ``scores.csv`` exists."""
        return (self.path / "scores.csv").exists()


def _root(root: str | Path | None) -> Path:
    if root is not None:
        return Path(root)
    from mbench.paths import results_dir

    return results_dir()


def _info(path: Path) -> RunInfo | None:
    try:
        record = json.loads((path / "run.json").read_text())
    except (OSError, json.JSONDecodeError):
        return None
    if not isinstance(record, dict) or "task" not in record or "model" not in record:
        return None
    task_cfg = ((record.get("config") or {}).get("task") or {})
    return RunInfo(run_id=path.name, path=path, task=str(record["task"]), model=str(record["model"]),
                   status=str(record.get("status", "unknown")), official=bool(record.get("official", False)),
                   primary=(task_cfg.get("metrics") or {}).get("primary"),
                   protocol=(task_cfg.get("protocol") or {}).get("name"),
                   pair_units=str(((task_cfg.get("metrics") or {}).get("conventions") or {}).get("pair_units")
                                  or "none"))


def find_runs(root: str | Path | None = None, task: str | None = None) -> list[RunInfo]:
    """Every run folder (a child of ``root`` holding a readable ``run.json``), optionally for one task id.

    Example:
        >>> find_runs("no-such-results-folder")
        []
    """
    base = _root(root)
    if not base.is_dir():
        return []
    runs = [info for p in sorted(base.iterdir()) if p.is_dir() and (p / "run.json").exists()
            and (info := _info(p)) is not None]
    return [r for r in runs if task is None or r.task == task]


def _resolve_task(name: str, runs: list[RunInfo], root: Path) -> str:
    tasks = sorted({r.task for r in runs})
    if name in tasks:
        return name
    try:  # an alias from the task cards
        from mbench.config.loading import read_yaml
        from mbench.tasks.registry import resolve_task_name

        task_id = str(read_yaml(resolve_task_name(name)).get("id"))
    except MbenchError:
        task_id = None
    if task_id in tasks:
        return task_id
    if not tasks:
        raise MbenchError(f"no runs under {root}", expected="run folders with run.json and scores.csv",
                          fix="run `mbench run task=... model=...` first, or pass --out / $MBENCH_RESULTS")
    raise did_you_mean("task", name, tasks, fix=f"tasks with runs under {root}: {', '.join(tasks)}")


def select_runs(task: str, models: Sequence[str] | None = None, root: str | Path | None = None) -> dict[str, RunInfo]:
    """The finished run of each model for a task: ``{label: RunInfo}``.

    Args:
        task: task id or alias.
        models: model ids, run ids or unique run-id prefixes (default: every model with a finished run).
        root: results root.

    Raises:
        MbenchError: unknown task or model, no finished run, or several finished runs of one model.
    """
    base = _root(root)
    all_runs = find_runs(base)
    task_id = _resolve_task(task, all_runs, base)
    runs = [r for r in all_runs if r.task == task_id]
    done = [r for r in runs if r.status == "complete" and r.has_scores]
    wanted = list(models) if models else sorted({r.model for r in done})
    if not wanted:
        raise MbenchError(f"no finished run of task {task_id} under {base}",
                          found=", ".join(f"{r.run_id} ({r.status})" for r in runs) or "none",
                          fix="finish (resume) the runs with the same `mbench run` command")
    chosen: list[tuple[str, RunInfo]] = []
    for item in wanted:
        by_id = [r for r in runs if r.run_id == item] or [r for r in runs if r.run_id.startswith(item)]
        if by_id and item not in {r.model for r in runs}:
            if len(by_id) > 1:
                raise MbenchError(f"run prefix {item!r} is ambiguous", found=", ".join(r.run_id for r in by_id),
                                  fix="give more of the run id")
            run = by_id[0]
            if not (run.status == "complete" and run.has_scores):
                raise MbenchError(f"run {run.run_id} is not finished", found=f"status {run.status}",
                                  fix="resume it with the same `mbench run` command")
            chosen.append((item, run))
            continue
        cands = [r for r in done if r.model == item]
        if not cands:
            others = [r for r in runs if r.model == item]
            if others:
                raise MbenchError(f"model {item!r} has no finished run of task {task_id}",
                                  found=", ".join(f"{r.run_id} ({r.status})" for r in others),
                                  fix="resume the run with the same `mbench run` command")
            raise did_you_mean("model", item, sorted({r.model for r in runs}),
                               fix=f"models with runs of {task_id}: {', '.join(sorted({r.model for r in runs}))}")
        if len(cands) > 1:
            raise MbenchError(f"model {item!r} has {len(cands)} finished runs of task {task_id}",
                              found=", ".join(f"{r.run_id} ({'official' if r.official else 'unofficial'})"
                                              for r in cands),
                              fix="name the run instead of the model, e.g. models=" + cands[0].run_id)
        chosen.append((item, cands[0]))
    models_seen = [r.model for _, r in chosen]
    labels = {}
    for item, run in chosen:
        label = run.model if models_seen.count(run.model) == 1 else run.run_id
        if label in labels:
            raise MbenchError(f"run {run.run_id} is listed twice")
        labels[label] = run
    return labels


def _float(v: Any) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        return math.nan


def _rows(run: RunInfo, metric: str) -> list[dict[str, Any]]:
    """Rows of one metric label: ``dice``, or ``dice:WT`` for region-scored tasks."""
    from mbench.results.summary import metric_label

    rows = run.folder.read_scores()
    out = [r for r in rows if metric_label(r) == metric]
    if not out:
        have = sorted({metric_label(r) for r in rows})
        raise MbenchError(f"run {run.run_id} has no {metric!r} scores", expected=metric,
                          found=", ".join(have) or "no rows", fix=f"pass metric=<one of {', '.join(have)}>")
    for r in out:
        r["_round"] = None if r.get("round") in (None, "") else int(r["round"])
        r["_n"] = None if r.get("n_labelled") in (None, "") else int(r["n_labelled"])
        r["_seed"] = int(r["seed"]) if r.get("seed") not in (None, "") else 0
        r["_value"] = _float(r.get("value"))
    return out


def _metric(metric: str | None, runs: dict[str, RunInfo]) -> tuple[str, bool, float | None]:
    if metric is None:
        primaries = {r.primary for r in runs.values()}
        if len(primaries) != 1 or None in primaries:
            raise MbenchError("cannot tell which metric to compare", found=f"primary metrics {sorted(map(str, primaries))}",
                              fix="pass metric=<id>")
        metric = primaries.pop()
    from mbench.metrics.registry import get_metric

    spec = get_metric(str(metric))  # "dice:WT" resolves to dice
    return str(metric), spec.higher_is_better, spec.worst


def load_score_matrix(task: str, models: Sequence[str] | None = None, metric: str | None = None, *,
                      root: str | Path | None = None, n_labelled: int | None = None,
                      seed: int | str = "mean") -> ScoreMatrix:
    """A (case x model) score matrix for one task and metric from the results store.

    Args:
        task: task id or alias.
        models: model ids or run ids (default: every model with a finished run).
        metric: metric id (default: the task's primary metric).
        root: results root (default ``$MBENCH_RESULTS`` or ``./results``).
        n_labelled: budget of active-learning runs (default: the largest one all models reached).
        seed: ``"mean"`` to average each case over seeds, or one seed.

    Raises:
        MbenchError: for anything missing or ambiguous, saying what exists.
    """
    base = _root(root)
    runs = select_runs(task, models, base)
    metric_id, higher, worst = _metric(metric, runs)
    rows = {label: _rows(run, metric_id) for label, run in runs.items()}
    notes: list[str] = []
    is_al = any(r["_round"] is not None for rs in rows.values() for r in rs)
    budgets = {label: sorted({r["_n"] for r in rs if r["_n"] is not None}) for label, rs in rows.items()}
    if n_labelled is None and is_al:
        common = set.intersection(*(set(b) for b in budgets.values()))
        if not common:
            raise MbenchError("the active-learning runs share no labelled-set size",
                              found="; ".join(f"{k}: {v}" for k, v in budgets.items()), fix="pass n_labelled=<size>")
        n_labelled = max(common)
        notes.append(f"n_labelled={n_labelled} (the largest budget all models reached)")
    elif n_labelled is not None:
        for label, b in budgets.items():
            if n_labelled not in b:
                raise MbenchError(f"{label} has no scores at n_labelled={n_labelled}",
                                  expected=", ".join(map(str, b)), found=str(n_labelled))
        notes.append(f"n_labelled={n_labelled}")
    if n_labelled is not None:
        rows = {k: [r for r in rs if r["_n"] == n_labelled] for k, rs in rows.items()}
    if seed != "mean":
        try:
            seed_i = int(seed)
        except (TypeError, ValueError):
            raise MbenchError(f"bad seed {seed!r}", expected="'mean' or an integer") from None
        for label, rs in rows.items():
            if not any(r["_seed"] == seed_i for r in rs):
                raise MbenchError(f"{label} has no scores for seed {seed_i}",
                                  expected=", ".join(map(str, sorted({r['_seed'] for r in rs}))))
        rows = {k: [r for r in rs if r["_seed"] == seed_i] for k, rs in rows.items()}
        notes.append(f"seed {seed_i} only")
    dataset_level = all(r["case"] == ALL_CASES for rs in rows.values() for r in rs)
    unit = "seed" if dataset_level else "case"
    scores: dict[str, dict[str, float]] = {}
    partial_nan = 0
    seeds_seen: set[int] = set()
    for label, rs in rows.items():
        buckets: dict[str, list[float]] = defaultdict(list)
        for r in rs:
            if r["case"] == ALL_CASES and not dataset_level:
                continue
            if r.get("note") == EXCLUDED_NOTE:  # not a score: the case does not count for this metric
                continue
            key = f"seed:{r['_seed']}" if dataset_level else str(r["case"])
            buckets[key].append(r["_value"])
            seeds_seen.add(r["_seed"])
        per = {}
        for key, vals in buckets.items():
            arr = np.asarray(vals, dtype=float)
            ok = arr[~np.isnan(arr)]
            partial_nan += int(0 < ok.size < arr.size)
            per[key] = float(ok.mean()) if ok.size else math.nan
        scores[label] = per
    pair_units = {r.pair_units for r in runs.values()} - {"none"}
    if pair_units and not dataset_level:  # registration pairs share cases: the test units are cases
        from mbench.stats.pair_units import aggregate_pair_scores

        how = min(pair_units)  # one task: one declared aggregation
        scores = {label: aggregate_pair_scores(per, how) for label, per in scores.items()}
        notes.append(f"registration pair scores averaged per case (pair_units={how}): "
                     + ("each pair counts for its fixed and its moving case" if how == "cases"
                        else "each pair counts for its fixed case"))
    if dataset_level:
        notes.append(f"{metric_id} is a dataset-level metric: units are seeds, not cases")
    elif seed == "mean" and len(seeds_seen) > 1:
        notes.append(f"case scores averaged over seeds {', '.join(map(str, sorted(seeds_seen)))}")
    if partial_nan:
        notes.append(f"{partial_nan} case score(s) were NaN for some seeds; averaged over the other seeds")
    matrix = ScoreMatrix.from_scores(scores, metric=metric_id, higher_is_better=higher, worst=worst, unit=unit,
                                     notes=tuple(notes), runs={k: r.run_id for k, r in runs.items()},
                                     task=next(iter(runs.values())).task)
    return matrix


def load_learning_curves(task: str, models: Sequence[str] | None = None, metric: str | None = None, *,
                         root: str | Path | None = None) -> dict[str, LearningCurve]:
    """Per model, the learning curve (seed x labelled-set size) of an active-learning task.

    Each point is the metric's mean over test cases for that seed and budget (NaN case scores left out, as
    in the run's summary); dataset-level metrics are taken as they are.

    Raises:
        MbenchError: when a run is not an active-learning run.
    """
    base = _root(root)
    runs = select_runs(task, models, base)
    metric_id, higher, _ = _metric(metric, runs)
    out = {}
    for label, run in runs.items():
        rows = _rows(run, metric_id)
        if all(r["_round"] is None for r in rows):
            raise MbenchError(f"run {run.run_id} is not an active-learning run (no rounds in its scores)",
                              fix="learning curves need runs of an active_learning protocol")
        buckets: dict[tuple[int, int], list[float]] = defaultdict(list)
        for r in rows:
            buckets[(r["_seed"], r["_n"])].append(r["_value"])
        points = {}
        for key, vals in buckets.items():
            arr = np.asarray(vals, dtype=float)
            ok = arr[~np.isnan(arr)]
            points[key] = float(ok.mean()) if ok.size else math.nan
        out[label] = LearningCurve.from_points(label, points, metric=metric_id, higher_is_better=higher,
                                               run=run.run_id)
    return out
