"""Ranking schemes (challengeR's definitions) on worked examples with pinned results, significance maps checked
against scipy + statsmodels, and bootstrap rank stability checked against ranking each resample explicitly."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests

from mbench.errors import MbenchError
from mbench.stats import (
    RANKING_SCHEMES,
    ScoreMatrix,
    aggregate_then_rank,
    bootstrap_ranking,
    kendall_tau,
    rank_models,
    rank_then_aggregate,
    significance_map,
    test_then_rank,
)
from mbench.stats.bootstrap import bootstrap_indices

# Worked example: 4 models x 5 cases, Dice-like (higher is better, worst 0); model A has no score for c5.
# Values are multiples of 1/4, so aggregates tie exactly where the arithmetic says they do.
WORKED = {
    "A": {"c1": 1.0, "c2": 0.75, "c3": 0.75, "c4": 0.5},
    "B": {"c1": 0.75, "c2": 0.75, "c3": 0.75, "c4": 0.75, "c5": 0.75},
    "C": {"c1": 0.5, "c2": 1.0, "c3": 0.5, "c4": 1.0, "c5": 0.5},
    "D": {"c1": 0.25, "c2": 0.5, "c3": 1.0, "c4": 0.75, "c5": 1.0},
}


def _worked(lower_is_better: bool = False) -> ScoreMatrix:
    if lower_is_better:  # the same example as an error (10 x (1 - score)), lower is better, worst 10
        data = {m: {c: 10 * (1 - v) for c, v in s.items()} for m, s in WORKED.items()}
        return ScoreMatrix.from_scores(data, metric="error", higher_is_better=False, worst=10.0)
    return ScoreMatrix.from_scores(WORKED, metric="dice", higher_is_better=True, worst=0.0)


@pytest.mark.parametrize("lower", [False, True])
def test_aggregate_then_rank_worked_example(lower):
    # A filled: 1, .75, .75, .5, 0 -> mean .6, median .75; B .75/.75; C mean .7, median .5; D mean .7, median .75
    r = aggregate_then_rank(_worked(lower))
    assert r.ranks.tolist() == [4, 1, 2, 2]  # C and D tie at mean 0.7 and share rank 2 (ties: min)
    assert r.n_filled == {"A": 1, "B": 0, "C": 0, "D": 0}
    if not lower:
        assert r.scores.tolist() == pytest.approx([0.6, 0.75, 0.7, 0.7])
    assert aggregate_then_rank(_worked(lower), "median").ranks.tolist() == [1, 1, 4, 1]


@pytest.mark.parametrize("lower", [False, True])
def test_rank_then_aggregate_worked_example(lower):
    # per-case ranks (ties: min): A 1,2,2,4,4  B 2,2,2,2,2  C 3,1,4,1,3  D 4,4,1,2,1
    r = rank_then_aggregate(_worked(lower))
    assert r.scores.tolist() == pytest.approx([2.6, 2.0, 2.4, 2.4])
    assert r.ranks.tolist() == [4, 1, 2, 2]
    med = rank_then_aggregate(_worked(lower), "median")
    assert med.scores.tolist() == [2.0, 2.0, 3.0, 2.0] and med.ranks.tolist() == [1, 1, 4, 1]
    assert r.order() == ["B", "C", "D", "A"]


def test_test_then_rank_challenger_examples():
    # challengeR's test-testThenRank.R: A1 = 0.2 and A2 = 1.0 on four cases, small values better. The
    # one-sided normal-approximation Wilcoxon test gives p = 0.0359 (z = (10 - 5 - 0.5) / 2.5); challengeR
    # (no correction) ranks A1 first.
    m = ScoreMatrix.from_columns({"A1": [0.2] * 4, "A2": [1.0] * 4}, metric="error", higher_is_better=False,
                                 worst=100.0)
    none = test_then_rank(m, correction="none")
    assert none.scores.tolist() == [1.0, 0.0] and none.ranks.tolist() == [1, 2]
    sig = significance_map(m, correction="none")
    assert sig.p_values[0, 1] == pytest.approx(stats.norm.sf(1.8)) and sig.p_values[0, 1] == pytest.approx(0.0359, abs=1e-4)
    # Holm over the 2 ordered pairs doubles it: 0.0719 > 0.05, so mbench's default ties them
    holm = test_then_rank(m)
    assert holm.scores.tolist() == [0.0, 0.0] and holm.ranks.tolist() == [1, 1]
    assert not none.warnings and "no pair can be significant" in holm.warnings[0]  # best one-sided p 0.0359 > 0.025
    # two cases can never differ significantly: both rank 1 (challengeR's "ties method" example)
    two = ScoreMatrix.from_columns({"A1": [0.6, 0.6], "A2": [0.8, 0.8]}, higher_is_better=False, worst=100.0)
    assert test_then_rank(two, correction="none").ranks.tolist() == [1, 1]
    # a missing case filled with the worst value (challengeR's na.treat = 100) removes the difference
    missing = ScoreMatrix.from_scores({"A1": {"C2": 0.2, "C3": 0.2, "C4": 0.2},
                                       "A2": {"C1": 1.0, "C2": 1.0, "C3": 1.0, "C4": 1.0}},
                                      higher_is_better=False, worst=100.0)
    r = test_then_rank(missing, correction="none")
    assert r.ranks.tolist() == [1, 1] and r.n_filled == {"A1": 1, "A2": 0}


def test_test_then_rank_worked_example():
    # pinned: every one-sided p on the 4 x 5 example exceeds 0.05, so all models tie
    r = test_then_rank(_worked(), correction="none")
    assert r.scores.tolist() == [0.0, 0.0, 0.0, 0.0] and r.ranks.tolist() == [1, 1, 1, 1]
    # a clear ordering on 30 cases: shares 1, 2/3, 1/3, 0 -> ranks 1..4
    base = np.linspace(0.5, 0.8, 30)
    m = ScoreMatrix.from_columns({"w": base - 0.2, "x": base, "y": base + 0.1, "z": base - 0.1})
    r = test_then_rank(m)
    assert r.scores.tolist() == pytest.approx([0.0, 2 / 3, 1.0, 1 / 3]) and r.ranks.tolist() == [4, 2, 1, 3]


@pytest.mark.parametrize("test", ["wilcoxon", "ttest_rel"])
def test_significance_map_equals_scipy_and_statsmodels(test):
    rng = np.random.default_rng(3)
    n, k = 25, 5
    base = rng.uniform(0.5, 0.9, n)
    cols = {f"m{j}": np.round(base + 0.03 * j + rng.normal(0, 0.04, n), 2) for j in range(k)}
    cols["m4"] = cols["m3"].copy()  # identical models: p undefined, never significant
    m = ScoreMatrix.from_columns(cols, worst=0.0)
    sig = significance_map(m, test=test)
    expected = np.full((k, k), np.nan)
    for i in range(k):
        for j in range(k):
            d = m.values[:, i] - m.values[:, j]
            if i == j or not np.any(d):
                continue
            if test == "wilcoxon":
                expected[i, j] = stats.wilcoxon(d, alternative="greater", correction=True, method="asymptotic").pvalue
            else:
                expected[i, j] = stats.ttest_rel(m.values[:, i], m.values[:, j], alternative="greater").pvalue
    np.testing.assert_allclose(sig.p_values, expected, rtol=1e-10, equal_nan=True)
    off = ~np.eye(k, dtype=bool) & ~np.isnan(expected)
    adj = np.full((k, k), np.nan)
    adj[off] = multipletests(expected[off], method="holm")[1]
    np.testing.assert_allclose(sig.p_adjusted, adj, rtol=1e-10, equal_nan=True)
    assert (sig.significant == (np.nan_to_num(adj, nan=1) < 0.05)).all()
    assert not sig.significant[3, 4] and not sig.significant[4, 3]
    wins = sig.wins()
    ranking = test_then_rank(m, test=test)
    assert [wins[mm] / (k - 1) for mm in m.models] == pytest.approx(ranking.scores.tolist())
    reordered = sig.reorder(ranking.order())
    assert reordered.models == tuple(ranking.order())
    json.dumps(sig.to_dict())


def test_kendall_tau_matches_scipy_tau_b():
    rng = np.random.default_rng(0)
    ref = rng.integers(1, 6, 8)
    many = rng.integers(1, 6, (200, 8))
    got = kendall_tau(ref, many)
    for row, g in zip(many, got):
        expected = stats.kendalltau(ref, row).statistic
        assert (np.isnan(g) and np.isnan(expected)) or g == pytest.approx(expected)
    assert np.isnan(kendall_tau(np.ones(4), np.arange(4)))


def _random_matrix(seed: int, n: int = 40, k: int = 5) -> ScoreMatrix:
    rng = np.random.default_rng(seed)
    base = rng.uniform(0.4, 0.9, n)
    cols = {f"m{j}": np.clip(base + 0.02 * j + rng.normal(0, 0.05, n), 0, 1) for j in range(k)}
    cols["m1"][:3] = np.nan  # three missing cases: filled with the worst value in every resample
    return ScoreMatrix.from_columns(cols, metric="dice", worst=0.0)


@pytest.mark.parametrize("scheme,options", [
    ("aggregate_then_rank", {"aggregate": "mean"}), ("aggregate_then_rank", {"aggregate": "median"}),
    ("rank_then_aggregate", {"aggregate": "mean"}), ("test_then_rank", {"correction": "bh"}),
    ("test_then_rank", {"test": "ttest_rel", "correction": "none"}),
])
def test_bootstrap_ranking_equals_ranking_each_resample(scheme, options):
    m = _random_matrix(1)
    st = bootstrap_ranking(m, scheme, n_boot=40, seed=5, **options)
    filled = m.fill_worst()
    idx = bootstrap_indices(filled.shape[0], 40, seed=5)
    for b in range(40):
        resample = ScoreMatrix(filled.values[idx[b]], tuple(f"r{i}" for i in range(filled.shape[0])), filled.models,
                               worst=0.0)
        expected = rank_models(resample, scheme, **options)
        np.testing.assert_array_equal(st.boot_ranks[b], expected.ranks)
        np.testing.assert_allclose(st.boot_scores[b], expected.scores, rtol=1e-10)
    assert st.ranking.n_filled["m1"] == 3
    np.testing.assert_allclose(st.kendall_tau, [stats.kendalltau(st.ranking.ranks, r).statistic
                                                for r in st.boot_ranks])


def test_rank_stability_summaries():
    st = bootstrap_ranking(_random_matrix(2, n=60, k=4), n_boot=300, seed=0)
    counts = st.rank_counts()
    assert counts.sum() == 300 * 4 and (counts.sum(axis=1) == 300).all()
    freq = st.rank_frequencies()
    assert set(freq) == set(st.models) and all(abs(sum(v) - 1) < 1e-12 for v in freq.values())
    assert st.winner_frequency()[st.ranking.order()[0]] > 0.5
    summary = st.tau_summary()
    assert -1 <= summary["q025"] <= summary["median"] <= 1 and summary["n_undefined"] == 0
    json.dumps(st.to_dict())


def test_bootstrap_speed_sanity_20_models_500_cases():
    # vectorised: no Python loop per resample (timings in benchmarks/stats_ranking.py; no timed assertion here)
    rng = np.random.default_rng(0)
    base = rng.uniform(0.5, 0.9, 500)
    m = ScoreMatrix.from_columns({f"m{j:02d}": base + 0.004 * j + rng.normal(0, 0.05, 500) for j in range(20)})
    st = bootstrap_ranking(m, "aggregate_then_rank", n_boot=1000)
    assert st.boot_ranks.shape == (1000, 20) and st.ranking.order()[0] == "m19"


def test_ranking_errors():
    m = _worked()
    with pytest.raises(MbenchError, match="did you mean"):
        rank_models(m, "aggregate_then_rnk")
    with pytest.raises(MbenchError, match="aggregate"):
        aggregate_then_rank(m, "mode")
    with pytest.raises(MbenchError, match="not available"):
        significance_map(m, test="welch")
    with pytest.raises(MbenchError, match="no worst value"):
        aggregate_then_rank(ScoreMatrix.from_scores({"a": {"x": 1.0}, "b": {"y": 1.0}}))
    assert set(RANKING_SCHEMES) == {"aggregate_then_rank", "rank_then_aggregate", "test_then_rank"}
