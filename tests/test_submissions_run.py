"""The example packages and scaffolds validate, run with `mbench submit` and land on the leaderboard.

Also: what crosses the sandbox boundary (a sampler sees pool images and labelled-pool labels only, a
predictor never a reference), the package hash in the run's provenance, resume and re-runs, refusal
of official runs without isolation, and the data-permission guard.
"""

from __future__ import annotations

import importlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest
import yaml
from mbench.cli.main import main
from mbench.errors import MbenchError
from mbench.results.store import RunFolder
from mbench.submissions import SandboxLimits, submit
from mbench.submissions.package import content_sha256
from test_submissions_helpers import (
    AL,
    AL_ID,
    HOLDOUT,
    HOLDOUT_ID,
    PREDICT_ONES,
    copy_example,
    needs_isolation,
    write_package,
)

LIMITS = SandboxLimits(wall_s=120, cpu_s=120, memory_mb=2048, processes=32, output_mb=64)
AL_SMALL = {"protocol.seeds": [0], "protocol.rounds": 1}


@pytest.fixture(scope="module")
def examples_store(tmp_path_factory, tiny_tasks):
    """The three examples submitted (CLI for two of them) into one results store."""
    mp = pytest.MonkeyPatch()
    mp.setenv("MBENCH_TASKS_DIR", str(tiny_tasks))
    root = tmp_path_factory.mktemp("examples")
    results = root / "results"
    mp.setenv("MBENCH_RESULTS", str(results))
    runs = {}
    seg = copy_example("brats-threshold-seg", root, HOLDOUT_ID)
    assert main(["submit", str(seg), f"task={HOLDOUT}", "--quick", "--no-progress"]) == 0
    runs["seg"] = seg
    sampler = copy_example("brats-uncertainty-sampler", root, AL_ID)
    result = submit(sampler, AL, AL_SMALL, quick=True, limits=LIMITS, keep_sandbox=True)
    assert result.ok, result.report
    runs["sampler"] = (sampler, result)
    preds = copy_example("brats-threshold-predictions", root, HOLDOUT_ID)
    assert main(["submission", "inputs", str(root / "inputs"), f"task={HOLDOUT}", "--quick"]) == 0
    subprocess.run([sys.executable, str(preds / "make_predictions.py"), str(root / "inputs"), str(preds / "predictions")],
                   check=True, capture_output=True)
    assert main(["validate", f"submission={preds}", f"task={HOLDOUT}"]) == 0
    assert main(["submit", str(preds), f"task={HOLDOUT}", "--quick", "--no-progress"]) == 0
    runs["predictions"] = preds
    yield root, results, runs
    shutil.rmtree(result.folder.read_record()["submission"]["sandbox_dir"], ignore_errors=True)
    mp.undo()


def _record(results: Path, model: str) -> dict:
    records = [json.loads((p / "run.json").read_text()) for p in results.iterdir() if (p / "run.json").exists()]
    (record,) = [r for r in records if r["model"] == model]
    return record


@needs_isolation
def test_examples_run_complete_with_the_package_hash(examples_store):
    _, results, runs = examples_store
    for name, model in (("seg", "sub:brats-threshold-seg@1.0.0"), ("predictions", "sub:brats-threshold-predictions@1.0.0"),
                        ("sampler", "sub:brats-uncertainty-sampler@1.0.0")):
        record = _record(results, model)
        folder = runs[name][0] if name == "sampler" else runs[name]
        assert record["status"] == "complete" and record["model"] == model
        assert record["config"]["submission"]["package_sha256"] == record["submission"]["package_sha256"] == \
            content_sha256(folder)
        assert record["submission"]["team"] == "mbench examples"
    seg = _record(results, "sub:brats-threshold-seg@1.0.0")
    assert [c["action"] for c in seg["submission"]["calls"]] == ["fit", "predict"]
    assert seg["submission"]["isolated"] is True and "no network" in seg["submission"]["isolation"]
    dice = [float(r["value"]) for r in RunFolder(results / seg["run_id"]).read_scores() if r["metric"] == "dice"]
    assert len(dice) == 9 and np.mean(dice) > 0.1  # it learned a threshold that finds tumour
    assert _record(results, "sub:brats-threshold-predictions@1.0.0")["submission"]["calls"] == \
        [{"action": "predict", "split": "test", "from": "package predictions", "n": 9}]


@needs_isolation
def test_predictions_equal_the_same_rule_run_as_a_predictor(examples_store, use_tiny_tasks, tmp_path):
    """The predictions-only package and a sandboxed predictor with the same threshold score identically."""
    _, results, _ = examples_store
    predictor = write_package(tmp_path / "same-rule", PREDICT_ONES)
    result = submit(predictor, HOLDOUT, {"run.out": str(tmp_path / "r")}, quick=True, limits=LIMITS)
    assert result.ok
    record = _record(results, "sub:brats-threshold-predictions@1.0.0")

    def values(folder: Path) -> list[tuple[str, str, str]]:
        return sorted((r["case"], r["metric"], r["value"]) for r in RunFolder(folder).read_scores())

    assert values(results / record["run_id"]) == values(result.folder.path)


