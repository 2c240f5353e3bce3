"""Bootstrap: vectorised resampling equals a per-resample loop; resample-aware tests equal scipy on resamples."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from mbench.errors import MbenchError
from mbench.stats import ConfidenceInterval, bootstrap_ci, bootstrap_counts, bootstrap_indices
from mbench.stats.batched import (
    ttest_rel_onesided_pairs,
    ttest_rel_pvalues_batch,
    wilcoxon_onesided_pairs,
    wilcoxon_pvalues_batch,
    wilcoxon_sums_batch,
)
from mbench.stats.bootstrap import resampled_statistic


def test_indices_and_counts_describe_the_same_resamples():
    idx = bootstrap_indices(37, n_boot=200, seed=3)
    counts = bootstrap_counts(37, n_boot=200, seed=3)
    assert idx.shape == counts.shape == (200, 37)
    for row, c in zip(idx, counts):
        np.testing.assert_array_equal(np.bincount(row, minlength=37), c)
    np.testing.assert_array_equal(bootstrap_indices(37, 200, seed=3), idx)  # deterministic
    assert not np.array_equal(bootstrap_indices(37, 200, seed=4), idx)


@pytest.mark.parametrize("statistic", ["mean", "median"])
def test_resampled_statistic_equals_a_loop(statistic, monkeypatch):
    rng = np.random.default_rng(0)
    values = rng.normal(size=(53, 4))
    idx = bootstrap_indices(53, 300, seed=1)
    fn = np.mean if statistic == "mean" else np.median
    expected = np.array([[fn(values[row, j]) for j in range(4)] for row in idx])
    np.testing.assert_allclose(resampled_statistic(values, statistic, idx), expected, rtol=1e-12)
    # chunked medians (memory bound) give the same answer
    monkeypatch.setattr("mbench.stats.bootstrap._CHUNK_ELEMENTS", 1000)
    np.testing.assert_allclose(resampled_statistic(values, statistic, idx), expected, rtol=1e-12)


def test_bootstrap_ci_is_the_percentile_interval_of_the_resamples():
    rng = np.random.default_rng(5)
    v = rng.gamma(2.0, size=41)
    ci = bootstrap_ci(v, "median", n_boot=500, confidence=0.9, seed=7)
    idx = bootstrap_indices(41, 500, seed=7)
    boot = np.median(v[idx], axis=1)
    assert isinstance(ci, ConfidenceInterval)
    assert (ci.low, ci.high) == pytest.approx(tuple(np.quantile(boot, [0.05, 0.95])))
    assert ci.estimate == pytest.approx(np.median(v)) and ci.statistic == "median" and ci.n_boot == 500
    per_column = bootstrap_ci(np.column_stack([v, v + 1]), "mean", n_boot=500, seed=7)
    assert per_column[1].estimate == pytest.approx(per_column[0].estimate + 1)
    assert per_column[1].low == pytest.approx(per_column[0].low + 1)  # same resampled cases for every column


def test_bootstrap_ci_coverage_is_about_nominal():
    rng = np.random.default_rng(11)
    hits = 0
    for _ in range(200):
        ci = bootstrap_ci(rng.normal(0.7, 0.1, 60), "mean", n_boot=400, seed=rng)
        hits += ci.low <= 0.7 <= ci.high
    assert 0.88 <= hits / 200 <= 0.99


def test_bootstrap_ci_refuses_nan_and_empty():
    with pytest.raises(MbenchError, match="NaN"):
        bootstrap_ci([0.5, float("nan")])
    with pytest.raises(MbenchError, match="non-empty"):
        bootstrap_ci([])
    with pytest.raises(MbenchError, match="statistic"):
        bootstrap_ci([1.0, 2.0], "mode")


def _differences(seed: int, n: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if seed % 3 == 0:
        return rng.normal(0.02, 0.1, n)
    if seed % 3 == 1:
        return rng.integers(-3, 4, n) / 4  # ties and zeros
    d = rng.normal(0.0, 0.1, n)
    d[rng.random(n) < 0.3] = 0.0
    return d


@pytest.mark.parametrize("alternative", ["two-sided", "greater", "less"])
def test_batched_wilcoxon_equals_scipy_on_every_resample(alternative):
    for seed in range(12):
        n = (5, 12, 40)[seed % 3]
        d = _differences(seed, n)
        idx = bootstrap_indices(n, 60, seed=seed)
        got = wilcoxon_pvalues_batch(d, bootstrap_counts(n, indices=idx), alternative)
        resampled = d[idx]
        live = np.any(resampled != 0, axis=1)
        ref = stats.wilcoxon(resampled[live], axis=1, zero_method="wilcox", correction=True, method="asymptotic",
                             alternative=alternative).pvalue
        np.testing.assert_allclose(got[live], ref, rtol=1e-9, atol=1e-15)
        assert np.isnan(got[~live]).all()


def test_batched_signed_rank_sums_equal_rankdata():
    for seed in range(20):
        d = _differences(seed, 15)
        idx = bootstrap_indices(15, 30, seed=seed)
        tp, tm, m, _ = wilcoxon_sums_batch(d, bootstrap_counts(15, indices=idx))
        for b, row in enumerate(d[idx]):
            nz = row[row != 0]
            r = stats.rankdata(np.abs(nz))
            assert tp[b] == pytest.approx(r[nz > 0].sum()) and tm[b] == pytest.approx(r[nz < 0].sum())
            assert m[b] == nz.size


@pytest.mark.parametrize("alternative", ["two-sided", "greater", "less"])
def test_batched_paired_t_equals_scipy_on_every_resample(alternative):
    for seed in range(9):
        d = _differences(seed * 3, 25)  # continuous differences
        idx = bootstrap_indices(25, 80, seed=seed)
        got = ttest_rel_pvalues_batch(d, bootstrap_counts(25, indices=idx), alternative)
        ref = stats.ttest_1samp(d[idx], 0.0, axis=1, alternative=alternative).pvalue
        np.testing.assert_allclose(got, ref, rtol=1e-8)
    assert np.isnan(ttest_rel_pvalues_batch(np.array([0.1, 0.1, 0.1]), np.ones((1, 3))))[0]


def test_all_pairs_at_once_equal_scipy_per_pair_and_resample():
    rng = np.random.default_rng(8)
    n = 18
    cols = [_differences(s, n) for s in range(6)] + [np.zeros(n)]  # continuous, tied, zero-heavy, all-zero
    d = np.column_stack(cols)
    idx = bootstrap_indices(n, 25, seed=rng)
    counts = bootstrap_counts(n, indices=idx)
    wg, wl = wilcoxon_onesided_pairs(d, counts)
    tg, tl = ttest_rel_onesided_pairs(d, counts)
    assert wg.shape == (25, 7) and np.isnan(wg[:, -1]).all() and np.isnan(tg[:, -1]).all()
    for j in range(6):
        res = d[idx, j]
        live = np.any(res != 0, axis=1)
        for alt, got in (("greater", wg[:, j]), ("less", wl[:, j])):
            ref = stats.wilcoxon(res[live], axis=1, correction=True, method="asymptotic", alternative=alt).pvalue
            np.testing.assert_allclose(got[live], ref, rtol=1e-9, atol=1e-15)
        spread = res.std(axis=1) > 1e-9
        for alt, got in (("greater", tg[:, j]), ("less", tl[:, j])):
            ref = stats.ttest_1samp(res[spread], 0.0, axis=1, alternative=alt).pvalue
            np.testing.assert_allclose(got[spread], ref, rtol=1e-8)
