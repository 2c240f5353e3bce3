"""Overlap metrics against scikit-learn, the empty conventions, pooled aggregation, per-label and BraTS-region
variants (the shared crop must not change any value), and Hypothesis properties."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import metrics as skm

from mbench.errors import MbenchError
from mbench.metrics import functional as F

pytestmark = pytest.mark.filterwarnings("ignore:Please import:DeprecationWarning")


def _pair(seed: int, shape=(6, 7, 5), p=0.4):
    rng = np.random.default_rng(seed)
    return rng.random(shape) < p, rng.random(shape) < p


@pytest.mark.parametrize("seed", range(5))
def test_against_sklearn(seed):
    pred, ref = _pair(seed)
    y, yhat = ref.ravel(), pred.ravel()
    assert F.dice(pred, ref) == pytest.approx(skm.f1_score(y, yhat), rel=1e-12)
    assert F.iou(pred, ref) == pytest.approx(skm.jaccard_score(y, yhat), rel=1e-12)
    assert F.precision(pred, ref) == pytest.approx(skm.precision_score(y, yhat), rel=1e-12)
    assert F.recall(pred, ref) == pytest.approx(skm.recall_score(y, yhat), rel=1e-12)
    assert F.specificity(pred, ref) == pytest.approx(skm.recall_score(y, yhat, pos_label=0), rel=1e-12)
    assert F.pixel_accuracy(pred, ref) == pytest.approx(skm.accuracy_score(y, yhat), rel=1e-12)
    tn, fp, fn, tp = skm.confusion_matrix(y, yhat, labels=[0, 1]).ravel()
    assert F.confusion_counts(pred, ref) == (tp, fp, fn, tn)


def test_one_empty_matches_sklearn_zero_division():
    pred, ref = np.zeros(10, bool), np.zeros(10, bool)
    ref[:3] = True
    for fn, sk in ((F.precision, skm.precision_score), (F.recall, skm.recall_score), (F.dice, skm.f1_score)):
        assert fn(pred, ref) == sk(ref, pred, zero_division=0) == 0.0
        assert fn(ref, pred) == sk(pred, ref, zero_division=0) == 0.0


@pytest.mark.parametrize("metric", ["dice", "iou", "precision", "recall"])
def test_both_empty_convention(metric):
    fn = getattr(F, metric)
    z = np.zeros((3, 3))
    assert fn(z, z) == 1.0
    assert fn(z, z, both_empty=0.0) == 0.0
    assert math.isnan(fn(z, z, both_empty=float("nan")))


def test_specificity_and_accuracy_edges():
    full = np.ones(4, bool)
    assert F.specificity(full, full) == 1.0  # no reference background: declared convention
    assert F.pixel_accuracy(np.zeros(4), np.zeros(4)) == 1.0
    with pytest.raises(MbenchError):
        F.pixel_accuracy(np.zeros(0), np.zeros(0))


def test_pooled_equals_sklearn_on_concatenated_voxels():
    pairs = [_pair(s, shape=(4, 5)) for s in range(4)] + [(np.zeros((3, 3), bool), np.zeros((3, 3), bool))]
    preds, refs = [p for p, _ in pairs], [r for _, r in pairs]
    y = np.concatenate([r.ravel() for r in refs])
    yhat = np.concatenate([p.ravel() for p in preds])
    assert F.pooled_overlap("dice", preds, refs) == pytest.approx(skm.f1_score(y, yhat), rel=1e-12)
    assert F.pooled_overlap("iou", preds, refs) == pytest.approx(skm.jaccard_score(y, yhat), rel=1e-12)
    assert F.pooled_overlap("specificity", preds, refs) == pytest.approx(skm.recall_score(y, yhat, pos_label=0))
    per_case = np.mean([F.dice(p, r) for p, r in pairs])
    assert per_case != pytest.approx(F.pooled_overlap("dice", preds, refs))  # the two aggregations differ
    with pytest.raises(MbenchError, match="did you mean"):
        F.pooled_overlap("dise", preds, refs)
    with pytest.raises(MbenchError, match="zero cases"):
        F.pooled_overlap("dice", [], [])


def _brats_pair(seed: int, shape=(12, 11, 10)):
    rng = np.random.default_rng(seed)
    labels = np.array([0, 1, 2, 4])
    ref = labels[rng.choice(4, size=shape, p=[0.6, 0.1, 0.2, 0.1])]
    pred = labels[rng.choice(4, size=shape, p=[0.6, 0.1, 0.2, 0.1])]
    return pred, ref


def test_per_region_brats_definitions():
    pred, ref = _brats_pair(0)
    out = F.per_region(F.dice, pred, ref)
    assert out["WT"] == F.dice(np.isin(pred, [1, 2, 4]), np.isin(ref, [1, 2, 4]))
    assert out["TC"] == F.dice(np.isin(pred, [1, 4]), np.isin(ref, [1, 4]))
    assert out["ET"] == F.dice(pred == 4, ref == 4)
    assert F.per_label(F.iou, pred, ref) == {k: F.iou(pred == k, ref == k) for k in (1, 2, 4)}
    assert F.per_label(F.iou, pred, ref, labels=[3]) == {3: 1.0}  # absent from both: both-empty convention
    assert F.BRATS_2023_REGIONS["ET"] == (3,)


@pytest.mark.parametrize("seed", range(3))
def test_region_scores_equal_full_volume_metrics(seed):
    pred, ref = _brats_pair(seed, shape=(16, 14, 12))
    # put the tumour in a corner (touching the image border) and leave most of the volume empty
    pred[8:], ref[8:] = 0, 0
    pred[:, 9:], ref[:, 9:] = 0, 0
    spacing = (1.0, 0.8, 2.0)
    metrics = ["dice", "iou", "precision", "recall", "specificity", "pixel_accuracy",
               "hd95", "hd95_surfel", "hd95_pooled", "hd", "assd", "masd", "nsd"]
    out = F.region_scores(pred, ref, metrics=metrics, spacing=spacing, tolerance=1.5)
    for name, region in F.BRATS_REGIONS.items():
        p, r = F.region_mask(pred, region), F.region_mask(ref, region)
        for m in metrics:
            if m == "nsd":
                expected = F.nsd(p, r, tolerance=1.5, spacing=spacing)
            elif m in F.SURFACE_METRICS:
                expected = getattr(F, m)(p, r, spacing=spacing)
            else:
                expected = getattr(F, m)(p, r)
            assert out[name][m] == pytest.approx(expected, rel=1e-12), (name, m)


def test_region_scores_empty_regions_and_errors():
    ref = np.zeros((8, 8, 8), np.uint8)
    ref[2:5, 2:5, 2:5] = 2  # edema only: TC and ET empty in both
    out = F.region_scores(ref, ref, metrics=["dice", "hd95", "nsd"], tolerance=1.0)
    assert out["TC"] == {"dice": 1.0, "hd95": 0.0, "nsd": 1.0}
    out = F.region_scores(np.zeros_like(ref), ref, metrics=["dice", "hd95"], both_empty=float("nan"))
    assert out["WT"] == {"dice": 0.0, "hd95": math.inf} and math.isnan(out["ET"]["dice"])
    empty = F.region_scores(np.zeros_like(ref), np.zeros_like(ref), metrics=["pixel_accuracy", "hd"])
    assert empty["WT"] == {"pixel_accuracy": 1.0, "hd": 0.0}
    with pytest.raises(MbenchError, match="tolerance"):
        F.region_scores(ref, ref, metrics=["nsd"])
    with pytest.raises(MbenchError, match="unknown region metric"):
        F.region_scores(ref, ref, metrics=["dsc"])
    with pytest.raises(MbenchError, match="differ in shape"):
        F.region_scores(ref, ref[:4])


binary = st.integers(0, 2 ** 30).map(lambda s: np.random.default_rng(s).random((5, 6)) < 0.4)


@settings(max_examples=40, deadline=None)
@given(a=binary, b=binary)
def test_property_symmetry_bounds_identity(a, b):
    for fn in (F.dice, F.iou):
        assert fn(a, b) == fn(b, a)
        assert 0.0 <= fn(a, b) <= 1.0
        assert fn(a, a) == 1.0
    assert F.precision(a, b) == F.recall(b, a)
    d, j = F.dice(a, b), F.iou(a, b)
    assert j == pytest.approx(d / (2 - d))  # the Dice-IoU identity
