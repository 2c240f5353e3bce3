"""The foundation's metrics against independent references (sklearn, scipy)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.distance import dice as scipy_dice_dissimilarity
from sklearn.metrics import average_precision_score, f1_score

from mbench.errors import MbenchError
from mbench.metrics import functional as F
from mbench.metrics import get_metric


@pytest.mark.parametrize("seed", range(20))
def test_dice_matches_sklearn_and_scipy(seed):
    rng = np.random.default_rng(seed)
    shape = [(16, 16), (5, 6, 7), (100,)][seed % 3]
    p, r = rng.random(shape) < rng.random(), rng.random(shape) < rng.random()
    if not (p.any() or r.any()):
        r.flat[0] = True
    expected = f1_score(r.ravel(), p.ravel(), zero_division=0.0)
    assert F.dice(p, r) == pytest.approx(expected, abs=1e-12)
    assert F.dice(p, r) == pytest.approx(1 - scipy_dice_dissimilarity(p.ravel(), r.ravel()), abs=1e-12)
    assert isinstance(F.dice(p, r), float)


def test_dice_edge_cases():
    z = np.zeros((4, 4), bool)
    one = z.copy()
    one[1, 1] = True
    assert F.dice(z, z) == 1.0 and np.isnan(F.dice(z, z, both_empty=float("nan")))
    assert F.dice(one, z) == 0.0 and F.dice(z, one) == 0.0 and F.dice(one, one) == 1.0
    with pytest.raises(MbenchError, match="shape"):
        F.dice(np.zeros(3), np.zeros(4))


@pytest.mark.parametrize("seed", range(30))
def test_average_precision_matches_sklearn_with_ties(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 60))
    scores = rng.integers(0, 6, n) / 5  # many ties
    targets = rng.integers(0, 2, n)
    if targets.sum() == 0:
        targets[0] = 1
    assert F.average_precision(scores, targets) == pytest.approx(average_precision_score(targets, scores), abs=1e-12)


def test_macro_map_matches_sklearn_and_skips_labels_without_positives():
    rng = np.random.default_rng(3)
    scores, targets = rng.random((50, 3)), (rng.random((50, 3)) < 0.4).astype(int)
    assert F.mean_average_precision(scores, targets) == pytest.approx(
        average_precision_score(targets, scores, average="macro"))
    targets[:, 2] = 0
    expected = average_precision_score(targets[:, :2], scores[:, :2], average="macro")
    assert F.mean_average_precision(scores, targets) == pytest.approx(expected)
    assert np.isnan(F.mean_average_precision(scores, np.zeros_like(targets)))


def test_registry_declares_conventions():
    dice, m = get_metric("dice"), get_metric("map_macro")
    assert dice.level == "case" and m.level == "dataset"
    assert dice.higher_is_better and dice.bounds == (0.0, 1.0) and dice.worst == 0.0
    assert "empty" in dice.empty_policy
