"""Score matrices from a results folder, and `mbench compare` end to end on a fabricated results folder."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from mbench.cli.main import main
from mbench.errors import MbenchError
from mbench.results.store import RunFolder
from mbench.stats import find_runs, load_learning_curves, load_score_matrix, select_runs

AL_TASK = "brats18-al-wtseg"
HOLDOUT_TASK = "brats18-wtseg"


def _record(folder: RunFolder, task: str, model: str, protocol: str, status: str = "complete") -> None:
    folder.write_record({"run_id": folder.run_id, "task": task, "model": model, "status": status, "official": False,
                         "config": {"task": {"metrics": {"primary": "dice"}, "protocol": {"name": protocol}}}})


def _al_run(root: Path, model: str, shift: float, *, tag: str = "abc", cases: int = 20, seeds=(0, 1, 2),
            status: str = "complete") -> RunFolder:
    folder = RunFolder(root / f"{AL_TASK}--{model}--{tag}")
    _record(folder, AL_TASK, model, "active_learning", status)
    rng = np.random.default_rng(len(model))
    rows = []
    for seed in seeds:
        for rnd, n in enumerate((40, 60, 80)):
            for c in range(cases):
                value = min(1.0, 0.5 + 0.1 * rnd + shift + 0.01 * c + 0.02 * rng.normal())
                rows.append({"task": AL_TASK, "model": model, "seed": seed, "fold": "", "round": rnd,
                             "n_labelled": n, "case": f"case{c:03d}", "group": f"p{c // 2}", "metric": "dice",
                             "value": value, "note": ""})
    if status == "complete":
        folder.write_scores(rows)
    return folder


def _holdout_run(root: Path, model: str, values: dict[str, float]) -> RunFolder:
    folder = RunFolder(root / f"{HOLDOUT_TASK}--{model}--h1")
    _record(folder, HOLDOUT_TASK, model, "holdout")
    rows = [{"task": HOLDOUT_TASK, "model": model, "seed": 0, "fold": "", "round": "", "n_labelled": 100, "case": c,
             "group": c, "metric": "dice", "value": v, "note": "nan" if math.isnan(v) else ""}
            for c, v in values.items()]
    rows.append({"task": HOLDOUT_TASK, "model": model, "seed": 0, "fold": "", "round": "", "n_labelled": 100,
                 "case": "*", "group": "", "metric": "map_macro", "value": 0.5, "note": "dataset-level"})
    folder.write_scores(rows)
    return folder


@pytest.fixture()
def results(tmp_path: Path) -> Path:
    _al_run(tmp_path, "mvaal", 0.05)
    _al_run(tmp_path, "vaal", 0.02)
    _al_run(tmp_path, "random", 0.0)
    _al_run(tmp_path, "coreset", 0.0, status="running")
    base = {f"s{i:02d}": 0.6 + 0.01 * i for i in range(12)}
    _holdout_run(tmp_path, "unet", base)
    worse = {c: v - 0.05 for c, v in base.items() if c != "s11"}  # one case missing
    worse["s03"] = float("nan")
    _holdout_run(tmp_path, "resnet", worse)
    return tmp_path


def test_load_score_matrix_selects_the_last_common_budget_and_averages_seeds(results):
    m = load_score_matrix("brats", ["mvaal", "vaal", "random"], root=results)  # alias -> the AL task card
    assert m.task == AL_TASK and m.models == ("mvaal", "vaal", "random") and m.metric == "dice"
    assert m.shape == (20, 3) and m.unit == "case" and m.worst == 0.0 and m.higher_is_better
    assert m.notes[0].startswith("n_labelled=80") and "averaged over seeds 0, 1, 2" in m.notes[1]
    rows = RunFolder(results / f"{AL_TASK}--mvaal--abc").read_scores()
    case0 = [float(r["value"]) for r in rows if r["case"] == "case000" and r["n_labelled"] == "80"]
    assert m.values[0, 0] == pytest.approx(np.mean(case0))
    one = load_score_matrix(AL_TASK, ["mvaal"], root=results, n_labelled=40, seed=1)
    assert one.notes == ("n_labelled=40", "seed 1 only") and one.shape == (20, 1)
    assert m.runs["mvaal"] == f"{AL_TASK}--mvaal--abc"


def test_loader_errors_say_what_exists(results):
    with pytest.raises(MbenchError, match="no finished run"):
        select_runs(AL_TASK, ["coreset"], results)
    with pytest.raises(MbenchError, match="did you mean 'mvaal'"):
        select_runs(AL_TASK, ["mvall"], results)
    with pytest.raises(MbenchError, match="no scores at n_labelled=50"):
        load_score_matrix(AL_TASK, ["mvaal"], root=results, n_labelled=50)
    with pytest.raises(MbenchError, match="has no 'hd95' scores"):
        load_score_matrix(AL_TASK, ["mvaal"], "hd95", root=results)
    with pytest.raises(MbenchError, match="no runs under"):
        load_score_matrix(AL_TASK, root=results / "empty")
    _al_run(results, "mvaal", 0.04, tag="second")
    with pytest.raises(MbenchError, match="2 finished runs") as err:
        select_runs(AL_TASK, ["mvaal"], results)
    assert "name the run instead" in str(err.value)
    chosen = select_runs(AL_TASK, [f"{AL_TASK}--mvaal--second", f"{AL_TASK}--mvaal--abc"], results)
    assert list(chosen) == [f"{AL_TASK}--mvaal--second", f"{AL_TASK}--mvaal--abc"]  # same model twice: run ids
    assert {r.model for r in find_runs(results, AL_TASK)} == {"mvaal", "vaal", "random", "coreset"}


def test_dataset_level_metric_uses_seeds_as_units(results):
    m = load_score_matrix(HOLDOUT_TASK, ["unet", "resnet"], "map_macro", root=results)
    assert m.unit == "seed" and m.cases == ("seed:0",) and "dataset-level" in m.notes[0]


def test_learning_curves_from_the_store(results):
    curves = load_learning_curves(AL_TASK, ["mvaal", "random"], root=results)
    c = curves["mvaal"]
    assert c.n_labelled == (40, 60, 80) and c.seeds == (0, 1, 2) and c.run == f"{AL_TASK}--mvaal--abc"
    rows = RunFolder(results / f"{AL_TASK}--mvaal--abc").read_scores()
    point = [float(r["value"]) for r in rows if r["seed"] == "1" and r["n_labelled"] == "60"]
    assert c.values[1, 1] == pytest.approx(np.mean(point))
    with pytest.raises(MbenchError, match="not an active-learning run"):
        load_learning_curves(HOLDOUT_TASK, ["unet"], root=results)


@pytest.fixture()
def wide_console(monkeypatch):
    from mbench.cli.display import console

    monkeypatch.setattr(console, "_width", 220)


def test_compare_prints_the_corrected_pairwise_table(results, capsys, wide_console):
    code = main(["compare", f"task={AL_TASK}", "models=mvaal,vaal,random", "n_boot=200", "--out", str(results)])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "metric dice (higher is better) · 20 cases · 3 models" in out
    assert "n_labelled=80 (the largest budget all models reached)" in out
    for pair in ("mvaal − vaal", "mvaal − random", "vaal − random"):
        assert pair in out
    assert "p holm" in out and "✓ mvaal" in out and "r_rb" in out and "mean [95% CI]" in out
    assert "learning curves: mean ± sd over seeds" in out and "AULC" in out
    assert "per-budget tests across seeds: ttest_rel, holm correction over all budgets" in out  # title may wrap
    assert "AULC   mvaal − vaal" in out


def test_compare_json_matches_the_library(results, capsys):
    code = main(["compare", f"task={AL_TASK}", "models=mvaal,random", "test=ttest_rel", "correction=bonferroni",
                 "n_boot=100", "--json", "--out", str(results)])
    data = json.loads(capsys.readouterr().out)
    assert code == 0
    res = data["comparison"]["results"][0]
    assert (res["a"], res["b"], res["test"], res["correction"]) == ("mvaal", "random", "ttest_rel", "bonferroni")
    assert res["significant"] is True and res["better"] == "mvaal" and res["n"] == 20
    assert data["learning_curves"]["budgets"] == [40, 60, 80]


def test_compare_refuses_differing_coverage_and_accepts_intersection(results, capsys, wide_console):
    code = main(["compare", f"task={HOLDOUT_TASK}", "models=unet,resnet", "--out", str(results)])
    out = capsys.readouterr().out
    assert code == 2 and "unet and resnet were scored on different cases" in out and "--intersection" in out
    code = main(["compare", f"task={HOLDOUT_TASK}", "models=unet,resnet", "n_boot=100", "--intersection",
                 "--out", str(results)])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "[1] intersection of case ids used: 1 case(s) only in unet, 0 only in resnet left out" in out
    assert "1 case(s) with a NaN score left out of the pairs" in out
    assert "learning curves" not in out  # a holdout task has none


def test_compare_argument_errors(results, capsys):
    assert main(["compare", "models=a,b", "--out", str(results)]) == 2
    assert "missing task=" in capsys.readouterr().out
    assert main(["compare", f"task={AL_TASK}", "tset=wilcoxon", "--out", str(results)]) == 2
    assert "did you mean 'test'" in capsys.readouterr().out
    assert main(["compare", f"task={AL_TASK}", "test=wilcox", "--out", str(results)]) == 2
    assert "unknown test 'wilcox'" in capsys.readouterr().out
    assert main(["compare", f"task={AL_TASK}", "alpha=high", "--out", str(results)]) == 2
    assert "bad value for alpha=" in capsys.readouterr().out
