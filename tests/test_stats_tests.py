"""mbench.stats.tests against scipy on many random inputs (ties, zeros, small n), and the min-attainable-p bound."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from mbench.errors import MbenchError
from mbench.stats import TESTS, min_attainable_p, run_test

ALTS = ("two-sided", "greater", "less")


def _sample(seed: int, n: int, n_y: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Continuous, coarse (many ties), or with exact zero differences, depending on the seed."""
    rng = np.random.default_rng(seed)
    n_y = n if n_y is None else n_y
    kind = seed % 3
    if kind == 0:
        return rng.normal(0.6, 0.1, n), rng.normal(0.55, 0.1, n_y)
    if kind == 1:
        return rng.integers(0, 5, n) / 4, rng.integers(0, 5, n_y) / 4
    x = rng.normal(0.7, 0.1, n)
    y = x.copy() if n == n_y else rng.normal(0.7, 0.1, n_y)
    flip = rng.random(n_y) < 0.6
    y[flip] = y[flip] + rng.normal(0, 0.05, flip.sum())
    return x, y


def _paired_cases() -> list[tuple[int, int]]:
    # n <= 13 with ties takes scipy's slowest branch (an exact permutation over 2^n sign patterns): kept small
    return [(seed, n) for seed in range(15) for n in (2, 3, 5, 8, 20, 60)] + [(1, 13), (2, 11)]


def test_wilcoxon_matches_scipy_auto():
    checked = set()
    for seed, n in _paired_cases():
        x, y = _sample(seed, n)
        if not np.any(x - y):
            continue
        for alternative in ALTS if n < 11 or n > 13 else ("two-sided",):
            ours = run_test(x, y, "wilcoxon", alternative=alternative)
            ref = stats.wilcoxon(x, y, zero_method="wilcox", correction=True, alternative=alternative)
            assert ours.statistic == pytest.approx(float(ref.statistic), rel=1e-12, abs=1e-12), (seed, n)
            assert ours.p_value == pytest.approx(float(ref.pvalue), rel=1e-9, abs=1e-12), (seed, n, ours.method)
            checked.add(ours.method)
    assert len(checked) == 3  # exact, exact permutation (ties or zeros) and normal approximation all exercised


@pytest.mark.parametrize("mode,method", [("exact", "exact"), ("approx", "asymptotic")])
def test_wilcoxon_forced_modes_match_scipy(mode, method):
    for seed, n in _paired_cases():
        x, y = _sample(seed, n)
        if not np.any(x - y):
            continue
        for alternative in ALTS:
            ours = run_test(x, y, "wilcoxon", alternative=alternative, mode=mode)
            ref = stats.wilcoxon(x, y, correction=True, alternative=alternative, method=method)
            assert ours.p_value == pytest.approx(float(ref.pvalue), rel=1e-9, abs=1e-12)


def test_wilcoxon_reports_which_null_distribution():
    assert run_test([5, 6, 7, 8], [1, 1, 1, 1]).method == "Wilcoxon signed-rank (exact)"
    assert "permutation" in run_test([5, 6, 7, 8], [1, 2, 3, 8]).method  # a zero difference
    assert "normal approx" in run_test(np.arange(60.0), np.arange(60.0) * 0.9 - 1).method
    assert "continuity" not in run_test(np.arange(60.0), np.arange(60.0) * 0.9 - 1, correction=False).method


@pytest.mark.filterwarnings("ignore:Precision loss occurred:RuntimeWarning")  # from the scipy reference calls
@pytest.mark.parametrize("test,ref", [
    ("ttest_rel", lambda x, y, a: stats.ttest_rel(x, y, alternative=a)),
    ("welch", lambda x, y, a: stats.ttest_ind(x, y, equal_var=False, alternative=a)),
    ("student", lambda x, y, a: stats.ttest_ind(x, y, equal_var=True, alternative=a)),
])
def test_t_tests_match_scipy(test, ref):
    for seed in range(40):
        for n in (3, 5, 10, 40):
            x, y = _sample(seed, n, n if TESTS[test].paired else n + seed % 4)
            if np.unique(np.concatenate([x, y])).size == 1 or (TESTS[test].paired and not np.any(x - y)):
                continue
            for alternative in ALTS:
                ours = run_test(x, y, test, alternative=alternative)
                r = ref(x, y, alternative)
                if math.isnan(r.pvalue):
                    assert math.isnan(ours.p_value)
                    continue
                assert ours.statistic == pytest.approx(float(r.statistic), rel=1e-12)
                assert ours.p_value == pytest.approx(float(r.pvalue), rel=1e-10, abs=1e-15)


def test_mannwhitney_matches_scipy():
    for seed in range(40):
        for n, n_y in ((3, 4), (5, 5), (8, 6), (12, 15), (40, 30)):
            x, y = _sample(seed, n, n_y)
            if np.unique(np.concatenate([x, y])).size == 1:
                continue
            for alternative in ALTS:
                ours = run_test(x, y, "mannwhitney", alternative=alternative)
                r = stats.mannwhitneyu(x, y, alternative=alternative, use_continuity=True)  # scipy's auto choice
                assert ours.statistic == pytest.approx(float(r.statistic))
                assert ours.p_value == pytest.approx(float(r.pvalue), rel=1e-10, abs=1e-15), (seed, n, ours.method)


