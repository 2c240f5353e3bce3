"""The active-learning protocol end to end on the tiny stand-in: sampler isolation, determinism, resume."""

from __future__ import annotations

import json

import numpy as np
import pytest

import spy_models
from mbench.config.resolve import resolve_run_config
from mbench.errors import MbenchError
from mbench.models.registry import BUILTIN_MODELS, ModelEntry
from mbench.runner import execute_run

pytest.importorskip("torch")


@pytest.fixture
def spy_registered(monkeypatch):
    monkeypatch.setitem(BUILTIN_MODELS, "spy", ModelEntry("spy", "sampler", "spy_models:SpySampler", "test spy",
                                                          requires_torch=False))
    monkeypatch.setitem(BUILTIN_MODELS, "broken", ModelEntry("broken", "sampler", "spy_models:BrokenSampler",
                                                             "returns labelled ids", requires_torch=False))
    spy_models.CALLS.clear()
    return spy_models.CALLS


def _config(model, results, **overrides):
    extra = {"models": ["random", "vaal", "mvaal", "spy", "broken"], "run.out": str(results), **overrides}
    return resolve_run_config("tiny-brats", model, extra, quick=True)


def test_sampler_never_receives_unlabelled_targets(use_tiny_tasks, results, spy_registered):
    folder = execute_run(_config("spy", results))
    assert len(spy_registered) == 4  # 2 seeds x 2 acquisition rounds
    for call in spy_registered:
        view = call["view"]
        unlabelled = set(view.unlabelled_ids)
        assert unlabelled and unlabelled.isdisjoint(view._labelled_targets)
        assert set(view._labelled_targets) == set(view.labelled_ids)
        with pytest.raises(MbenchError, match="targets of unlabelled samples"):
            view.labelled_targets([next(iter(unlabelled))])
        # the view carries images only: no label maps of the pool anywhere in it
        assert {f for f in vars(view)} == {"pool_ids", "labelled_ids", "images", "aux", "_labelled_targets"}
    assert folder.read_record()["status"] == "complete"


def test_labelled_pool_grows_by_the_budget_each_round(use_tiny_tasks, results, spy_registered):
    folder = execute_run(_config("spy", results))
    for seed in (0, 1):
        jobs = [folder.read_job(f"seed{seed}-round{r}") for r in range(3)]
        assert [j["n_labelled"] for j in jobs] == [8, 12, 16]
        for before, after in zip(jobs, jobs[1:]):
            assert set(after["labelled_ids"]) == set(before["labelled_ids"]) | set(before["selected_ids"])
            assert set(before["selected_ids"]).isdisjoint(before["labelled_ids"])


def test_same_seed_gives_same_selection_and_scores(use_tiny_tasks, tmp_path):
    a = execute_run(_config("mvaal", tmp_path / "a"))
    b = execute_run(_config("mvaal", tmp_path / "b"))
    for key in ("seed0-round0", "seed0-round1", "seed1-round1"):
        assert a.read_job(key)["selected_ids"] == b.read_job(key)["selected_ids"]
    rows_a, rows_b = a.read_scores(), b.read_scores()
    assert [r["value"] for r in rows_a] == [r["value"] for r in rows_b]
    assert a.read_job("seed0-round0")["selected_ids"] != a.read_job("seed1-round0")["selected_ids"]


