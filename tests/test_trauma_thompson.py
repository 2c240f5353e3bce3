"""Trauma THOMPSON (papers 16 and 12): video action recognition with withheld test labels, and TON procedure
classification with leave-one-out over procedure instances."""

from __future__ import annotations

import csv
import json
import math

import numpy as np
import pytest
import yaml
from conftest import REPO

from mbench.cli.main import main
from mbench.config.resolve import resolve_run_config
from mbench.data.adapters.trauma_thompson import TraumaThompsonClipsAdapter, TraumaThompsonProceduresAdapter
from mbench.data.split import write_manifest
from mbench.data.synthetic.trauma_thompson import generate_trauma_thompson
from mbench.data.video import VideoClips, sample_frame_indices
from mbench.errors import MbenchError
from mbench.metrics import functional as F
from mbench.models.capabilities import SequenceClassifier, VideoClassifier, check_video_scores
from mbench.models.registry import ModelEntry, create_model, get_model_entry, registered_model
from mbench.protocols import withheld as W
from mbench.protocols.leave_one_out import leave_one_out_folds
from mbench.protocols.video_actions import action_from_verb_noun
from mbench.runner import execute_run
from mbench.tasks import Task, load_task

FAMILY = REPO / "tasks" / "trauma_thompson"
HEADS = {"verb": 37, "noun": 41, "action": 127}


@pytest.fixture(scope="module")
def standin(tmp_path_factory):
    root = tmp_path_factory.mktemp("tt") / "data"
    generate_trauma_thompson(root, n_videos=5, frame_size=32, min_clip_frames=3, max_clip_frames=5, seed=7)
    return root


@pytest.fixture
def tiny_tt(tmp_path, monkeypatch):
    """Tiny copies of both cards: 5 stand-in videos of 32 px frames (AR), 10 annotation-only videos (TON)."""
    tasks = tmp_path / "tasks"
    family = tasks / "trauma_thompson"
    (family / "splits").mkdir(parents=True)
    official = {"train": "official:train", "val": "official:validation", "test": "official:test"}
    sha_ar = write_manifest(family / "splits" / "tiny_ar.json", None, group_key="clip", seed=0, method="test",
                            dataset="tiny", rule={"official": official})
    sha_ton = write_manifest(family / "splits" / "tiny_ton.json", None, group_key="video", seed=0, method="test",
                             dataset="tiny", rule={"sizes": {"all": "rest"}, "n_pool": 10})
    ar = yaml.safe_load((FAMILY / "trauma-thompson-ar.yaml").read_text())
    ar["id"], ar["aliases"] = "tiny-trauma-thompson-ar", []
    ar["data"]["standin"] = {"generator": "trauma_thompson",
                             "params": {"n_videos": 5, "frame_size": 32, "min_clip_frames": 3, "max_clip_frames": 5,
                                        "seed": 7}, "split": {"file": "splits/tiny_ar.json", "sha256": sha_ar}}
    ar["quick"] = {"protocol": {"n_frames": 2, "frame_size": 16},
                   "model_defaults": {"c3d_small": {"epochs": 1, "batch_size": 8}}}
    (family / "tiny-trauma-thompson-ar.yaml").write_text(yaml.safe_dump(ar, sort_keys=False))
    ton = yaml.safe_load((FAMILY / "trauma-thompson-ton.yaml").read_text())
    ton["id"], ton["aliases"] = "tiny-trauma-thompson-ton", []
    ton["data"]["standin"] = {"generator": "trauma_thompson",
                              "params": {"n_videos": 10, "frames": False, "fractions": [0.9, 0.1, 0.0], "seed": 3},
                              "split": {"file": "splits/tiny_ton.json", "sha256": sha_ton}}
    (family / "tiny-trauma-thompson-ton.yaml").write_text(yaml.safe_dump(ton, sort_keys=False))
    monkeypatch.setenv("MBENCH_TASKS_DIR", str(tasks))
    return tasks


# -- cards and splits -------------------------------------------------------------------------------------------------

