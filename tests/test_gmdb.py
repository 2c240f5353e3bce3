"""GMDB few-shot faces (paper 10): retrieval metrics vs references, keypoint-guided mixup geometry, the protocol."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
import yaml
from conftest import REPO

from mbench.cli.main import main
from mbench.data.adapters.gmdb import GMDBAdapter
from mbench.data.synthetic.gmdb import generate_gmdb
from mbench.errors import MbenchError
from mbench.metrics import functional as F
from mbench.models.baselines.mixup import input_mixup, keypoint_mixup
from mbench.models.capabilities import Embedder, check_embeddings
from mbench.protocols.few_shot import check_class_disjoint, cosine_similarity
from mbench.tasks import Task, load_task


@pytest.fixture
def tiny_gmdb(tmp_path, monkeypatch):
    family = tmp_path / "tasks" / "gmdb"
    (family / "splits").mkdir(parents=True)
    (family / "splits" / "standin.json").write_bytes((REPO / "tasks/gmdb/splits/standin.json").read_bytes())
    raw = yaml.safe_load((REPO / "tasks/gmdb/gmdb-rare.yaml").read_text())
    raw["id"], raw["aliases"] = "tiny-gmdb-rare", []
    raw["data"]["standin"]["params"] = {"n_base": 4, "images_per_base": 10, "n_rare": 5, "size": 48, "seed": 1}
    raw["quick"] = {"preprocessing": {"resize": [32, 32]},
                    "model_defaults": {"face_resnet50": {"arch": "resnet18", "batch_size": 16, "epochs": 2,
                                                         "head_epochs": 1, "lr": 1e-3, "patience": 2}}}
    (family / "tiny-gmdb-rare.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    monkeypatch.setenv("MBENCH_TASKS_DIR", str(tmp_path / "tasks"))
    return "tiny-gmdb-rare"


def _retrieval_case(seed: int):
    rng = np.random.default_rng(seed)
    g_labels = np.r_[np.arange(12), rng.integers(0, 12, 30)]
    q_labels = rng.integers(0, 14, 20)  # classes 12, 13 have no support image
    emb_g, emb_q = rng.normal(size=(len(g_labels), 8)), rng.normal(size=(len(q_labels), 8))
    return emb_q, emb_g, q_labels, g_labels


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_image_top_k_and_1nn_match_sklearn_nearest_neighbours(seed):
    from sklearn.neighbors import NearestNeighbors

    emb_q, emb_g, q, g = _retrieval_case(seed)
    sim = cosine_similarity(emb_q, emb_g)
    for k in (1, 10):
        nn = NearestNeighbors(n_neighbors=k, metric="cosine").fit(emb_g)
        idx = nn.kneighbors(emb_q, return_distance=False)
        expected = np.mean([(g[i] == c).any() for i, c in zip(idx, q)])
        assert F.retrieval_top_k(sim, q, g, k=k) == pytest.approx(expected)
    from sklearn.neighbors import KNeighborsClassifier

    one_nn = KNeighborsClassifier(n_neighbors=1, metric="cosine").fit(emb_g, g)
    assert F.retrieval_top_k(sim, q, g, k=1) == pytest.approx(np.mean(one_nn.predict(emb_q) == q))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_class_top_k_matches_gestaltmatchers_ranking_and_map_matches_sklearn(seed):
    from sklearn.metrics import average_precision_score

    emb_q, emb_g, q, g = _retrieval_case(seed)
    sim = cosine_similarity(emb_q, emb_g)
    ranked = g[np.argsort(-sim, axis=1, kind="stable")]
    distinct = [r[np.sort(np.unique(r, return_index=True)[1])] for r in ranked]  # GestaltMatcher's unique-in-order
    for k in (1, 3, 10):
        hits = np.array([c in d[:k] for c, d in zip(q, distinct)])
        assert F.retrieval_class_top_k(sim, q, g, k=k) == pytest.approx(hits.mean())
        per_class = [hits[q == c].mean() for c in np.unique(q)]
        assert F.retrieval_class_top_k(sim, q, g, k=k, average="macro") == pytest.approx(np.mean(per_class))
    assert F.retrieval_class_top_k(sim, q, g, k=1) == F.retrieval_top_k(sim, q, g, k=1)
    aps = [average_precision_score(g == c, s) for c, s in zip(q, sim) if (g == c).any()]
    assert F.retrieval_map(sim, q, g) == pytest.approx(np.mean(aps))


def _blob_face(size: int, points: np.ndarray) -> np.ndarray:
    yy, xx = np.mgrid[:size, :size]
    img = sum(np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / 4.0) for x, y in points)
    return img[None].astype(np.float32)


def test_keypoint_mixup_is_the_blend_of_the_keypoint_aligned_faces():
    size = 48
    kp_a = np.array([[14.0, 16.0], [34.0, 16.0], [24.0, 26.0], [17.0, 35.0], [31.0, 35.0]])
    kp_b = kp_a * [1.15, 1.0] + [-3.0, 4.0]  # a wider face, shifted
    a, b = _blob_face(size, kp_a), _blob_face(size, kp_b)
    lam = 0.3
    mixed, target = keypoint_mixup(a, b, kp_a, kp_b, lam)
    assert np.allclose(target, lam * kp_a + (1 - lam) * kp_b)
    aligned = _blob_face(size, target)
    # both faces are moved onto the target keypoints, so the blend has one blob per target keypoint ...
    for x, y in target:
        assert mixed[0, int(round(y)), int(round(x))] > 0.6
    assert np.corrcoef(mixed.ravel(), aligned.ravel())[0, 1] > 0.9
    # ... unlike plain input mixup, which keeps both faces' blobs where they were
    plain, _ = input_mixup(np.stack([a, b]), np.eye(2), lam, np.array([1, 0]))
    assert np.corrcoef(plain[0].ravel(), aligned.ravel())[0, 1] < np.corrcoef(mixed.ravel(), aligned.ravel())[0, 1]
    same, _ = keypoint_mixup(a, a, kp_a, kp_a, 0.5)
    assert np.allclose(same, a, atol=1e-3)  # identical faces: the blend is the face itself


def test_class_disjointness_and_embedding_checks():
    check_class_disjoint(np.array([1, 2]), np.array([3, 4]))
    with pytest.raises(MbenchError, match="novel classes"):
        check_class_disjoint(np.array([1, 2]), np.array([2, 5]))
    with pytest.raises(MbenchError, match="invalid embeddings"):
        check_embeddings(np.zeros((3, 2)), 2)
    assert np.allclose(np.linalg.norm(check_embeddings(np.ones((2, 4)), 2), axis=1), 1)


def test_adapter_reads_the_gmdb_layout_with_episodes_and_landmarks(tmp_path):
    generate_gmdb(tmp_path, n_base=2, images_per_base=5, n_rare=3, size=32)
    adapter = GMDBAdapter(tmp_path)
    official = adapter.official_splits()
    assert len(official["frequent_train"]) == 8 and len(official["frequent_test"]) == 2
    episodes = adapter.episodes()
    assert len(episodes) == 10
    for ep in episodes:
        assert not set(ep["support"]) & set(ep["query"]) and set(ep["support"] + ep["query"]) == set(official["rare"])
        assert len(ep["query"]) == 3  # one query per rare syndrome
    kp, (h, w) = adapter.keypoints(official["rare"][0])
    assert kp.shape == (68, 2) and (h, w) == (32, 32) and (kp >= 0).all() and (kp < 32).all()
    assert adapter.load_input(official["rare"][0])["image"].shape == (32, 32, 3)


def test_embedder_satisfies_the_capability_and_mixups_train(tiny_gmdb):
    from mbench.models.baselines.embedder import FaceEmbedder

    card = load_task(tiny_gmdb)
    task = Task(card.spec, card.folder)
    assert set(task.split.split_names()) == {"train", "val", "test", "novel"}
    classes = task.adapter.case_attributes()
    train_classes = {classes[c]["class"] for c in task.split.ids("train") + task.split.ids("val")}
    assert not train_classes & {classes[c]["class"] for c in task.split.ids("novel")}
    rng = np.random.default_rng(0)
    x, y = rng.random((6, 3, 32, 32), dtype=np.float32), np.array([3, 3, 4, 4, 5, 5])
    kp = np.tile(np.array([[10.0, 10], [22, 10], [16, 20]]), (6, 1, 1)) + rng.normal(0, 1, (6, 3, 2))
    for mixup in ("input", "keypoint"):
        emb = FaceEmbedder(arch="resnet18", mixup=mixup, epochs=1, head_epochs=0, batch_size=6, device="cpu")
        assert isinstance(emb, Embedder)
        emb.fit(x, y, x, y, keypoints=kp, seed=0)
        assert np.allclose(np.linalg.norm(emb.embed(x), axis=1), 1, atol=1e-5)
    with pytest.raises(MbenchError, match="keypoints"):
        FaceEmbedder(arch="resnet18", mixup="keypoint", epochs=1, device="cpu").fit(x, y, x, y, seed=0)


@pytest.mark.slow
def test_quick_setting_runs_end_to_end(tiny_gmdb, results):
    assert main(["run", f"task={tiny_gmdb}", "model=face_resnet50", "--quick"]) == 0
    (folder,) = [p for p in results.iterdir() if p.is_dir()]
    assert json.loads((folder / "run.json").read_text())["status"] == "complete"
    rows = list(csv.DictReader(open(folder / "scores.csv")))
    top1 = [r for r in rows if r["metric"] == "retrieval_top1"]
    assert sorted(int(r["fold"]) for r in top1) == list(range(10))
    assert any(r["metric"] == "accuracy" for r in rows)
    job = json.loads(next((folder / "jobs").glob("*.json")).read_text())
    assert len(job["episodes_sha256"]) == 64