def test_permutation_tests_match_scipy():
    def mean_diff(x, y, axis=-1):
        return np.mean(x, axis=axis) - np.mean(y, axis=axis)

    for seed in range(12):
        for n in (4, 9, 25):
            x, y = _sample(seed, n)
            if not np.any(x - y):
                continue
            for alternative in ALTS:
                ours = run_test(x, y, "permutation", alternative=alternative, n_resamples=999, seed=seed)
                ref = stats.permutation_test((x - y,), lambda d, axis=-1: np.mean(d, axis=axis), vectorized=True,
                                             permutation_type="samples", n_resamples=999, alternative=alternative,
                                             rng=np.random.default_rng(seed))
                assert ours.p_value == pytest.approx(float(ref.pvalue), rel=1e-12)
                ours_i = run_test(x, y[: n - 1], "permutation_ind", alternative=alternative, n_resamples=999,
                                  seed=seed)
                ref_i = stats.permutation_test((x, y[: n - 1]), mean_diff, vectorized=True, n_resamples=999,
                                               alternative=alternative, rng=np.random.default_rng(seed))
                assert ours_i.statistic == pytest.approx(float(ref_i.statistic))
                assert ours_i.p_value == pytest.approx(float(ref_i.pvalue), rel=1e-12)


def test_min_attainable_p_closed_forms():
    for n in range(1, 12):
        assert min_attainable_p("wilcoxon", n) == pytest.approx(min(1.0, 2.0 ** (1 - n)))
        assert min_attainable_p("wilcoxon", n, alternative="greater") == pytest.approx(2.0**-n)
        if n >= 2:
            assert min_attainable_p("permutation", n) == pytest.approx(min(1.0, 2.0 ** (1 - n)))
    for n, m in ((2, 2), (3, 3), (3, 5), (4, 4)):
        assert min_attainable_p("mannwhitney", n, m) == pytest.approx(2 / math.comb(n + m, n))
    assert min_attainable_p("ttest_rel", 2) == 0.0
    # the example: an exact two-sided Wilcoxon test with n <= 5 cannot reach p < 0.05
    assert all(min_attainable_p("wilcoxon", n) > 0.05 for n in range(1, 6))
    assert min_attainable_p("wilcoxon", 6) < 0.05


@pytest.mark.parametrize("test", ["wilcoxon", "permutation", "mannwhitney", "permutation_ind"])
def test_min_p_bounds_every_result_and_is_attained(test):
    for seed in range(12):
        for n in (2, 3, 4, 6, 9):
            x, y = _sample(seed, n, n if TESTS[test].paired else n + 1)
            if (TESTS[test].paired and not np.any(x - y)) or np.unique(np.concatenate([x, y])).size == 1:
                continue
            for alternative in ALTS:
                r = run_test(x, y, test, alternative=alternative)
                assert r.p_value >= r.min_p - 1e-12, (seed, n, alternative, r)
    # attained: the most extreme arrangement of the same values gives exactly min_p
    x, y = np.array([0.9, 0.8, 0.85, 0.7]), np.array([0.6, 0.5, 0.65, 0.4])
    r = run_test(x, y, test)
    assert run_test(x, y, test).p_value == pytest.approx(r.min_p)


def test_zero_and_tied_differences_keep_the_bound_honest():
    # 6 pairs but two zero differences: only 4 informative pairs, so p >= 2/16 whatever happens
    r = run_test([1, 2, 3, 4, 5, 6], [0, 1, 2, 3, 5, 6])
    assert r.min_p == pytest.approx(2 / 16)
    assert r.p_value == pytest.approx(2 / 16)


def test_identical_samples_give_p_one_with_a_note():
    r = run_test([0.5, 0.6, 0.7], [0.5, 0.6, 0.7], "ttest_rel")
    assert (r.p_value, r.statistic) == (1.0, 0.0) and "zero" in r.note
    assert run_test([0.5, 0.5], [0.5, 0.5, 0.5], "welch").p_value == 1.0


def test_bad_input_is_refused_clearly():
    with pytest.raises(MbenchError, match="differ in length"):
        run_test([1, 2, 3], [1, 2], "wilcoxon")
    with pytest.raises(MbenchError, match="NaN"):
        run_test([1, float("nan")], [1, 2])
    with pytest.raises(MbenchError, match="did you mean 'wilcoxon'"):
        run_test([1, 2], [2, 1], "wilcoxn")
    with pytest.raises(MbenchError, match="too few"):
        run_test([1.0], [2.0], "ttest_rel")
    with pytest.raises(MbenchError, match="unknown option"):
        run_test([1, 2], [2, 1], "ttest_rel", mode="exact")
    with pytest.raises(MbenchError, match="alternative"):
        run_test([1, 2], [2, 1], alternative="bigger")
