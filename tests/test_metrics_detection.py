"""Detection metrics: COCO AP through faster-coco-eval and pycocotools against pycocotools used directly; point
F1 against scipy's maximum bipartite matching; FROC against a brute-force threshold sweep."""

from __future__ import annotations

import contextlib
import io
import math

import numpy as np
import pytest
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import maximum_bipartite_matching
from scipy.spatial.distance import cdist

from mbench.errors import MbenchError
from mbench.metrics import functional as F


def _detections(seed: int, n_images: int = 6):
    rng = np.random.default_rng(seed)
    preds, refs = [], []
    for _ in range(n_images):
        n = int(rng.integers(0, 5))
        xy = rng.uniform(0, 200, (n, 2))
        wh = rng.uniform(8, 80, (n, 2))
        boxes = np.concatenate([xy, xy + wh], axis=1)
        labels = rng.integers(1, 4, n)
        refs.append({"boxes": boxes, "labels": labels})
        keep = rng.random(n) < 0.8
        jitter = rng.normal(0, 4, (int(keep.sum()), 4))
        extra = int(rng.integers(0, 3))
        exy = rng.uniform(0, 200, (extra, 2))
        pboxes = np.concatenate([boxes[keep] + jitter, np.concatenate([exy, exy + 30], axis=1)])
        plabels = np.concatenate([labels[keep], rng.integers(1, 4, extra)])
        preds.append({"boxes": pboxes, "labels": plabels, "scores": rng.random(len(pboxes))})
    return preds, refs


def _pycocotools_direct(preds, refs):
    """COCO evaluation written out by hand with pycocotools (xywh boxes, 1-based ids)."""
    images = [{"id": i + 1} for i in range(len(refs))]
    anns, dets, cats = [], [], set()
    for i, r in enumerate(refs):
        for b, c in zip(r["boxes"], r["labels"], strict=True):
            w, h = b[2] - b[0], b[3] - b[1]
            anns.append({"id": len(anns) + 1, "image_id": i + 1, "category_id": int(c), "bbox": [b[0], b[1], w, h],
                         "area": w * h, "iscrowd": 0})
            cats.add(int(c))
    for i, p in enumerate(preds):
        for b, c, s in zip(p["boxes"], p["labels"], p["scores"], strict=True):
            dets.append({"image_id": i + 1, "category_id": int(c), "score": float(s),
                         "bbox": [b[0], b[1], b[2] - b[0], b[3] - b[1]]})
            cats.add(int(c))
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO()
        gt.dataset = {"images": images, "annotations": anns, "categories": [{"id": c} for c in sorted(cats)]}
        gt.createIndex()
        ev = COCOeval(gt, gt.loadRes(dets), "bbox")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return ev.stats


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("backend", ["faster_coco_eval", "pycocotools"])
def test_coco_against_pycocotools(seed, backend):
    preds, refs = _detections(seed)
    expected = _pycocotools_direct(preds, refs)
    out = F.coco_detection(preds, refs, backend=backend, per_class=True)
    for key, value in zip(("AP", "AP50", "AP75", "APs", "APm", "APl", "AR1", "AR10", "AR100"), expected, strict=False):
        if value < 0:
            assert math.isnan(out[key])
        else:
            assert out[key] == pytest.approx(value, abs=1e-9), key
    per_class = [out[k] for k in out if k.startswith("AP/") and not math.isnan(out[k])]
    assert np.mean(per_class) == pytest.approx(out["AP"], abs=1e-9)


def test_coco_edges_and_wrappers():
    refs = [{"boxes": np.array([[0, 0, 10, 10]]), "labels": np.array([1])}]
    perfect = [{"boxes": refs[0]["boxes"], "labels": np.array([1]), "scores": np.array([0.9])}]
    assert (F.coco_ap(perfect, refs), F.coco_ap50(perfect, refs), F.coco_ap75(perfect, refs)) == (1.0, 1.0, 1.0)
    none = [{"boxes": np.zeros((0, 4)), "labels": [], "scores": []}]
    assert F.coco_ap(none, refs) == 0.0
    no_refs = [{"boxes": np.zeros((0, 4)), "labels": []}]
    assert math.isnan(F.coco_ap(perfect, no_refs))
    with pytest.raises(MbenchError, match="lacks 'scores'"):
        F.coco_ap([{"boxes": refs[0]["boxes"], "labels": [1]}], refs)
    with pytest.raises(MbenchError, match="numbers of images"):
        F.coco_ap(perfect * 2, refs)
    with pytest.raises(MbenchError, match="unknown COCO backend"):
        F.coco_detection(perfect, refs, backend="detectron")


