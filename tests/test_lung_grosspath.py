"""Lung gross pathology (paper 2): patient-grouped folds, post-processing ops, probability-averaging ensemble."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
import yaml
from conftest import REPO
from scipy import ndimage

from mbench.cli.main import main
from mbench.data.split import write_manifest
from mbench.protocols import postprocess as P
from mbench.tasks import Task, load_task


def _masks(n: int = 12, seed: int = 0):
    rng = np.random.default_rng(seed)
    for k in range(n):
        yield ndimage.gaussian_filter(rng.random((40 + k, 50)), 1.5 + k % 3) > 0.5


@pytest.fixture
def tiny_lung_card(tmp_path, monkeypatch):
    """A tiny copy of lung-grosspath: 5 patients (3 A, 2 B) of 2 photographs of 48 px, 5 folds of one patient."""
    tasks = tmp_path / "tasks"
    family = tasks / "lung_grosspath"
    (family / "splits").mkdir(parents=True)
    sha = write_manifest(family / "splits" / "tiny.json", None, group_key="patient", seed=3, method="test",
                         dataset="tiny", rule={"pool": "all", "n_pool": 5, "sizes": {f"fold{k}": 1 for k in range(1, 6)}})
    raw = yaml.safe_load((REPO / "tasks" / "lung_grosspath" / "lung-grosspath.yaml").read_text())
    raw["id"], raw["aliases"] = "tiny-lung-grosspath", []
    raw["data"]["standin"] = {"generator": "lung_grosspath",
                              "params": {"n_a": 3, "n_b": 2, "images_per_patient": [2, 2], "size": 48, "seed": 1},
                              "split": {"file": "splits/tiny.json", "sha256": sha}}
    raw["preprocessing"]["resize"] = [32, 32]
    raw["postprocessing"] = [{"op": "remove_small_objects", "min_size": 4}, {"op": "closing", "radius": 1},
                             {"op": "fill_holes"}, {"op": "keep_largest_component"}]
    unet = {"model": "unet", "params": {"encoder": "tu-resnet10t", "decoder_channels": [8, 8, 8, 8], "in_channels": 3,
                                        "optimizer": "adam", "lr": 1e-3, "epochs": 1, "batch_size": 4,
                                        "image_size": 32}}
    raw["quick"] = {"model_defaults": {"ensemble": {"members": [unet, unet]}}}
    (family / "tiny-lung-grosspath.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    monkeypatch.setenv("MBENCH_TASKS_DIR", str(tasks))
    return "tiny-lung-grosspath"


def test_card_is_the_papers_protocol():
    spec = load_task("lung-grosspath").spec
    assert spec.protocol.name == "kfold" and len(spec.protocol.folds) == 5
    assert [op.op for op in spec.postprocessing] == ["remove_small_objects", "closing", "fill_holes",
                                                     "keep_largest_component"]
    assert spec.models[0] == "ensemble" and len(spec.model_defaults["ensemble"]["members"]) == 6
    assert {"pixel_accuracy", "recall", "iou", "iou_pooled"} <= set(spec.metrics.report)
    assert spec.reference_results and all(r.source for r in spec.reference_results)


def test_folds_are_disjoint_by_patient_and_cover_every_photograph(tiny_lung_card):
    card = load_task(tiny_lung_card)
    task = Task(card.spec, card.folder)
    groups, attrs = task.adapter.groups(), task.adapter.case_attributes()
    owner, seen = {}, []
    for fold in card.spec.protocol.folds:
        ids = task.split.ids(fold)
        assert ids
        for case in ids:
            assert owner.setdefault(groups[case], fold) == fold
        seen += ids
    assert sorted(seen) == task.adapter.case_ids() and len(set(groups.values())) == 5
    assert {a["source"] for a in attrs.values()} == {"A", "B"}
    samples = task.load_split("fold1")
    assert samples.images.shape[1:] == (3, 32, 32) and samples.labelmaps.any()


@pytest.mark.parametrize("connectivity", [1, 2])
def test_remove_small_objects_and_largest_component_match_skimage(connectivity):
    from skimage import measure, morphology

    for m in _masks():
        # fewer than 20 pixels go (MATLAB bwareaopen); skimage >= 0.26 says it as max_size=19 (<= 19 removed)
        ref = morphology.remove_small_objects(m, max_size=19, connectivity=connectivity)
        assert np.array_equal(P.remove_small_objects(m, 20, connectivity), ref)
        labels = measure.label(m, connectivity=connectivity)
        largest = labels == 1 + np.argmax(np.bincount(labels.ravel())[1:]) if labels.max() else np.zeros_like(m)
        assert np.array_equal(P.keep_largest_component(m, connectivity), largest)
    assert not P.keep_largest_component(np.zeros((5, 5), bool)).any()


def test_closing_and_fill_holes_match_skimage_and_scipy():
    from skimage import morphology

    assert np.array_equal(P.disk(7), morphology.disk(7).astype(bool))
    for m in _masks():
        for radius in (1, 3, 6):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", FutureWarning)
                ref = morphology.binary_closing(m, morphology.disk(radius))
            assert np.array_equal(P.binary_closing(m, radius), ref)
        assert np.array_equal(P.fill_holes(m), ndimage.binary_fill_holes(m))
    batch = np.stack([m[:40, :50] for m in _masks(4)]).astype(np.uint8)
    out = P.apply_ops(batch, [{"op": "fill_holes"}, {"op": "keep_largest_component"}])
    assert out.dtype == np.uint8 and np.array_equal(out[2], P.keep_largest_component(P.fill_holes(batch[2])))


def test_ensemble_of_identical_members_equals_one_member():
    from mbench.models.baselines.ensemble import EnsembleSegmenter, member_probabilities
    from mbench.models.registry import create_model, get_model_entry, resolve_params

    params = {"encoder": "tu-resnet10t", "decoder_channels": [8, 8, 8, 8], "in_channels": 3, "optimizer": "adam",
              "lr": 1e-3, "epochs": 1, "batch_size": 4, "image_size": 32}
    rng = np.random.default_rng(0)
    x = rng.random((6, 3, 32, 32), dtype=np.float32)
    y = (x[:, 0] > 0.5).astype(np.uint8)
    fit = dict(score=lambda p, t: float((p == t).mean()), seed=3)
    single = create_model(get_model_entry("unet"), resolve_params(get_model_entry("unet"), params), "cpu")
    single.fit(x[:4], y[:4], x[4:], y[4:], **fit)
    ens = EnsembleSegmenter([{"model": "unet", "params": params}] * 3, device="cpu")
    log = ens.fit(x[:4], y[:4], x[4:], y[4:], **fit)
    assert len(log["members"]) == 3 and log["n_parameters"] == 3 * log["members"][0]["n_parameters"]
    assert np.allclose(ens.predict_proba(x), member_probabilities(single, x), atol=1e-5)
    assert np.array_equal(ens.predict(x), single.predict(x))


def test_quick_setting_runs_end_to_end(tiny_lung_card, results):
    import csv

    assert main(["run", f"task={tiny_lung_card}", "model=ensemble", "--quick"]) == 0
    (folder,) = [p for p in results.iterdir() if p.is_dir()]
    record = json.loads((folder / "run.json").read_text())
    assert record["status"] == "complete"
    assert [op["op"] for op in record["postprocessing"]] == ["remove_small_objects", "closing", "fill_holes",
                                                             "keep_largest_component"]
    jobs = [json.loads(p.read_text()) for p in sorted((folder / "jobs").glob("*.json"))]
    assert [j["test_fold"] for j in jobs] == [f"fold{k}" for k in range(1, 6)]
    rows = list(csv.DictReader(open(folder / "scores.csv")))
    tested = [r["case"] for r in rows if r["metric"] == "iou" and r["region"] == "" and r["case"] != "*"]
    assert len(tested) == len(set(tested)) == 10
    assert any(r["region"] == "|source=A" for r in rows) and any(r["metric"] == "iou_pooled" for r in rows)
