"""Synthetic results in the results store's format, for the docs, the tests and the speed benchmark.

Two tasks: ``demo-al-seg`` (active learning: samplers over rounds and seeds, Dice per case) and
``demo-seg`` (holdout: one seed, Dice per case). The numbers are made up; the files are exactly what
``mbench run`` writes (``run.json``, ``scores.csv``, ``summary.json`` through
:class:`~mbench.results.store.RunFolder`), so the leaderboard reads them the way it reads real runs.

Example:
    >>> import tempfile
    >>> root = Path(tempfile.mkdtemp())
    >>> cfg = write_demo_results(root, n_cases=10, holdout_models=2)
    >>> [t.id for t in cfg.tasks], len(list(root.iterdir()))
    (['demo-al-seg', 'demo-seg'], 6)
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from mbench.leaderboard.config import LeaderboardConfig
from mbench.results.store import RunFolder
from mbench.results.summary import summarise

__all__ = ["demo_card", "write_demo_results"]


def demo_card(task_id: str, protocol: dict[str, Any]) -> dict[str, Any]:
    """A task card (as plain data, like ``run.json``'s ``config.task``) for a synthetic Dice task."""
    return {
        "id": task_id, "version": "1.0.0", "family": "demo", "problem": "segmentation",
        "title": f"Synthetic whole-tumour segmentation ({protocol['name'].replace('_', ' ')})",
        "paper": "Synthetic demo results, not a real benchmark", "aliases": [],
        "data": {"adapter": "demo", "source": "synthetic scores written by mbench.leaderboard.demo",
                 "split": {"file": "splits/demo.json", "sha256": hashlib.sha256(task_id.encode()).hexdigest()}},
        "protocol": protocol,
        "metrics": {"primary": "dice", "report": ["dice"],
                    "conventions": {"both_empty": 1.0, "reference_empty_prediction_not": 0.0,
                                    "aggregation": "per_case_mean", "case_unit": "2D axial slice", "notes": ""}},
        "models": [], "reference_results": [
            {"metric": "dice", "value": 0.789, "setting": "U-Net on 100 % of the labelled slices (upper bound)",
             "source": "made-up demo paper, Sect. 4", "note": ""}],
    }


def _record(run_id: str, card: dict[str, Any], model: str, seeds: Sequence[int], official: bool,
            reasons: Sequence[str]) -> dict[str, Any]:
    config = {"task": card, "model": {"id": model, "kind": "sampler" if card["protocol"]["name"] ==
                                      "active_learning" else "learner", "params": {}},
              "learner": None, "run": {"limit": None, "quick": not official}, "official": official,
              "unofficial_reasons": list(reasons)}
    chash = hashlib.sha256(repr(sorted(config.items(), key=str)).encode()).hexdigest()
    return {"run_id": run_id, "status": "complete", "task": card["id"], "task_version": card["version"],
            "model": model, "official": official, "unofficial_reasons": list(reasons), "config_hash": chash,
            "config": config, "card": {"path": f"tasks/demo/{card['id']}.yaml", "sha256": chash[::-1]},
            "split": {"file": card["data"]["split"]["file"], "sha256": card["data"]["split"]["sha256"],
                      "sizes": {"test": 0}},
            "data": {"source": "synthetic", "root": "-", "sha256": hashlib.sha256(b"demo").hexdigest()},
            "seeds": list(seeds), "conventions": card["metrics"]["conventions"],
            "environment": {"git": {"sha": "0" * 40, "dirty": False}, "python": "3.11",
                            "platform": "demo", "device": {"requested": "auto", "used": "cpu"},
                            "packages": {"mbench": "0.1.0", "numpy": np.__version__}},
            "started": "2024-01-01T00:00:00+00:00", "finished": "2024-01-01T00:10:00+00:00", "resumed": [],
            "jobs_total": 1, "timings": {"this_invocation_s": 1.0}}


def _write_run(root: Path, card: dict[str, Any], model: str, rows: list[dict[str, Any]], seeds: Sequence[int],
               official: bool = True, reasons: Sequence[str] = ()) -> RunFolder:
    digest = hashlib.sha256(f"{card['id']}|{model}|{official}".encode()).hexdigest()[:10]
    run_id = f"{card['id']}--{''.join(c if c.isalnum() else '_' for c in model)[:20]}--{digest}"
    folder = RunFolder(root / run_id)
    folder.write_record(_record(run_id, card, model, seeds, official, reasons))
    folder.write_scores(rows)
    summary = summarise(rows, ["dice"])
    summary.update(task=card["id"], model=model, official=official, primary="dice")
    folder.write_summary(summary, "")
    return folder


def write_demo_results(root: str | Path, *, n_cases: int = 40,
                       al_models: Sequence[str] = ("random", "vaal", "mvaal"), seeds: Sequence[int] = (0, 1),
                       rounds: int = 3, holdout_models: int | Sequence[str] = 4, unofficial: bool = True,
                       seed: int = 0, resamples: int = 200) -> LeaderboardConfig:
    """Write synthetic runs under ``root`` and return a leaderboard config showing them.

    Args:
        n_cases: test cases per task.
        al_models: samplers of the active-learning task (empty: no such task); ``rounds`` rounds each
            (``rounds`` points on the learning curve) for every seed in ``seeds``.
        holdout_models: number (named ``model-01``, ...) or names of the holdout task's models. The last
            one misses two cases and has one undefined (NaN) score, to show the worst-value fill.
        unofficial: add an unofficial (``--quick``) run of the first holdout model.
    """
    root = Path(root)
    rng = np.random.default_rng(seed)
    difficulty = rng.beta(5, 2, n_cases) * 0.5 + 0.35
    cases = [f"case_{i:04d}" for i in range(n_cases)]
    tasks = []
    if al_models:
        card = demo_card("demo-al-seg", {"name": "active_learning", "learner": "unet", "initial_size": 200,
                                         "budget": 100, "rounds": rounds - 1, "seeds": list(seeds)})
        for k, model in enumerate(al_models):
            rows = []
            for s in seeds:
                for r in range(rounds):
                    gain = 0.02 * (k + 1) * math.log1p(r) + 0.06 * r / max(rounds - 1, 1)
                    noise = rng.normal(0, 0.05, n_cases)
                    values = np.clip(difficulty - 0.12 + gain + noise + 0.01 * s, 0, 1)
                    rows += [{"task": card["id"], "model": model, "seed": s, "fold": "", "round": r,
                              "n_labelled": 200 + 100 * r, "case": c, "group": c.rsplit("_", 1)[-1][:2],
                              "metric": "dice", "value": float(v), "note": ""} for c, v in zip(cases, values)]
            _write_run(root, card, model, rows, seeds)
        tasks.append({"id": card["id"]})
    names = ([f"model-{i + 1:02d}" for i in range(holdout_models)] if isinstance(holdout_models, int)
             else list(holdout_models))
    if names:
        card = demo_card("demo-seg", {"name": "holdout", "seeds": [0]})
        for k, model in enumerate(names):
            values = np.clip(difficulty + 0.015 * (len(names) - k) + rng.normal(0, 0.04, n_cases), 0, 1).tolist()
            rows = [{"task": card["id"], "model": model, "seed": 0, "fold": "", "round": "", "n_labelled": 800,
                     "case": c, "group": "", "metric": "dice", "value": v, "note": ""} for c, v in zip(cases, values)]
            if k == len(names) - 1 and n_cases > 4:
                rows = rows[:-2]
                rows[0] = {**rows[0], "value": math.nan, "note": "nan"}
            _write_run(root, card, model, rows, [0])
            if unofficial and k == 0:
                worse = [{**row, "value": max(0.0, float(row["value"]) - 0.03)} for row in rows]
                _write_run(root, card, model, worse, [0], official=False,
                           reasons=["quick setting (--quick)"])
        tasks.append({"id": card["id"]})
    return LeaderboardConfig.model_validate({"title": "mbench leaderboard (demo data)", "tasks": tasks,
                                             "bootstrap": {"resamples": resamples}})