def test_run_folder_holds_provenance_and_tidy_scores(use_tiny_tasks, results):
    folder = execute_run(_config("vaal", results))
    record = folder.read_record()
    for key in ("config", "config_hash", "split", "data", "environment", "seeds", "timings", "conventions"):
        assert key in record
    assert record["official"] is False and record["unofficial_reasons"]
    assert len(record["split"]["sha256"]) == 64 and len(record["data"]["sha256"]) == 64
    assert record["environment"]["packages"]["torch"]
    rows = folder.read_scores()
    assert {r["metric"] for r in rows} == {"dice"}
    assert {(r["seed"], r["round"]) for r in rows} == {(s, r) for s in ("0", "1") for r in ("0", "1", "2")}
    n_test = len({r["case"] for r in rows})
    assert len(rows) == 6 * n_test
    summary = json.loads((folder.path / "summary.json").read_text())
    points = summary["metrics"]["dice"]["points"]
    assert [p["n_labelled"] for p in points] == [8, 12, 16]
    per_seed = [np.mean([float(r["value"]) for r in rows if r["seed"] == "0" and r["round"] == "0"]),
                np.mean([float(r["value"]) for r in rows if r["seed"] == "1" and r["round"] == "0"])]
    assert points[0]["mean"] == pytest.approx(np.mean(per_seed))
    assert points[0]["sd"] == pytest.approx(np.std(per_seed, ddof=1))


def test_interrupted_run_resumes_without_redoing_finished_jobs(use_tiny_tasks, results, spy_registered):
    config = _config("spy", results)
    folder = execute_run(config)
    expected = folder.read_scores()
    done_before = {k: folder.job_path(k).stat().st_mtime_ns for k in ("seed0-round0", "seed0-round1")}
    folder.job_path("seed1-round2").unlink()
    folder.job_path("seed1-round1").unlink()
    (folder.path / "scores.csv").unlink()
    spy_registered.clear()
    execute_run(config)
    assert len(spy_registered) == 1  # only seed 1 round 1 needed the sampler again
    assert {k: folder.job_path(k).stat().st_mtime_ns for k in done_before} == done_before
    assert folder.read_scores() == expected
    assert folder.read_record()["resumed"]


def test_invalid_sampler_output_fails_loudly_and_keeps_finished_jobs(use_tiny_tasks, results, spy_registered):
    config = _config("broken", results)
    with pytest.raises(MbenchError, match="returned an invalid selection"):
        execute_run(config)
    folder = execute_run.__globals__["ResultsStore"](results).folder(config.run_id)
    record = folder.read_record()
    assert record["status"] == "failed" and "invalid selection" in record["error"]
    assert not folder.job_done("seed0-round0")  # round 0 itself fails at its sampling step


def test_classification_task_reports_map(use_tiny_tasks, results):
    folder = execute_run(resolve_run_config("tiny-brats-mlcls", "random", {"run.out": str(results)}, quick=True))
    rows = folder.read_scores()
    assert {r["metric"] for r in rows} == {"map_macro"} and {r["case"] for r in rows} == {"*"}
    assert all(0 <= float(r["value"]) <= 1 for r in rows)
    job = folder.read_job("seed0-round0")
    assert np.asarray(job["predictions"]).shape[1] == 3


def test_holdout_task_with_unet(use_tiny_tasks, results):
    folder = execute_run(resolve_run_config("tiny-brats-wt-full", "unet", {"run.out": str(results)}, quick=True))
    record = folder.read_record()
    assert record["status"] == "complete" and record["jobs_total"] == 1
    assert folder.read_job("seed0")["train_log"]["best_epoch"] >= 1


def test_region_task_reports_wt_tc_et_dice_and_hd95_with_its_profile(use_tiny_tasks, results):
    config = resolve_run_config("tiny-brats-regions", "unet", {"run.out": str(results)}, quick=True)
    folder = execute_run(config)
    rows = folder.read_scores()
    assert {(r["metric"], r["region"]) for r in rows} == {(m, g) for m in ("dice", "hd95") for g in ("WT", "TC", "ET")}
    record = folder.read_record()
    assert record["conventions"]["distance_worst"] == 339.41
    summary = json.loads((folder.path / "summary.json").read_text())
    assert set(summary["metrics"]) == {"dice:WT", "dice:TC", "dice:ET", "hd95:WT", "hd95:TC", "hd95:ET"}
    # infinite distances are replaced by the declared worst value, and the row says so
    for r in rows:
        assert np.isfinite(float(r["value"]))
        if r["metric"] == "hd95" and r["note"].startswith("inf"):
            assert float(r["value"]) == 339.41