@needs_isolation
def test_sampler_child_sees_pool_images_and_labelled_labels_only(examples_store, use_tiny_tasks):
    from mbench.tasks.registry import load_task
    from mbench.tasks.task import Task

    _, _, runs = examples_store
    _, result = runs["sampler"]
    record = result.folder.read_record()
    session = Path(record["submission"]["sandbox_dir"])
    (call,) = sorted((session / "calls").iterdir())
    inputs = call / "inputs"
    assert sorted(p.name for p in inputs.iterdir()) == ["aux.npy", "images.npy", "labelled_ids.json",
                                                        "labelled_targets.npy", "pool_ids.json"]
    labelled = json.loads((inputs / "labelled_ids.json").read_text())
    pool = json.loads((inputs / "pool_ids.json").read_text())
    targets = np.load(inputs / "labelled_targets.npy")
    card = load_task(AL)
    task = Task(card.spec, card.folder)
    train = task.load_split("train")
    truth = task.targets(train)[train.positions(labelled)]
    assert pool == train.ids and len(targets) == len(labelled) == 8
    np.testing.assert_array_equal(targets, truth)  # exactly the labelled pool's targets, nothing more
    assert oct((inputs / "labelled_targets.npy").stat().st_mode)[-3:] == "644"
    (job,) = [json.loads(p.read_text()) for p in (result.folder.path / "jobs").glob("*round0.json")]
    assert len(job["selected_ids"]) == 4 and set(job["selected_ids"]).isdisjoint(labelled)


@needs_isolation
def test_trainable_never_receives_test_references(use_tiny_tasks, results, tmp_path):
    from mbench.tasks.registry import load_task
    from mbench.tasks.task import Task

    seg = copy_example("brats-threshold-seg", tmp_path, HOLDOUT_ID)
    result = submit(seg, HOLDOUT, quick=True, limits=LIMITS, keep_sandbox=True)
    session = Path(result.folder.read_record()["submission"]["sandbox_dir"])
    try:
        card = load_task(HOLDOUT)
        task = Task(card.spec, card.folder)
        test = task.load_split("test")
        test_targets = task.targets(test)
        calls = sorted((session / "calls").iterdir())
        assert [c.name.split("-", 1)[1] for c in calls] == ["fit", "predict"]
        assert sorted(p.name for p in (calls[1] / "inputs").iterdir()) == ["ids.json", "images.npy"]
        assert json.loads((calls[1] / "inputs" / "ids.json").read_text())["ids"] == test.ids
        for call in calls:
            for path in (call / "inputs").glob("*.npy"):
                arr = np.load(path)
                assert not (arr.shape == test_targets.shape and np.array_equal(arr, test_targets)), path
        fit_ids = json.loads((calls[0] / "inputs" / "ids.json").read_text())
        assert set(fit_ids["train"]).isdisjoint(test.ids) and set(fit_ids["val"]).isdisjoint(test.ids)
    finally:
        shutil.rmtree(session)


@needs_isolation
def test_resubmitting_resumes_and_a_changed_package_is_a_new_run(use_tiny_tasks, results, tmp_path):
    folder = write_package(tmp_path / "again", PREDICT_ONES)
    first = submit(folder, HOLDOUT, quick=True, limits=LIMITS)
    second = submit(folder, HOLDOUT, quick=True, limits=LIMITS)
    assert first.folder.path == second.folder.path and second.ok
    assert second.folder.read_record()["submission"]["calls"] == []  # the finished job was not run again
    (folder / "model.py").write_text((folder / "model.py").read_text().replace("1.0", "0.5"))
    third = submit(folder, HOLDOUT, quick=True, limits=LIMITS)
    assert third.ok and third.folder.path != first.folder.path and third.package_sha256 != first.package_sha256


@needs_isolation
def test_examples_appear_on_the_leaderboard(examples_store, use_tiny_tasks, tmp_path, capsys):
    _, results, _ = examples_store
    config = tmp_path / "leaderboard.yaml"
    config.write_text(f"title: submissions\ntasks:\n  - id: {HOLDOUT_ID}\n  - id: {AL_ID}\n")
    assert main(["leaderboard", "build", "--results", str(results), "--config", str(config), "--out",
                 str(tmp_path / "site"), "--resamples", "20"]) == 0
    pages = {p.relative_to(tmp_path / "site").as_posix(): p.read_text() for p in (tmp_path / "site").rglob("*.html")}
    holdout = pages[f"tasks/{HOLDOUT_ID}.html"]
    assert "sub:brats-threshold-seg@1.0.0" in holdout and "sub:brats-threshold-predictions@1.0.0" in holdout
    assert "sub:brats-uncertainty-sampler@1.0.0" in pages[f"tasks/{AL_ID}.html"]
    record = _record(results, "sub:brats-threshold-seg@1.0.0")
    run_page = next(t for n, t in pages.items() if n.startswith("runs/") and "brats-threshold-seg" in n)
    assert record["submission"]["package_sha256"] in run_page