def _points(seed: int, n_images: int = 5):
    rng = np.random.default_rng(seed)
    preds, refs = [], []
    for _ in range(n_images):
        r = rng.uniform(0, 50, (int(rng.integers(0, 8)), 2))
        p = np.concatenate([r[rng.random(len(r)) < 0.7], rng.uniform(0, 50, (int(rng.integers(0, 5)), 2))])
        p = p + rng.normal(0, 1.5, p.shape)
        refs.append({"points": r})
        preds.append({"points": p, "scores": rng.random(len(p))})
    return preds, refs


@pytest.mark.parametrize("seed", range(5))
def test_point_counts_against_maximum_bipartite_matching(seed):
    preds, refs = _points(seed)
    radius = 3.0
    tp = fp = fn = 0
    for p, r in zip(preds, refs, strict=True):
        pp, rr = p["points"], r["points"]
        m = 0
        if len(pp) and len(rr):
            graph = csr_matrix((cdist(pp, rr) <= radius).astype(int))
            m = int((maximum_bipartite_matching(graph, perm_type="column") >= 0).sum())
        tp, fp, fn = tp + m, fp + len(pp) - m, fn + len(rr) - m
    assert F.point_detection_counts(preds, refs, radius=radius) == (tp, fp, fn)
    assert F.point_f1(preds, refs, radius=radius) == pytest.approx(2 * tp / (2 * tp + fp + fn))


def test_point_matching_is_optimal_not_greedy():
    # greedy nearest-first pairs (0.85, 0) with (0, 0) at 0.85 and leaves (-0.95, 0) unmatched
    refs = [{"points": np.array([[0.0, 0.0], [1.8, 0.0]])}]
    preds = [{"points": np.array([[0.85, 0.0], [-0.95, 0.0]])}]
    assert F.point_detection_counts(preds, refs, radius=1.0) == (2, 0, 0)
    assert F.point_f1([{"points": np.zeros((0, 2))}], [{"points": np.zeros((0, 2))}], radius=1.0) == 1.0
    with pytest.raises(MbenchError, match="radius"):
        F.point_f1(preds, refs, radius=0)


def _froc_brute_force(preds, refs, radius, rates):
    scores = sorted({float(s) for p in preds for s in p["scores"]}, reverse=True)
    curve = [(0.0, 0.0)]
    n_lesions = sum(len(r["points"]) for r in refs)
    for t in scores:
        hit, fps = 0, 0
        for p, r in zip(preds, refs, strict=True):
            kept = p["points"][p["scores"] >= t]
            for lesion in r["points"]:
                hit += any(np.linalg.norm(k - lesion) <= radius for k in kept)
            for k in kept:
                fps += not any(np.linalg.norm(k - lesion) <= radius for lesion in r["points"])
        curve.append((fps / len(refs), hit / n_lesions))
    return {f: max(s for fp, s in curve if fp <= f) for f in rates}


@pytest.mark.parametrize("seed", range(4))
def test_froc_against_brute_force(seed):
    preds, refs = _points(seed, n_images=4)
    rates = (0.25, 0.5, 1.0, 2.0, 4.0)
    expected = _froc_brute_force(preds, refs, 3.0, rates)
    assert F.froc(preds, refs, radius=3.0, rates=rates) == pytest.approx(expected)
    assert F.froc_score(preds, refs, radius=3.0, rates=rates) == pytest.approx(np.mean(list(expected.values())))


def test_froc_without_lesions():
    out = F.froc([{"points": np.ones((1, 2)), "scores": [0.5]}], [{"points": np.zeros((0, 2))}], radius=1.0)
    assert all(math.isnan(v) for v in out.values()) and set(out) == set(F.FROC_RATES)
