"""Active learning: AULC and per-budget tests across seeds."""

from __future__ import annotations

import numpy as np
import pytest
from statsmodels.stats.multitest import multipletests

from mbench.errors import MbenchError
from mbench.results.summary import _aulc
from mbench.stats import LearningCurve, aulc, compare_learning_curves, run_test


def test_aulc_is_the_normalised_trapezoid_of_the_results_summary():
    rng = np.random.default_rng(0)
    for _ in range(50):
        x = np.cumsum(rng.integers(1, 100, 6))
        y = rng.random(6)
        assert aulc(x, y) == pytest.approx(_aulc(list(zip(x.tolist(), y.tolist()))))
        assert aulc(x, y, normalise=False) == pytest.approx(np.trapezoid(y, x))
    assert np.isnan(aulc([1, 2, 3], [0.1, np.nan, 0.3]))
    with pytest.raises(MbenchError, match="increase"):
        aulc([2, 1], [0.1, 0.2])


def _curves(n_seeds: int = 4) -> list[LearningCurve]:
    rng = np.random.default_rng(1)
    sizes = (200, 300, 400, 500)
    out = []
    for k, model in enumerate(("mvaal", "vaal", "random")):
        values = np.array([[0.6 + 0.05 * i + 0.01 * (2 - k) + rng.normal(0, 0.005) for i in range(4)]
                           for _ in range(n_seeds)])
        out.append(LearningCurve(model, sizes, tuple(range(n_seeds)), values, metric="dice"))
    return out


def test_per_budget_tests_are_paired_on_seeds_and_corrected_over_all_budgets():
    curves = _curves()
    cmp = compare_learning_curves(curves, n_boot=50)
    assert cmp.budgets == (200, 300, 400, 500) and cmp.family == "all"
    raw, flat = [], []
    for n in cmp.budgets:
        for r in cmp.per_budget[n].results:
            a = next(c for c in curves if c.model == r.a).at(n)
            b = next(c for c in curves if c.model == r.b).at(n)
            raw.append(run_test(list(a.values()), list(b.values()), "ttest_rel").p_value)
            flat.append(r)
            assert r.n == 4 and r.test == "ttest_rel"
    np.testing.assert_allclose([r.p_value for r in flat], raw, rtol=1e-12)
    np.testing.assert_allclose([r.p_adjusted for r in flat], multipletests(raw, method="holm")[1], rtol=1e-12)
    aulc_r = cmp.aulc.results[0]
    areas = [c.aulc() for c in curves[:2]]
    assert aulc_r.p_value == pytest.approx(run_test(areas[0], areas[1], "ttest_rel").p_value)
    per_budget = compare_learning_curves(curves, family="budget", n_boot=0)
    assert per_budget.per_budget[200].results[0].p_adjusted <= cmp.per_budget[200].results[0].p_adjusted


def test_wilcoxon_across_three_seeds_warns_it_cannot_reach_significance():
    cmp = compare_learning_curves(_curves(3), test="wilcoxon", n_boot=0)
    r = cmp.per_budget[500].results[0]
    assert r.min_p == pytest.approx(0.25) and any("cannot reach p < 0.05" in w for w in r.warnings)


def test_budgets_and_seeds_must_match():
    a, b = _curves()[:2]
    short = LearningCurve("short", (200, 300), (0, 1, 2, 3), b.values[:, :2])
    cmp = compare_learning_curves([a, short], n_boot=0)
    assert cmp.budgets == (200, 300) and "not shared" in cmp.notes[0]
    other_seeds = LearningCurve("other", a.n_labelled, (5, 6, 7, 8), b.values)
    with pytest.raises(MbenchError, match="different cases"):
        compare_learning_curves([a, other_seeds], n_boot=0)
    with pytest.raises(MbenchError, match="no labelled-set size"):
        compare_learning_curves([a, LearningCurve("x", (7, 8), (0,), np.ones((1, 2)))])
    gap = LearningCurve.from_points("m", {(0, 10): 0.5, (0, 20): 0.7, (1, 10): 0.6})  # seed 1 lacks a point
    assert gap.aulc()[0] == pytest.approx(0.6) and np.isnan(gap.aulc()[1]) and gap.at(20) == {0: 0.7}
