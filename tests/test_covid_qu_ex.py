"""COVID-QU-Ex active learning (paper 4, task c): official split sizes, adapter, single-label AL with the lung mask."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
import yaml
from conftest import REPO

from mbench.cli.main import main
from mbench.data.adapters.covid_qu_ex import CovidQuExAdapter
from mbench.data.split import SplitManifest, write_manifest
from mbench.data.synthetic.covid_qu_ex import generate_covid_qu_ex
from mbench.errors import MbenchError
from mbench.models.capabilities import SamplerView
from mbench.tasks import Task, load_task

TINY = {"Train": [8, 4, 4], "Val": [2, 1, 1], "Test": [4, 2, 2]}


@pytest.fixture
def tiny_covid_card(tmp_path, monkeypatch):
    family = tmp_path / "tasks" / "covid_qu_ex"
    (family / "splits").mkdir(parents=True)
    rule = {"official": {s: f"official:{s}" for s in ("train", "val", "test")},
            "n_official": {"train": 16, "val": 4, "test": 8}}
    sha = write_manifest(family / "splits" / "tiny.json", None, group_key="image", seed=0, method="t", dataset="t",
                         rule=rule)
    raw = yaml.safe_load((REPO / "tasks/covid_qu_ex/covidqu-al-cls.yaml").read_text())
    raw["id"], raw["aliases"] = "tiny-covidqu-al-cls", []
    raw["data"]["standin"] = {"generator": "covid_qu_ex", "params": {"counts": TINY, "size": 64, "seed": 1},
                              "split": {"file": "splits/tiny.json", "sha256": sha}}
    raw["quick"] = {"preprocessing": {"resize": [32, 32]},
                    "protocol": {"initial_size": 6, "budget": 3, "rounds": 1, "seeds": [0],
                                 "sampler_input": {"image_size": 32}},
                    "model_defaults": {"resnet18": {"pretrained": False, "lr": 1e-3, "epochs": 1, "batch_size": 4,
                                                    "image_size": 32},
                                       "mvaal": {"base_channels": 4, "epochs": 1, "batch_size": 4}}}
    (family / "tiny-covidqu-al-cls.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    monkeypatch.setenv("MBENCH_TASKS_DIR", str(tmp_path / "tasks"))
    return "tiny-covidqu-al-cls"


def test_card_is_the_papers_protocol_and_pins_the_official_sizes():
    card = load_task("covidqu-al-cls")
    spec = card.spec
    assert (spec.problem, spec.target, spec.protocol.name) == ("classification", "class_code", "active_learning")
    assert (spec.protocol.initial_size, spec.protocol.budget, spec.protocol.rounds) == (100, 100, 7)
    assert spec.protocol.seeds == [0, 1, 2] and spec.slicing.aux_modality == "lung_mask"
    assert spec.metrics.primary == "accuracy" and spec.preprocessing.normalise == "half"
    real = SplitManifest.load(card.folder / spec.data.split.file, spec.data.split.sha256)
    assert real.rule["n_official"] == {"train": 3728, "val": 932, "test": 1166}
    assert any(r.value == pytest.approx(0.951) and r.source for r in spec.reference_results)


def test_adapter_reads_the_release_layout_and_refuses_wrong_sizes(tmp_path):
    generate_covid_qu_ex(tmp_path / "data" / "Infection Segmentation Data", counts=TINY, size=32)
    adapter = CovidQuExAdapter(tmp_path / "data")  # the release's extra folder level is found
    official = adapter.official_splits()
    assert {k: len(v) for k, v in official.items()} == {"train": 16, "val": 4, "test": 8}
    case = official["test"][0]
    inputs = adapter.load_input(case)
    assert inputs["image"].shape == (32, 32) and set(np.unique(inputs["lung_mask"])) <= {0, 255}
    assert int(adapter.load_reference(case)) == ("COVID-19", "Non-COVID", "Normal").index(case.split("/")[1])
    rule = {"official": {"train": "official:train"}, "n_official": {"train": 3728}}
    manifest = SplitManifest({}, "image", 0, "t", rule=rule)
    with pytest.raises(MbenchError, match="wrong size"):
        manifest.resolve(adapter.case_ids(), adapter.groups(), official)
    with pytest.raises(MbenchError, match="COVID-QU-Ex layout"):
        CovidQuExAdapter(tmp_path)


def test_task_loads_images_with_the_lung_mask_as_aux_and_class_targets(tiny_covid_card):
    card = load_task(tiny_covid_card)
    task = Task(card.spec, card.folder)
    val = task.load_split("val")
    assert val.images.shape == (4, 64, 64) and val.aux.shape == (4, 64, 64)
    assert set(np.unique(val.aux)) <= {0.0, 1.0} and val.aux.any()
    assert task.targets(val).dtype == np.int64 and task.targets(val).tolist() == [0, 0, 1, 2]


def test_single_label_resnet_trains_with_cross_entropy_and_returns_class_probabilities():
    import torch

    from mbench.models.baselines.resnet import ResNetClassifier

    clf = ResNetClassifier(pretrained=False, epochs=1, batch_size=4, image_size=32, num_classes=3, device="cpu")
    rng = np.random.default_rng(0)
    x, y = rng.random((6, 32, 32), dtype=np.float32), np.array([0, 1, 2, 0, 1, 1])
    clf.fit(x, y, x, y, score=lambda p, t: float((p.argmax(1) == t).mean()), seed=0)
    assert clf.single_label and clf.net.get_classifier().out_features == 3
    p = clf.predict(x)
    assert p.shape == (6, 3) and np.allclose(p.sum(1), 1, atol=1e-5)
    logits = torch.randn(4, 3)
    target = torch.tensor([0, 2, 1, 1])
    assert torch.isclose(clf._loss(logits, target), torch.nn.functional.cross_entropy(logits, target))
    multi = ResNetClassifier(pretrained=False, epochs=1, batch_size=4, image_size=32, device="cpu")
    multi.fit(x, np.eye(3, dtype=np.float32)[y], x, np.eye(3, dtype=np.float32)[y],
              score=lambda p, t: 0.0, seed=0)
    assert not multi.single_label and np.all((multi.predict(x) >= 0) & (multi.predict(x) <= 1))


def test_lung_mask_reaches_the_sampler_and_unlabelled_targets_do_not(tiny_covid_card, monkeypatch):
    from mbench.config.resolve import resolve_run_config
    from mbench.protocols.active_learning import ActiveLearningProtocol
    from mbench.protocols.base import RunContext

    config = resolve_run_config(tiny_covid_card, "mvaal", quick=True)
    ctx = RunContext(config)
    protocol = ActiveLearningProtocol(config)
    labelled = ctx.train.ids[:6]
    view = protocol.sampler_view(ctx, labelled, ctx.task.targets(ctx.train))
    assert isinstance(view, SamplerView) and view.aux is not None and view.aux.shape == (16, 32, 32)
    expected = ctx.train.aux[:, 0::2, 0::2] if ctx.train.aux.shape[-1] == 64 else None
    assert expected is None or np.corrcoef(view.aux.ravel(), expected.ravel())[0, 1] > 0.9
    with pytest.raises(MbenchError, match="unlabelled"):
        view.labelled_targets([view.unlabelled_ids[0]])
    seen = {}

    from mbench.models.baselines import vaal

    original = vaal.MVAALSampler.query

    def spy(self, v, n, **kw):
        seen["aux"] = None if v.aux is None else v.aux.copy()
        return original(self, v, n, **kw)

    monkeypatch.setattr(vaal.MVAALSampler, "query", spy)
    job = protocol.jobs()[0]
    out = protocol.run_job(job, ctx, {}, lambda *a: None)
    assert seen["aux"] is not None and np.array_equal(seen["aux"], view.aux)
    assert len(out["selected_ids"]) == 3 and not set(out["selected_ids"]) & set(out["labelled_ids"])
    assert {r["metric"] for r in out["rows"]} == {"accuracy", "balanced_accuracy", "f1_macro"}


@pytest.mark.slow
def test_quick_setting_runs_end_to_end(tiny_covid_card, results):
    assert main(["run", f"task={tiny_covid_card}", "model=mvaal", "--quick"]) == 0
    (folder,) = [p for p in results.iterdir() if p.is_dir()]
    assert json.loads((folder / "run.json").read_text())["status"] == "complete"
    rows = list(csv.DictReader(open(folder / "scores.csv")))
    assert sorted({int(r["n_labelled"]) for r in rows}) == [6, 9]