def test_cards_are_the_papers_protocols():
    ar = load_task("trauma-thompson-ar").spec
    assert ar.protocol.name == "video_actions" and dict(ar.protocol.heads) == HEADS
    assert ar.protocol.withheld_labels and ar.problem == "video_classification"
    assert {"accuracy", "top5_accuracy"} <= set(ar.metrics.report) and ar.models[0] == "tsn"
    assert ar.model_defaults["tsn"] == {"epochs": 80, "batch_size": 512, "lr": 0.001}  # the paper's settings
    values = {(r.metric, r.region, r.setting): r.value for r in ar.reference_results}
    assert values[("accuracy", "action", "ReViT (paper's method), THOMPSON test")] == 0.1818
    assert {v for (m, reg, s), v in values.items() if s.startswith("TSN")} == {0.1576, 0.1227}  # table vs text
    assert all(r.source for r in ar.reference_results) and ar.quick
    ton = load_task("trauma-thompson-ton").spec
    assert ton.protocol.name == "leave_one_out" and ton.models == ["ton_svm"]
    assert {r.metric: r.value for r in ton.reference_results}["max_within_class_distance"] == 0.396


def _write_release(root, sizes: dict[str, int]) -> None:
    """Annotation files of a release with the given clip counts (frames are not needed to resolve the split)."""
    ann = root / "annotations"
    ann.mkdir(parents=True)
    for name, n, key in (("TT_verb_classes.csv", 37, "v"), ("TT_noun_classes.csv", 41, "n")):
        (ann / name).write_text("id,key\n" + "".join(f"{i},{key}{i}\n" for i in range(n)))
    (ann / "TT_action_classes.csv").write_text("id,key,verb_class,noun_class\n" + "".join(
        f"{i},a{i},{i % 37},{i % 41}\n" for i in range(127)))
    k = 0
    for split, n in sizes.items():
        cols = ["clip_id", "video_id", "procedure", "start_frame", "stop_frame"]
        cols += [] if split == "test" else ["verb", "verb_class", "noun", "noun_class", "action_class"]
        with open(ann / {"train": "TT_train.csv", "validation": "TT_validation.csv",
                         "test": "TT_test_timestamps.csv"}[split], "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(cols)
            for _ in range(n):
                row = [f"c{k:04d}", f"V{k % 62:02d}", "TOUR", 10 * k + 1, 10 * k + 8]
                w.writerow(row + ([] if split == "test" else ["take", k % 37, "swab", k % 41, k % 127]))
                k += 1


def test_real_manifest_pins_the_papers_714_102_204_clip_split(tmp_path):
    spec = load_task("trauma-thompson-ar").spec
    root = tmp_path / "release"
    _write_release(root, {"train": 714, "validation": 102, "test": 204})
    task = Task(spec.model_copy(update={"data": spec.data.model_copy(update={"root": str(root)})}), FAMILY)
    assert {k: len(v) for k, v in task.split.splits.items()} == {"train": 714, "val": 102, "test": 204}
    assert task.adapter.n_classes() == HEADS
    short = tmp_path / "short"
    _write_release(short, {"train": 713, "validation": 102, "test": 204})
    task = Task(spec.model_copy(update={"data": spec.data.model_copy(update={"root": str(short)})}), FAMILY)
    with pytest.raises(MbenchError, match="wrong size"):
        task.split


# -- data -------------------------------------------------------------------------------------------------------------

def test_frame_sampling_is_uniform_deterministic_and_inside_the_clip():
    rng = np.random.default_rng(0)
    for _ in range(200):
        start, length, t = int(rng.integers(1, 500)), int(rng.integers(1, 300)), int(rng.integers(1, 33))
        idx = sample_frame_indices(start, start + length - 1, t)
        assert len(idx) == t and idx.min() >= start and idx.max() <= start + length - 1
        assert np.all(np.diff(idx) >= 0) and np.array_equal(idx, sample_frame_indices(start, start + length - 1, t))
        if length >= t:
            assert len(set(idx.tolist())) == t  # distinct frames whenever the clip has enough
    with pytest.raises(MbenchError):
        sample_frame_indices(10, 5, 4)


def test_adapter_reads_the_standin_and_never_returns_a_test_label(standin):
    a = TraumaThompsonClipsAdapter(standin)
    splits = a.official_splits()
    assert set(splits) == {"train", "validation", "test"} and all(splits.values())
    assert sorted(c for ids in splits.values() for c in ids) == a.case_ids()
    assert a.n_classes() == HEADS and a.action_pairs().shape == (127, 2)
    clip = a.clip_frames(splits["train"][0], 4, 16)
    assert clip.shape == (4, 3, 16, 16) and clip.dtype == np.float32 and 0 <= clip.min() and clip.max() <= 1
    np.testing.assert_array_equal(clip, a.clip_frames(splits["train"][0], 4, 16))
    ref = a.load_reference(splits["train"][0])
    assert ref.shape == (3,) and tuple(a.action_pairs()[ref[2]]) == tuple(ref[:2])  # action = its verb + noun
    with pytest.raises(MbenchError, match="withheld"):
        a.load_reference(splits["test"][0])
    assert a.groups()[splits["train"][0]] == splits["train"][0]  # the paper's clip-level grouping
    by_video = TraumaThompsonClipsAdapter(standin, group_by="video").groups()
    assert by_video[splits["train"][0]] == a.case_attributes()[splits["train"][0]]["video"]
    assert (standin / "withheld" / "TT_test_labels.csv").is_file()


def test_standin_is_deterministic(tmp_path):
    for name in ("a", "b"):
        generate_trauma_thompson(tmp_path / name, n_videos=2, frame_size=16, seed=5)
    files = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*") if p.is_file())
    assert files and all((tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes() for f in files)


def test_procedure_adapter_orders_actions_and_labels_procedures(standin):
    p = TraumaThompsonProceduresAdapter(standin)
    assert len(p.case_ids()) == 5
    acts = list(p.load_input(p.case_ids()[0])["actions"])
    assert [a["start"] for a in acts] == sorted(a["start"] for a in acts) and "procedure" not in acts[0]
    assert [int(p.load_reference(c)[0]) for c in p.case_ids()] == [0, 1, 2, 3, 4]  # videos cycle the procedures


def test_video_clips_index_lazily_like_an_array():
    calls = []
    clips = VideoClips(["a", "b", "c"], lambda c: calls.append(c) or np.full((2, 3, 4, 4), ord(c), np.float32),
                       (2, 3, 4, 4))
    assert len(clips) == 3 and clips.shape == (3, 2, 3, 4, 4) and not calls
    assert clips[np.array([2, 0])][:, 0, 0, 0, 0].tolist() == [ord("c"), ord("a")]
    import torch

    assert isinstance(clips[torch.tensor([1])], torch.Tensor) and clips.take([1]).ids == ["b"]


# -- scoring ----------------------------------------------------------------------------------------------------------

def _labels_file(tmp_path, y: dict[str, np.ndarray], procedures: list[str]):
    path = tmp_path / "labels.csv"
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["clip_id", "procedure", "verb_class", "noun_class", "action_class"])
        for k, p in enumerate(procedures):
            w.writerow([f"c{k}", p, y["verb"][k], y["noun"][k], y["action"][k]])
    return W.WithheldLabels(path)


def test_top_k_scores_match_sklearn_overall_and_per_procedure(tmp_path):
    from sklearn.metrics import accuracy_score, top_k_accuracy_score

    rng = np.random.default_rng(1)
    n = 60
    y = {h: rng.integers(0, k, n) for h, k in HEADS.items()}
    scores = {h: rng.random((n, k)) for h, k in HEADS.items()}
    procs = [["TOUR", "CT", "ND"][k % 3] for k in range(n)]
    ids = [f"c{k}" for k in range(n)]
    rows = W.score_clip_predictions(scores, ids, _labels_file(tmp_path, y, procs), ["accuracy", "top5_accuracy"],
                                    {"seed": 0}, by="procedure")
    got = {(r["region"], r["metric"]): r["value"] for r in rows}
    for h, k in HEADS.items():
        assert math.isclose(got[(h, "accuracy")], accuracy_score(y[h], scores[h].argmax(1)))
        assert math.isclose(got[(h, "top5_accuracy")], top_k_accuracy_score(y[h], scores[h], k=5, labels=range(k)))
        per = []
        for p in ("CT", "ND", "TOUR"):
            keep = np.asarray(procs) == p
            per.append(top_k_accuracy_score(y[h][keep], scores[h][keep], k=5, labels=range(k)))
            assert math.isclose(got[(f"{h}|procedure={p}", "top5_accuracy")], per[-1])
        assert math.isclose(got[(f"{h}|procedure:mean", "top5_accuracy")], float(np.mean(per)))
    with pytest.raises(MbenchError, match="lacks"):
        W.score_clip_predictions(scores, ids + ["unknown"], _labels_file(tmp_path, y, procs), ["accuracy"], {})


def test_action_from_verb_noun_is_the_renormalised_product_over_valid_pairs():
    rng = np.random.default_rng(2)
    verb, noun = rng.dirichlet(np.ones(4), 5), rng.dirichlet(np.ones(3), 5)
    pairs = np.array([[0, 0], [1, 2], [3, 1], [2, 2]])
    out = action_from_verb_noun(verb, noun, pairs)
    for i in range(5):
        raw = np.array([verb[i, v] * noun[i, n] for v, n in pairs])
        np.testing.assert_allclose(out[i], raw / raw.sum())


def test_check_video_scores_rejects_bad_outputs():
    good = {"verb": np.full((2, 3), 1 / 3), "noun": np.full((2, 2), 0.5)}
    assert check_video_scores(good, 2, {"verb": 3, "noun": 2})["verb"].shape == (2, 3)
    for bad in ({"verb": good["verb"]}, {**good, "verb": np.zeros((2, 4))}, {**good, "noun": np.full((2, 2), np.nan)},
                [good["verb"]]):
        with pytest.raises(MbenchError):
            check_video_scores(bad, 2, {"verb": 3, "noun": 2})


def test_separability_metrics_match_scipy_cdist():
    from scipy.spatial.distance import cdist

    rng = np.random.default_rng(3)
    for trial in range(20):
        x = rng.normal(size=(12, 5)) * rng.random((12, 1))
        y = rng.integers(0, 3, 12)
        u = x / np.linalg.norm(x, axis=1, keepdims=True)
        d = cdist(u, u)
        same, off = y[:, None] == y[None, :], ~np.eye(12, dtype=bool)
        assert math.isclose(F.max_within_class_distance(x, y), d[same & off].max(), abs_tol=1e-9)
        assert math.isclose(F.min_between_class_distance(x, y), d[~same].min(), abs_tol=1e-9)
        assert math.isclose(F.class_separation_margin(x, y), d[~same].min() - d[same & off].max(), abs_tol=1e-9)
    assert F.max_within_class_distance(np.eye(3), [0, 1, 2]) == 0.0  # singleton classes: no within pair
    assert math.isnan(F.min_between_class_distance(np.eye(3), [0, 0, 0]))  # one class: no between pair
    with pytest.raises(MbenchError):
        F.max_within_class_distance(np.eye(3), [0])


# -- task graphs ------------------------------------------------------------------------------------------------------

def test_ton_matrices_follow_algorithm_1():
    from mbench.models.baselines.ton import ton_matrices, ton_vector

    acts = [{"verb": "take", "noun": "swab"}, {"verb": "clean", "noun": "skin"}, {"verb": "take", "noun": "swab"}]
    verbs, nouns = ["clean", "take"], ["skin", "swab"]
    P, Q = ton_matrices(acts, verbs, nouns)  # edges: S->take, take->swab, swab->clean, clean->skin, skin->take, ...
    assert P.sum() == 5 and Q[0, 2] == 1 and Q[2, 4] == 2 and Q[4, 1] == 3 and Q[1, 3] == 4 and Q[3, 2] == 5
    Pm, Qm = ton_matrices(acts, verbs, nouns, edges="multi")
    assert Pm[2, 4] == 2 and Qm[2, 4] == 2 + 6  # take->swab occurs as edges 2 and 6
    assert math.isclose(np.linalg.norm(ton_vector(acts, verbs, nouns)), 1.0)
    assert not ton_vector([{"verb": "x", "noun": "y"}], verbs, nouns).any()


def test_ton_svm_honours_the_sequence_classifier_contract():
    model = create_model(get_model_entry("ton_svm"), dict(get_model_entry("ton_svm").defaults))
    assert isinstance(model, SequenceClassifier)
    a = [{"verb": "take", "noun": "swab"}, {"verb": "clean", "noun": "skin"}]
    b = [{"verb": "apply", "noun": "tourniquet"}, {"verb": "tighten", "noun": "strap"}]
    seqs, y = [a, a[:1] + a, b, b + b[:1]], np.array([0, 0, 2, 2])  # class 1 absent from training
    log = model.fit(seqs, y, n_classes=3, seed=0)
    assert log["classes_seen"] == [0, 2]
    scores = model.predict([a, b, [{"verb": "unseen", "noun": "thing"}]])
    assert scores.shape == (3, 3) and np.isfinite(scores).all() and scores[:2].argmax(1).tolist() == [0, 2]
    assert (scores[:, 1] < scores[:, [0, 2]].min(axis=1)).all()  # the absent class never wins
    np.testing.assert_allclose(np.linalg.norm(model.represent(seqs), axis=1), 1.0)


def test_leave_one_out_never_trains_on_the_held_out_instance(tiny_tt, results):
    assert [(g, te.tolist()) for g, _, te in leave_one_out_folds(["b", "a", "b"])] == [("a", [1]), ("b", [0, 2])]
    calls = []

    class Spy:
        def __init__(self, **kw):
            from mbench.models.baselines.ton import TonSvmClassifier

            self.inner = TonSvmClassifier(**kw)

        def fit(self, sequences, labels, *, n_classes, seed):
            calls.append(("fit", [id(s) for s in sequences]))
            return self.inner.fit(sequences, labels, n_classes=n_classes, seed=seed)

        def predict(self, sequences):
            calls.append(("predict", [id(s) for s in sequences]))
            return self.inner.predict(sequences)

        def represent(self, sequences):
            return self.inner.represent(sequences)

    entry = ModelEntry("spy_ton", "learner", Spy, "spy", dict(kernel="linear", C=1.0, edges="merged"),
                       problems=("sequence_classification",), requires_torch=False)
    with registered_model(entry):
        spec = load_task("tiny-trauma-thompson-ton").spec
        cfg = resolve_run_config("tiny-trauma-thompson-ton", "spy_ton", {"models": [*spec.models, "spy_ton"]})
        folder = execute_run(cfg)
    fits, predicts = [c[1] for c in calls if c[0] == "fit"], [c[1] for c in calls if c[0] == "predict"]
    assert len(fits) == len(predicts) == 10
    for train, test in zip(fits, predicts):
        assert len(test) == 1 and not set(test) & set(train) and len(train) == 9
    assert sorted(t[0] for t in predicts) == sorted({t[0] for t in predicts})  # each instance held out once
    job = json.loads(next((folder.path / "jobs").glob("*.json")).read_text())
    assert job["n_folds"] == 10 and np.asarray(job["confusion_matrix"]).sum() == 10


# -- models -----------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("model_id,params", [("c3d_small", {}), ("tsn", {"arch": "tsn_resnet18", "pretrained": "none"}),
                                             ("r3d_18", {"pretrained": "none"})])
