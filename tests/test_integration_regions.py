"""Region tasks through the whole chain: run, `mbench compare`, leaderboard (metric labels such as dice:WT)."""

from __future__ import annotations

import pytest

from mbench.cli.main import main
from mbench.config.resolve import resolve_run_config
from mbench.leaderboard import LeaderboardConfig, build_site
from mbench.runner import execute_run
from mbench.stats import load_score_matrix

pytest.importorskip("torch")


@pytest.fixture(scope="module")
def region_runs(tiny_tasks, tmp_path_factory):
    import os

    old = os.environ.get("MBENCH_TASKS_DIR")
    os.environ["MBENCH_TASKS_DIR"] = str(tiny_tasks)
    results = tmp_path_factory.mktemp("region-results")
    try:
        for lr in (1e-3, 3e-3):  # two configurations of the same model: two entries
            execute_run(resolve_run_config("tiny-brats-regions", "unet", {"run.out": str(results), "model.lr": lr},
                                           quick=True))
        yield results
    finally:
        if old is None:
            os.environ.pop("MBENCH_TASKS_DIR")
        else:
            os.environ["MBENCH_TASKS_DIR"] = old


def _run_ids(results):
    return sorted(p.name for p in results.iterdir() if (p / "run.json").exists())


def test_score_matrix_per_region(region_runs, use_tiny_tasks):
    runs = _run_ids(region_runs)
    wt = load_score_matrix("tiny-brats-regions", runs, metric="dice:WT", root=region_runs)
    et = load_score_matrix("tiny-brats-regions", runs, metric="hd95:ET", root=region_runs)
    assert wt.values.shape == et.values.shape and wt.values.shape[1] == 2
    assert wt.higher_is_better and not et.higher_is_better


def test_compare_and_leaderboard_show_regions(region_runs, use_tiny_tasks, tmp_path, capsys):
    models = ",".join(_run_ids(region_runs))
    assert main(["compare", "task=tiny-brats-regions", f"models={models}", "metric=dice:TC",
                 "--out", str(region_runs)]) == 0
    assert "dice:TC" in capsys.readouterr().out
    config = LeaderboardConfig.model_validate({"tasks": [{"id": "tiny-brats-regions"}]})
    build_site(region_runs, config, tmp_path / "site", resamples=50)
    pages = "".join(p.read_text() for p in (tmp_path / "site").rglob("*.html"))
    for label in ("dice:WT", "dice:TC", "dice:ET", "hd95:WT", "hd95:ET"):
        assert label in pages
