"""Shoulder implants (paper 9): label-subset views, stratified split with a validation set, metrics vs sklearn."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
import yaml
from conftest import REPO

from mbench.cli.main import main
from mbench.data.adapters.shoulder_implant import ShoulderImplantAdapter
from mbench.data.synthetic.shoulder_implant import generate_shoulder_implant
from mbench.errors import MbenchError
from mbench.metrics.registry import get_metric
from mbench.tasks import Task, load_task

CARDS = ["shoulder-implant-7", "shoulder-implant-depuy4", "shoulder-implant-nondepuy3"]


@pytest.fixture
def tiny_shoulder(tmp_path, monkeypatch):
    family = tmp_path / "tasks" / "shoulder_implant"
    (family / "splits").mkdir(parents=True)
    (family / "splits" / "shoulder_implant.json").write_bytes(
        (REPO / "tasks/shoulder_implant/splits/shoulder_implant.json").read_bytes())
    for cid in CARDS:
        raw = yaml.safe_load((REPO / f"tasks/shoulder_implant/{cid}.yaml").read_text())
        raw["id"], raw["aliases"] = f"tiny-{cid}", []
        raw["data"]["standin"]["params"] = {"counts": [6, 4, 5, 5, 4, 7, 6], "size": 64, "seed": 3}
        raw["quick"] = {"preprocessing": {"resize": [32, 32]}, "protocol": {"seeds": [0]},
                        "model_defaults": {"vgg16": {"pretrained": False, "epochs": 1, "batch_size": 8,
                                                     "image_size": 32, "optimizer": "adam", "lr": 1e-3}}}
        (family / f"tiny-{cid}.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    monkeypatch.setenv("MBENCH_TASKS_DIR", str(tmp_path / "tasks"))
    return tmp_path


@pytest.mark.parametrize("task_id", CARDS)
def test_cards_hold_the_papers_settings_and_numbers(task_id):
    spec = load_task(task_id).spec
    assert spec.problem == "classification" and spec.protocol.name == "holdout"
    assert {"accuracy", "precision_weighted", "recall_weighted", "f1_weighted", "roc_auc_weighted"} <= set(
        spec.metrics.report)
    assert set(spec.models) == {"vgg16", "xception", "inception_v3", "inception_resnet_v2"}
    assert len(spec.labels) == {"shoulder-implant-7": 7, "shoulder-implant-depuy4": 4,
                                "shoulder-implant-nondepuy3": 3}[task_id]
    best = [r for r in spec.reference_results if r.metric == "accuracy" and "inception_resnet_v2" in r.setting]
    assert [r.value for r in best] == [{"shoulder-implant-7": 0.9148, "shoulder-implant-depuy4": 0.8889,
                                        "shoulder-implant-nondepuy3": 0.875}[task_id]]
    assert "DEVIATION" in spec.metrics.conventions.notes


def test_adapter_skips_lateral_views_and_other_classes(tmp_path):
    generate_shoulder_implant(tmp_path, counts=[2, 1, 1, 1, 1, 1, 1], size=32, n_lateral=3)
    full = ShoulderImplantAdapter(tmp_path)
    assert len(full.case_ids()) == 8  # the 3 lateral views are not read
    depuy = ShoulderImplantAdapter(tmp_path, classes=["Depuy Global Advantage", "Depuy Global",
                                                      "Depuy Global Fracture", "Depuy HRP"])
    assert len(depuy.case_ids()) == 4 and {int(depuy.load_reference(c)) for c in depuy.case_ids()} == {0, 1, 2, 3}
    assert full.load_input(full.case_ids()[0])["image"].shape == (32, 32)
    with pytest.raises(MbenchError, match="labels.csv"):
        ShoulderImplantAdapter(tmp_path / "nowhere")


def test_split_is_stratified_has_validation_and_subsets_agree_with_the_full_task(tiny_shoulder):
    tasks = {cid: Task(load_task(f"tiny-{cid}").spec, load_task(f"tiny-{cid}").folder) for cid in CARDS}
    full = tasks["shoulder-implant-7"]
    classes = full.adapter.case_attributes()
    for split in ("train", "val", "test"):
        ids = full.split.ids(split)
        assert ids and len({classes[c]["class"] for c in ids}) == 7  # every class in every split
    counts = [6, 4, 5, 5, 4, 7, 6]
    names = [n for n in full.adapter.classes]
    n_test = sum(1 for c in full.split.ids("test"))
    assert n_test == sum(int(np.floor(0.3 * n + 0.5)) for n in counts)
    for cid in CARDS[1:]:
        sub = tasks[cid]
        for split in ("train", "val", "test"):
            expected = [c for c in full.split.ids(split) if classes[c]["class"] in sub.adapter.classes]
            assert sub.split.ids(split) == expected
    assert names[0] == "Biomet Biomodular"


def test_weighted_and_auc_metrics_match_sklearn():
    from sklearn import metrics as skm

    rng = np.random.default_rng(4)
    for n_classes in (3, 4, 7):
        y = np.r_[np.arange(n_classes), rng.integers(0, n_classes, 40)]
        scores = rng.random((len(y), n_classes))
        scores[np.arange(len(y)), y] += rng.random(len(y))
        scores /= scores.sum(1, keepdims=True)
        pred = scores.argmax(1)
        assert get_metric("accuracy").fn(scores, y) == pytest.approx(skm.accuracy_score(y, pred))
        for name, sk in (("precision", skm.precision_score), ("recall", skm.recall_score), ("f1", skm.f1_score)):
            assert get_metric(f"{name}_weighted").fn(scores, y) == pytest.approx(
                sk(y, pred, average="weighted", zero_division=0))
        for avg in ("weighted", "macro"):
            assert get_metric(f"roc_auc_{avg}").fn(scores, y) == pytest.approx(
                skm.roc_auc_score(y, scores, multi_class="ovr", average=avg))
        # the paper's tell: weighted recall equals accuracy
        assert get_metric("recall_weighted").fn(scores, y) == pytest.approx(get_metric("accuracy").fn(scores, y))


def test_backbones_are_registered_and_never_download(monkeypatch, tmp_path):
    from mbench.models.baselines.resnet import timm_backbone
    from mbench.models.registry import get_model_entry

    assert get_model_entry("inception_resnet_v2").defaults["arch"] == "inception_resnet_v2"
    assert get_model_entry("xception").defaults["arch"] == "legacy_xception"
    monkeypatch.setenv("HF_HOME", str(tmp_path))
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    with pytest.raises(MbenchError, match="not in the local cache"):
        timm_backbone("inception_v3", 7, 3, True, None, "cpu")
    with pytest.raises(MbenchError, match="no Hugging Face hub weights"):
        timm_backbone("legacy_xception", 7, 3, True, None, "cpu")


@pytest.mark.slow
def test_quick_setting_runs_end_to_end(tiny_shoulder, results):
    assert main(["run", "task=tiny-shoulder-implant-depuy4", "model=vgg16", "--quick"]) == 0
    (folder,) = [p for p in results.iterdir() if p.is_dir()]
    assert json.loads((folder / "run.json").read_text())["status"] == "complete"
    rows = list(csv.DictReader(open(folder / "scores.csv")))
    assert {"accuracy", "f1_weighted", "roc_auc_weighted"} <= {r["metric"] for r in rows}