def test_video_models_honour_the_capability_contract(model_id, params):
    entry = get_model_entry(model_id)
    assert "video_classification" in entry.problems
    model = create_model(entry, {**entry.defaults, **params, "epochs": 1, "batch_size": 4}, "cpu")
    assert isinstance(model, VideoClassifier)
    rng = np.random.default_rng(0)
    clips = rng.random((6, 4, 3, 16, 16)).astype(np.float32)
    heads = {"verb": 3, "noun": 2}
    y = {h: rng.integers(0, k, 6) for h, k in heads.items()}
    log = model.fit(clips, y, clips[:2], {h: v[:2] for h, v in y.items()}, n_classes=heads, seed=0)
    assert log["best_epoch"] == 1 and log["n_parameters"] > 0
    out = check_video_scores(model.predict(clips[:3]), 3, heads)
    for h in heads:
        np.testing.assert_allclose(out[h].sum(axis=1), 1.0, atol=1e-5)


def test_pretrained_video_weights_come_from_local_files_only(tmp_path, monkeypatch):
    import torch
    import torchvision

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    from mbench.models.baselines.video import build_network

    with pytest.raises(MbenchError, match="not in the local cache"):
        build_network("tsn_resnet18", {"verb": 3}, pretrained="imagenet")
    ref = torchvision.models.resnet18(weights=None)
    path = tmp_path / "r18.pth"
    torch.save(ref.state_dict(), path)
    net = build_network("tsn_resnet18", {"verb": 3}, pretrained="imagenet", pretrained_path=str(path))
    assert torch.equal(net.backbone.conv1.weight, ref.conv1.weight)


