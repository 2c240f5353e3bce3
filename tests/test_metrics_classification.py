"""Classification and retrieval metrics against scikit-learn, with missing classes, ties and score matrices."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from sklearn import metrics as skm

from mbench.errors import MbenchError
from mbench.metrics import functional as F


def _data(seed: int, n: int = 60, c: int = 5, missing_class: bool = False):
    rng = np.random.default_rng(seed)
    scores = rng.random((n, c))
    scores = np.round(scores, 1)  # create ties
    y = rng.integers(0, c, n)
    if missing_class:
        y[y == c - 1] = 0  # the last class never occurs in the target
    return scores, y


@pytest.mark.parametrize("seed", range(4))
def test_label_metrics_against_sklearn(seed):
    scores, y = _data(seed, missing_class=seed % 2 == 1)
    pred = scores.argmax(axis=1)
    assert F.accuracy(scores, y) == pytest.approx(skm.accuracy_score(y, pred))
    assert F.accuracy(pred, y) == F.accuracy(scores, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "y_pred contains classes not in y_true"
        expected_bal = skm.balanced_accuracy_score(y, pred)
    assert F.balanced_accuracy(pred, y) == pytest.approx(expected_bal, rel=1e-12)
    for average in ("macro", "weighted", "micro"):
        kw = {"average": average, "zero_division": 0}
        assert F.precision_score(pred, y, average=average) == pytest.approx(skm.precision_score(y, pred, **kw))
        assert F.recall_score(pred, y, average=average) == pytest.approx(skm.recall_score(y, pred, **kw))
        assert F.f1_score(pred, y, average=average) == pytest.approx(skm.f1_score(y, pred, **kw))
    for weights in (None, "linear", "quadratic"):
        assert F.cohen_kappa(pred, y, weights=weights) == pytest.approx(
            skm.cohen_kappa_score(y, pred, weights=weights), rel=1e-12)
    assert (F.confusion_matrix(pred, y, n_classes=5) == skm.confusion_matrix(y, pred, labels=range(5))).all()


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("k", [1, 2, 3])
def test_top_k_against_sklearn(seed, k):
    scores, y = _data(seed)
    assert F.top_k_accuracy(scores, y, k=k) == pytest.approx(
        skm.top_k_accuracy_score(y, scores, k=k, labels=range(5)))
    per_class = [skm.top_k_accuracy_score(y[y == c], scores[y == c], k=k, labels=range(5)) for c in np.unique(y)]
    assert F.top_k_accuracy(scores, y, k=k, average="macro") == pytest.approx(np.mean(per_class))


@pytest.mark.parametrize("seed", range(4))
def test_roc_auc_against_sklearn(seed):
    scores, y = _data(seed)
    probs = scores / scores.sum(axis=1, keepdims=True)
    for average in ("macro", "weighted"):
        assert F.roc_auc(probs, y, average=average) == pytest.approx(
            skm.roc_auc_score(y, probs, multi_class="ovr", average=average), rel=1e-12)
    yb = (y > 2).astype(int)
    assert F.roc_auc(scores[:, 0], yb) == pytest.approx(skm.roc_auc_score(yb, scores[:, 0]), rel=1e-12)
    two = np.stack([1 - scores[:, 0], scores[:, 0]], axis=1)
    assert F.roc_auc(two, yb) == F.roc_auc(scores[:, 0], yb)


def test_roc_auc_missing_classes_and_undefined():
    scores, y = _data(0, missing_class=True)
    present = [c for c in range(5) if (y == c).any()]
    expected = np.mean([skm.roc_auc_score(y == c, scores[:, c]) for c in present])
    assert F.roc_auc(scores, y) == pytest.approx(expected, rel=1e-12)
    assert math.isnan(F.roc_auc(np.array([0.2, 0.4]), np.array([1, 1])))


@pytest.mark.parametrize("seed", range(3))
def test_average_precision_against_sklearn(seed):
    rng = np.random.default_rng(seed)
    scores = np.round(rng.random((40, 4)), 1)
    targets = rng.random((40, 4)) < 0.3
    targets[:, 3] = False  # a label without positives
    expected = np.mean([skm.average_precision_score(targets[:, j], scores[:, j]) for j in range(3)])
    assert F.mean_average_precision(scores, targets) == pytest.approx(expected, rel=1e-12)
    assert math.isnan(F.average_precision(scores[:, 3], targets[:, 3]))


def test_kappa_edge_and_errors():
    assert math.isnan(F.cohen_kappa(np.array([1, 1]), np.array([1, 1])))
    with pytest.raises(MbenchError, match="kappa weights"):
        F.cohen_kappa(np.array([1]), np.array([1]), weights="cubic")
    with pytest.raises(MbenchError, match="differ in length"):
        F.accuracy(np.array([1, 2]), np.array([1]))
    with pytest.raises(MbenchError, match="zero samples"):
        F.accuracy(np.array([]), np.array([]))
    with pytest.raises(MbenchError, match="invalid average"):
        F.f1_score(np.array([1]), np.array([1]), average="samples")
    with pytest.raises(MbenchError, match="score matrix"):
        F.top_k_accuracy(np.array([1, 2]), np.array([1, 0]))


@pytest.mark.parametrize("seed", range(3))
def test_retrieval_against_sklearn(seed):
    rng = np.random.default_rng(seed)
    sim = np.round(rng.random((12, 30)), 2)
    q, g = rng.integers(0, 4, 12), rng.integers(0, 3, 30)  # class 3 queries have no relevant item
    aps = [skm.average_precision_score(g == q[i], sim[i]) for i in range(12) if (g == q[i]).any()]
    assert F.retrieval_map(sim, q, g) == pytest.approx(np.mean(aps), rel=1e-12)
    for k in (1, 5):
        hits = [(g[np.argsort(-sim[i], kind="stable")[:k]] == q[i]).any() for i in range(12)]
        assert F.retrieval_top_k(sim, q, g, k=k) == pytest.approx(np.mean(hits))
        per_class = [np.mean([hits[i] for i in range(12) if q[i] == c]) for c in np.unique(q)]
        assert F.retrieval_top_k(sim, q, g, k=k, average="macro") == pytest.approx(np.mean(per_class))
    with pytest.raises(MbenchError, match="similarity matrix"):
        F.retrieval_map(sim[:, :5], q, g)
