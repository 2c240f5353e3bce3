"""Retinal screening with topological features (paper 21, ToFi-ML): cards, adapters, Betti curves, the feature-model
pipeline (SMOTE on training rows only), binary metrics against scikit-learn, and quick runs on tiny stand-ins."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml
from mbench.cli.main import main
from mbench.config.resolve import resolve_run_config
from mbench.data.split import SplitManifest, expand_rule, write_manifest
from mbench.errors import MbenchError
from mbench.tasks import Task, load_task

REPO = Path(__file__).resolve().parents[1]
CARDS = ["aptos19-dr-bin", "aptos19-dr-grade5", "adam-amd", "adam-amd-smote", "origa-glaucoma"]
CV_CARDS = ["aptos19-dr-grade5-cv5"]
TINY_STANDIN = {"aptos2019": ({"counts": [6, 2, 4, 2, 2], "size": 48, "seed": 1}, 16),
                "ichallenge_amd": ({"n_amd": 5, "n_normal": 9, "size": 48, "seed": 1}, 14),
                "origa": ({"n_glaucoma": 5, "n_normal": 9, "size": 48, "seed": 1}, 14)}


@pytest.fixture(scope="module")
def tiny_fundus(tmp_path_factory) -> Path:
    """Tiny copies (ids prefixed ``tiny-``) of the fundus cards: 48 px stand-ins, 16 thresholds in the quick setting."""
    folder = tmp_path_factory.mktemp("tiny_fundus") / "tasks"
    family = folder / "fundus"
    shutil.copytree(REPO / "tasks/fundus/splits", family / "splits")
    for name in CARDS + CV_CARDS:
        raw = yaml.safe_load((REPO / "tasks/fundus" / f"{name}.yaml").read_text())
        params, n = TINY_STANDIN[raw["data"]["standin"]["generator"]]
        raw["id"], raw["aliases"] = "tiny-" + raw["id"], []
        sizes = {"fold1": 3, "fold2": 3, "fold3": 3, "fold4": 3, "fold5": "rest"} if name in CV_CARDS else {
            "test": 5, "train": "rest"}
        sha = write_manifest(family / "splits" / f"tiny_{name}.json", None, group_key="image", seed=3, method="test",
                             dataset="tiny", rule={"sizes": sizes, "n_pool": n})
        raw["data"]["standin"].update(params=params, split={"file": f"splits/tiny_{name}.json", "sha256": sha})
        raw["quick"] = {"model_defaults": {m: {"n_thresholds": 16, "knn_neighbors": 3} for m in raw["models"]}}
        (family / f"tiny-{name}.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    return folder


@pytest.fixture
def use_tiny_fundus(tiny_fundus, monkeypatch) -> Path:
    monkeypatch.setenv("MBENCH_TASKS_DIR", str(tiny_fundus))
    return tiny_fundus


# -- cards and splits --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("task_id", CARDS + CV_CARDS)
def test_card_validates_pins_its_splits_and_has_paper_numbers(task_id):
    card = load_task(task_id)
    spec = card.spec
    for ref in (spec.data.split, spec.data.standin.split):
        manifest = SplitManifest.load(card.folder / ref.file, ref.sha256)
        assert set(manifest.split_names()) == set(spec.split_names()) == set(spec.protocol.splits)
    assert spec.reference_results and all(r.source for r in spec.reference_results)
    assert {r.metric for r in spec.reference_results} <= set(spec.metrics.report)
    assert resolve_run_config(task_id, spec.models[0]).official
    assert not resolve_run_config(task_id, spec.models[0], quick=True).official
    assert spec.protocol.rebalance == ("smote" if task_id.endswith("smote") else "none")


def test_real_rules_give_the_papers_test_sizes():
    folder = load_task("aptos19-dr-bin").folder / "splits"
    for name, n, n_test in (("aptos2019", 3662, 733), ("ichallenge_amd", 400, 80), ("origa", 650, 130)):
        rule = json.loads((folder / f"{name}_80_20.json").read_text())["rule"]
        ids = [f"img{i:05d}" for i in range(n)]
        splits = expand_rule(rule, ids, {}, {}, seed=2023)
        assert {k: len(v) for k, v in splits.items()} == {"test": n_test, "train": n - n_test}
        with pytest.raises(MbenchError, match=f"expects {n}"):
            expand_rule(rule, ids[:-1], {}, {}, seed=2023)


# -- adapters ----------------------------------------------------------------------------------------------------

def test_adapters_read_the_standins_in_the_release_layouts(tmp_path):
    from mbench.data.adapters.fundus import AdamAmdAdapter, AptosAdapter, OrigaAdapter
    from mbench.data.synthetic.fundus import generate_aptos2019, generate_ichallenge_amd, generate_origa

    ids = generate_aptos2019(tmp_path / "aptos", counts=(2, 1, 0, 0, 2), size=40, seed=0)
    grades = {r["id_code"]: int(r["diagnosis"]) for r in csv.DictReader(open(tmp_path / "aptos/train.csv"))}
    five, binary = AptosAdapter(tmp_path / "aptos"), AptosAdapter(tmp_path / "aptos", binary=True)
    assert five.case_ids() == ids and sorted(grades.values()) == [0, 0, 1, 4, 4]
    for case in ids:
        assert int(five.load_reference(case)) == grades[case]
        assert int(binary.load_reference(case)) == int(grades[case] > 0)
        image = five.load_input(case)["image"]
        assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3
        h, w = image.shape[:2]
        assert image[0, 0].max() < 10 and image[h // 3:2 * h // 3, w // 3:2 * w // 3, 0].mean() > 100  # FOV on black
    assert len({five.load_input(c)["image"].shape for c in ids}) > 1  # mixed resolutions, as the release

    generate_ichallenge_amd(tmp_path / "amd", n_amd=2, n_normal=3, size=40, seed=0)
    amd = AdamAmdAdapter(tmp_path / "amd")
    assert amd.case_ids() == ["A0001", "A0002", "N0001", "N0002", "N0003"]
    assert [int(amd.load_reference(c)) for c in amd.case_ids()] == [1, 1, 0, 0, 0]
    assert AdamAmdAdapter(tmp_path / "amd" / "Training400").case_ids() == amd.case_ids()

    generate_origa(tmp_path / "origa", n_glaucoma=2, n_normal=3, size=40, seed=0)
    origa = OrigaAdapter(tmp_path / "origa")
    assert sum(int(origa.load_reference(c)) for c in origa.case_ids()) == 2
    with pytest.raises(MbenchError, match="lacks the expected columns"):
        OrigaAdapter(tmp_path / "origa", label_column="diagnosis")
    with pytest.raises(MbenchError, match="label table not found"):
        AptosAdapter(tmp_path / "amd")
    (tmp_path / "aptos/train_images" / f"{ids[0]}.png").unlink()
    with pytest.raises(MbenchError, match="missing"):
        AptosAdapter(tmp_path / "aptos")


# -- topological features ------------------------------------------------------------------------------------------

def test_betti_curves_agree_with_an_independent_labelling_count():
    from mbench.models.baselines.topology import betti_curves, betti_curves_by_labelling

    rng = np.random.default_rng(0)
    for _ in range(40):
        image = rng.integers(0, 8, size=tuple(rng.integers(3, 12, 2))).astype(float)
        thresholds = np.arange(-1, 9)
        assert np.array_equal(betti_curves(image, thresholds), betti_curves_by_labelling(image, thresholds))
    smooth = rng.normal(size=(40, 40)).cumsum(0).cumsum(1)
    thresholds = np.linspace(smooth.min(), smooth.max(), 25)
    assert np.array_equal(betti_curves(smooth, thresholds), betti_curves_by_labelling(smooth, thresholds))


def test_betti_numbers_by_hand():
    from mbench.models.baselines.topology import betti_curves, tofi_features

    image = np.full((7, 9), 9.0)
    image[1, 1] = 1  # an isolated dark pixel: its own component from t = 1
    image[1:6, 3:8] = 2  # a dark square ring (from t = 2) ...
    image[3, 5] = 5  # ... around a brighter centre, which fills the hole at t = 5
    image[5, 0] = 2  # touches the ring only diagonally? no: far away, another component from t = 2
    assert betti_curves(image, [0, 1, 2, 4, 5, 9]).tolist() == [[0, 1, 3, 3, 3, 1], [0, 0, 1, 1, 0, 0]]
    diagonal = np.array([[0, 9], [9, 0]], float)  # corner-touching pixels are one component (8-connectivity)
    assert betti_curves(diagonal, [0])[0].tolist() == [1]
    features = tofi_features(np.stack([image] * 3, axis=-1), n_thresholds=10, value_range=(0, 9))
    assert features.shape == (80,) and np.array_equal(features[:10], features[20:30])  # gray == R for grey images


# -- the feature model: SMOTE on training rows only ---------------------------------------------------------------

def test_feature_model_classifiers_and_smote_touch_training_rows_only(monkeypatch):
    from imblearn.over_sampling import SMOTE
    from mbench.models.baselines.feature_models import TopologicalFeatureClassifier

    seen: list[np.ndarray] = []
    original = SMOTE.fit_resample

    def spy(self, x, y, **kw):
        seen.append(np.asarray(x).copy())
        return original(self, x, y, **kw)

    monkeypatch.setattr(SMOTE, "fit_resample", spy)
    rng = np.random.default_rng(0)
    x_train, y_train = rng.normal(size=(40, 6)), np.r_[np.zeros(32), np.ones(8)].astype(int)
    x_train[y_train == 1] += 2
    x_test = rng.normal(size=(10, 6)) + 10  # far from every training row: recognisable if it ever leaks
    for clf in ("xgboost", "random_forest", "knn"):
        model = TopologicalFeatureClassifier(classifier=clf, feature_selection=clf != "knn")
        log = model.fit(x_train, y_train, n_classes=2, seed=0, rebalance="smote")
        proba = model.predict(x_test)
        assert proba.shape == (10, 2) and np.allclose(proba.sum(axis=1), 1)
        assert log["train_class_counts"] == [32, 8]
    assert len(seen) == 3 and all(np.array_equal(s, x_train.astype(np.float32)) for s in seen)
    model = TopologicalFeatureClassifier(classifier="knn")
    model.fit(x_train, y_train, n_classes=3, seed=0, rebalance="none")
    assert model.predict(x_test).shape == (10, 3) and not model.predict(x_test)[:, 2].any()  # unseen class -> 0
    with pytest.raises(MbenchError, match="two training samples"):
        model.fit(x_train[:33], y_train[:33], n_classes=2, seed=0, rebalance="smote")


@pytest.mark.slow
def test_smote_run_never_resamples_test_images(use_tiny_fundus, results, monkeypatch):
    from imblearn.over_sampling import SMOTE

    seen: list[np.ndarray] = []
    original = SMOTE.fit_resample
    monkeypatch.setattr(SMOTE, "fit_resample", lambda self, x, y, **kw: (seen.append(np.asarray(x).copy()),
                                                                        original(self, x, y, **kw))[1])
    assert main(["run", "task=tiny-adam-amd-smote", "model=tofi_xgboost", "--quick"]) == 0
    (folder,) = [p for p in results.iterdir() if p.is_dir()]
    (job,) = [json.loads(p.read_text()) for p in (folder / "jobs").glob("*.json")]
    card = load_task("tiny-adam-amd-smote")
    task = Task(card.spec, card.folder)
    assert job["test_ids"] == task.split.ids("test") and job["n_train"] == len(task.split.ids("train"))
    from mbench.models.baselines.feature_models import TopologicalFeatureClassifier
    from mbench.protocols.feature_eval import cached_features

    model = TopologicalFeatureClassifier(n_thresholds=16)
    test_rows = {r.tobytes() for r in cached_features(task.adapter, task.split.ids("test"), model)[0]}
    train_rows = {r.tobytes() for r in cached_features(task.adapter, task.split.ids("train"), model)[0]}
    (resampled,) = seen
    assert len(resampled) == len(task.split.ids("train"))
    assert {r.tobytes() for r in resampled} == train_rows and not (test_rows - train_rows) & {
        r.tobytes() for r in resampled}


# -- metrics -----------------------------------------------------------------------------------------------------

def test_binary_metrics_match_sklearn():
    from mbench.metrics import get_metric
    from sklearn.metrics import f1_score, precision_score, recall_score

    rng = np.random.default_rng(1)
    for n in (1, 2, 7, 30):
        for _ in range(30):
            y, p = rng.integers(0, 2, n), rng.integers(0, 2, n)
            for metric, ref in (("precision_binary", precision_score), ("recall_binary", recall_score),
                                ("f1_binary", f1_score)):
                assert get_metric(metric).fn(p, y) == pytest.approx(ref(y, p, zero_division=0))
            assert get_metric("specificity_binary").fn(p, y) == pytest.approx(
                recall_score(y, p, pos_label=0, zero_division=0))
    scores = rng.random((9, 2))
    assert get_metric("precision_binary").fn(scores, np.ones(9)) == pytest.approx(
        precision_score(np.ones(9), scores.argmax(1), zero_division=0))
    with pytest.raises(MbenchError, match="two classes"):
        get_metric("precision_binary").fn(np.array([0, 2]), np.array([0, 1]))
    with pytest.raises(MbenchError, match="binary labels"):
        get_metric("specificity_binary").fn(np.array([0, 2]), np.array([0, 1]))


# -- end to end --------------------------------------------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.parametrize("task_id", ["aptos19-dr-grade5", "origa-glaucoma"])
def test_quick_setting_runs_end_to_end(task_id, use_tiny_fundus, results):
    card = load_task("tiny-" + task_id)
    assert main(["run", f"task=tiny-{task_id}", f"model={card.spec.models[0]}", "--quick"]) == 0
    (folder,) = [p for p in results.iterdir() if p.is_dir()]
    record = json.loads((folder / "run.json").read_text())
    assert record["status"] == "complete" and not record["official"]
    rows = list(csv.DictReader(open(folder / "scores.csv")))
    assert {r["metric"] for r in rows} == set(card.spec.metrics.report) and all(r["case"] == "*" for r in rows)
    (job,) = [json.loads(p.read_text()) for p in (folder / "jobs").glob("*.json")]
    assert np.asarray(job["predictions"]).shape == (5, len(card.spec.labels))
    assert job["features"]["train"]["computed"] + job["features"]["test"]["computed"] <= 14 + 2


@pytest.mark.slow
def test_kfold_feature_eval_tests_every_image_once_and_never_trains_on_it(use_tiny_fundus, results):
    assert main(["run", "task=tiny-aptos19-dr-grade5-cv5", "model=tofi_rf", "--quick"]) == 0
    (folder,) = [p for p in results.iterdir() if p.is_dir()]
    jobs = [json.loads(p.read_text()) for p in sorted((folder / "jobs").glob("*.json"))]
    card = load_task("tiny-aptos19-dr-grade5-cv5")
    split = Task(card.spec, card.folder).split
    assert [j["test_split"] for j in jobs] == [f"fold{k}" for k in range(1, 6)]
    tested = [c for j in jobs for c in j["test_ids"]]
    assert sorted(tested) == sorted(c for f in card.spec.protocol.splits for c in split.ids(f))  # each once
    for j in jobs:
        assert j["n_train"] + j["n_test"] == 16 and j["test_split"] not in j["train_splits"]
    assert sum(j["features"]["train"]["computed"] + j["features"]["test"]["computed"] for j in jobs) <= 16