# -- protocol ---------------------------------------------------------------------------------------------------------

def test_test_labels_never_reach_the_model(tiny_tt, results, monkeypatch):
    events, seen = [], {}

    class Spy:
        def __init__(self, **kw):
            from mbench.models.baselines.video import VideoActionClassifier

            self.inner = VideoActionClassifier(**kw)

        def fit(self, clips, targets, val_clips, val_targets, *, n_classes, seed, progress):
            events.append("fit")
            seen.update(train=list(clips.ids), val=list(val_clips.ids), targets=targets)
            return self.inner.fit(clips, targets, val_clips, val_targets, n_classes=n_classes, seed=seed,
                                  progress=progress)

        def predict(self, clips):
            events.append("predict")
            seen["test"] = list(clips.ids)
            return self.inner.predict(clips)

    original = W.WithheldLabels.__init__
    monkeypatch.setattr(W.WithheldLabels, "__init__", lambda self, path: (events.append("labels read"),
                                                                          original(self, path))[1])
    asked = []
    ref = TraumaThompsonClipsAdapter.load_reference
    monkeypatch.setattr(TraumaThompsonClipsAdapter, "load_reference", lambda self, c: (asked.append(c), ref(self, c))[1])
    entry = ModelEntry("spy_video", "learner", Spy, "spy", dict(get_model_entry("c3d_small").defaults),
                       problems=("video_classification",))
    with registered_model(entry):
        spec = load_task("tiny-trauma-thompson-ar").spec
        cfg = resolve_run_config("tiny-trauma-thompson-ar", "spy_video",
                                 {"models": [*spec.models, "spy_video"], "model.epochs": 1, "model.batch_size": 8},
                                 quick=True)
        folder = execute_run(cfg)
    assert events == ["fit", "predict", "labels read"]  # labels opened only after the last prediction
    assert not set(seen["test"]) & (set(seen["train"]) | set(seen["val"])) and seen["test"]
    assert not set(asked) & set(seen["test"])  # the adapter was never asked for a test label
    assert all(len(v) == len(seen["train"]) for v in seen["targets"].values())
    rows = [r for r in csv.DictReader(open(folder.path / "scores.csv"))]
    assert {(r["region"], r["metric"]) for r in rows} >= {(h, m) for h in HEADS for m in ("accuracy", "top5_accuracy")}