@needs_isolation
@pytest.mark.parametrize("kind, task, extra", [("predictor", HOLDOUT, {}), ("trainable", HOLDOUT, {}),
                                               ("sampler", AL, AL_SMALL), ("predictions", HOLDOUT, {})])
def test_scaffolds_validate_and_run_as_they_are(kind, task, extra, use_tiny_tasks, results, tmp_path, capsys):
    folder = tmp_path / f"new-{kind}"
    assert main(["submission", "new", str(folder), f"task={task}", f"kind={kind}", "team=Scaffold <Lab>"]) == 0
    assert main(["validate", f"submission={folder}"]) == 0
    result = submit(folder, task, extra, quick=True, limits=LIMITS)
    assert result.ok, result.report
    assert result.folder.read_record()["submission"]["team"] == "Scaffold <Lab>"


def test_scaffold_refuses_a_kind_the_task_does_not_run(tmp_path, use_tiny_tasks):
    with pytest.raises(MbenchError, match="does not run a sampler"):
        from mbench.submissions.scaffold import new_package

        new_package(tmp_path / "x", HOLDOUT, "sampler")


def test_without_isolation_official_runs_are_refused(use_tiny_tasks, results, tmp_path):
    folder = write_package(tmp_path / "plain", PREDICT_ONES)
    with pytest.raises(MbenchError) as err:
        submit(folder, HOLDOUT, limits=LIMITS, isolate=False)
    assert "official runs are refused" in str(err.value) and "--allow-unisolated" in str(err.value)
    assert not results.exists()
    result = submit(folder, HOLDOUT, limits=LIMITS, isolate=False, allow_unisolated=True)
    record = result.folder.read_record()
    assert result.ok and record["official"] is False and record["submission"]["isolated"] is False
    assert any("without sandbox isolation" in r for r in record["unofficial_reasons"])
    assert "NOT isolated" in record["submission"]["isolation"]


@needs_isolation
def test_data_readable_by_others_is_protected_or_refused(tiny_tasks, monkeypatch, tmp_path):
    from mbench.config.resolve import resolve_run_config
    from mbench.protocols.base import RunContext
    submit_module = importlib.import_module("mbench.submissions.submit")  # the module, not the function

    monkeypatch.setenv("MBENCH_TASKS_DIR", str(tiny_tasks))
    shared = Path(tempfile.mkdtemp(prefix="mbench-test-cache-", dir="/tmp"))
    try:
        os.chmod(shared, 0o755)
        monkeypatch.setenv("MBENCH_CACHE", str(shared))
        ctx = RunContext(resolve_run_config(HOLDOUT, "unet", {}, quick=True))
        root = Path(ctx.task.data_root)
        for folder, dirs, files in os.walk(root):
            os.chmod(folder, 0o755)
            for name in files:
                os.chmod(Path(folder, name), 0o644)
        assert submit_module._others_can_read(next(root.rglob("*seg*")))
        monkeypatch.setattr(submit_module, "cache_dir", lambda: tmp_path)  # not mbench's own stand-in any more
        with pytest.raises(MbenchError, match="readable by other users") as err:
            submit_module.protect_data(ctx)
        assert f"chmod -R go-rwx {root.resolve()}" in str(err.value)
        monkeypatch.setattr(submit_module, "cache_dir", lambda: shared)
        note = submit_module.protect_data(ctx)
        assert "made private (0700)" in note and not submit_module._others_can_read(next(root.rglob("*seg*")))
    finally:
        shutil.rmtree(shared)


@needs_isolation
def test_submit_cli_reports_a_violation_and_exits_1(use_tiny_tasks, results, tmp_path, capsys):
    folder = write_package(tmp_path / "boom", "class Model:\n    def predict(self, images):\n"
                           "        raise ValueError('no <b>luck</b> [red]today[/red]')\n")
    assert main(["submit", str(folder), f"task={HOLDOUT}", "sandbox.memory_mb=512", "--quick", "--no-progress"]) == 1
    out = " ".join(capsys.readouterr().out.split())
    assert "stopped: raised: predict raised ValueError: no <b>luck</b> [red]today[/red]" in out
    assert "recorded as failed in" in out
    (folder_path,) = list(results.iterdir())
    assert yaml.safe_load((folder_path / "run.json").read_text())["status"] == "failed"


def test_predictions_with_limit_and_with_an_extra_file(examples_store, use_tiny_tasks, results, tmp_path):
    _, _, runs = examples_store
    preds = tmp_path / "preds"
    shutil.copytree(runs["predictions"], preds)
    limited = submit(preds, HOLDOUT, quick=True, limit=4)
    assert limited.ok and len(RunFolder(limited.folder.path).read_scores()) == 4
    first_case = min((preds / "predictions").iterdir())
    np.save(first_case / "z999.npy", np.zeros((48, 48), np.uint8))
    result = submit(preds, HOLDOUT, quick=True)
    assert not result.ok and result.report["kind"] == "output"
    assert f"unexpected file predictions/{first_case.name}/z999.npy" in result.report["what"]