@pytest.mark.slow
def test_quick_runs_end_to_end_and_predictions_only_without_the_label_file(tiny_tt, results, capsys):
    assert main(["run", "task=tiny-trauma-thompson-ar", "model=c3d_small", "--quick"]) == 0
    folder = next(results.glob("tiny-trauma-thompson-ar--c3d_small--*"))
    summary = json.loads((folder / "summary.json").read_text())
    job = json.loads(next((folder / "jobs").glob("*.json")).read_text())
    assert job["scoring"].startswith("withheld labels") and job["test_clips_from_training_videos"] >= 0
    assert len(job["predictions"]["clip_ids"]) == job["n_clips"]["test"]
    assert summary and (folder / "scores.csv").read_text().count(",action,accuracy,") == 1
    assert main(["run", "task=tiny-trauma-thompson-ar", "model=c3d_small", "protocol.withheld_labels=no/such/file.csv",
                 "--quick"]) == 0
    other = [f for f in results.glob("tiny-trauma-thompson-ar--c3d_small--*") if f != folder][0]
    job = json.loads(next((other / "jobs").glob("*.json")).read_text())
    assert job["scoring"].startswith("predictions only") and job["rows"]
    assert all(math.isnan(r["value"]) and "withheld" in r["note"] for r in job["rows"])
    assert np.asarray(job["predictions"]["action"]).shape == (job["n_clips"]["test"], 127)
    assert main(["run", "task=tiny-trauma-thompson-ton", "model=ton_svm", "--quick"]) == 0
    ton = next(results.glob("tiny-trauma-thompson-ton--ton_svm--*"))
    values = {r["metric"]: float(r["value"]) for r in csv.DictReader(open(ton / "scores.csv"))}
    assert values["accuracy"] >= 0.8 and set(values) >= {"max_within_class_distance", "class_separation_margin"}
