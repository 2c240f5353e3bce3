"""Pairing on case ids, the score matrix, and pairwise comparisons (checked against run_test + statsmodels)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from statsmodels.stats.multitest import multipletests

from mbench.errors import MbenchError
from mbench.stats import (
    ScoreMatrix,
    compare_models,
    compare_pair,
    pair_scores,
    rank_biserial_paired,
    run_test,
)


def test_pairing_refuses_differing_coverage_unless_asked():
    a = {"c1": 0.9, "c2": 0.8, "c3": 0.7}
    b = {"c2": 0.6, "c1": 0.5, "c4": 0.4}
    with pytest.raises(MbenchError) as err:
        pair_scores(a, b, names=("mvaal", "vaal"))
    text = str(err.value)
    assert "1 case(s) only in mvaal (c3)" in text and "1 case(s) only in vaal (c4)" in text
    assert "--intersection" in text
    p = pair_scores(a, b, intersection=True, names=("mvaal", "vaal"))
    assert p.cases == ("c1", "c2") and p.x.tolist() == [0.9, 0.8] and p.y.tolist() == [0.5, 0.6]
    assert "intersection of case ids used" in p.notes(("mvaal", "vaal"))[0]


def test_nan_scores_are_left_out_and_counted():
    p = pair_scores({"c1": 0.9, "c2": float("nan"), "c3": 0.5}, {"c1": 0.1, "c2": 0.2, "c3": 0.3})
    assert p.n == 2 and p.n_nan == 1 and "1 case(s) with a NaN score" in p.notes()[0]
    with pytest.raises(MbenchError, match="no case has scores for both"):
        pair_scores({"c1": float("nan")}, {"c1": 0.2})


def test_score_matrix_fill_worst_counts_missing_and_nan():
    m = ScoreMatrix.from_scores({"a": {"c1": 1.0, "c2": float("nan"), "c3": 2.0}, "b": {"c1": 3.0}},
                                metric="hd95", higher_is_better=False, worst=100.0)
    assert m.n_missing() == {"a": 0, "b": 2} and m.n_nan() == {"a": 1, "b": 0}
    f = m.fill_worst()
    assert f.n_filled == {"a": 1, "b": 2} and f.present.all()
    assert f.column("b").tolist() == [3.0, 100.0, 100.0] and f.column("a").tolist() == [1.0, 100.0, 2.0]
    with pytest.raises(MbenchError, match="no worst value"):
        ScoreMatrix.from_scores({"a": {"c1": 1.0}, "b": {"c2": 1.0}}).fill_worst()
    with pytest.raises(MbenchError, match="duplicate model"):
        ScoreMatrix(np.zeros((1, 2)), ("c1",), ("a", "a"))
    assert ScoreMatrix.for_metric({"a": {"x": 0.5}}, "dice").higher_is_better is True


def _matrix(seed: int, n: int, k: int) -> ScoreMatrix:
    rng = np.random.default_rng(seed)
    base = rng.uniform(0.5, 0.9, n)
    cols = {f"m{j}": np.clip(base + 0.02 * j + rng.normal(0, 0.03, n), 0, 1) for j in range(k)}
    if seed % 2:
        cols = {m: np.round(v, 1) for m, v in cols.items()}  # ties and zero differences
    return ScoreMatrix.from_columns(cols, metric="dice", higher_is_better=True, worst=0.0)


@pytest.mark.parametrize("test", ["wilcoxon", "ttest_rel", "welch", "mannwhitney"])
@pytest.mark.parametrize("correction", ["holm", "bh", "none"])
def test_compare_models_equals_run_test_and_statsmodels(test, correction):
    m = _matrix(3 if test == "wilcoxon" else 4, 30, 4)
    table = compare_models(m, test=test, correction=correction, n_boot=50)
    pairs = list(itertools.combinations(m.models, 2))
    assert [(r.a, r.b) for r in table.results] == pairs
    raw = [run_test(m.column(a), m.column(b), test).p_value for a, b in pairs]
    np.testing.assert_allclose([r.p_value for r in table.results], raw, rtol=1e-12)
    expected = raw if correction == "none" else multipletests(raw, method={"holm": "holm", "bh": "fdr_bh"}[correction])[1]
    np.testing.assert_allclose([r.p_adjusted for r in table.results], expected, rtol=1e-12)
    assert all(r.correction == correction for r in table.results)
    if test == "wilcoxon":
        r = table.results[0]
        assert r.effect.name == "rank_biserial"
        assert r.effect.value == pytest.approx(rank_biserial_paired(m.column("m0"), m.column("m1")).value)
    if not run_test([1, 2], [3, 4], test).test.startswith(("wilcoxon", "ttest_rel")):
        assert any("independent" in w for w in table.results[0].warnings)


def test_small_n_warns_that_significance_is_unreachable():
    m = ScoreMatrix.from_columns({"a": [5, 6, 7, 8, 9], "b": [1, 2, 3, 4, 5]}, metric="dice")
    r = compare_models(m, n_boot=20).results[0]
    assert r.p_value == pytest.approx(0.0625) and r.min_p == pytest.approx(0.0625) and not r.significant
    assert "cannot reach p < 0.05" in r.warnings[0]
    # three models, n = 6: each raw p can reach 2/64 < 0.05, but holm over 3 pairs needs p < 0.0167
    m3 = ScoreMatrix.from_columns({"a": np.arange(6) + 10.0, "b": np.arange(6) * 1.5, "c": np.arange(6) * 0.5})
    t = compare_models(m3, n_boot=20)
    assert t.warnings and "no difference can be significant" in t.warnings[0]


def test_direction_follows_metric_orientation():
    lower = ScoreMatrix.from_columns({"a": np.linspace(1, 2, 12), "b": np.linspace(3, 5, 12)}, metric="hd95",
                                     higher_is_better=False)
    r = compare_models(lower, n_boot=20).results[0]
    assert r.significant and r.better == "a" and r.mean_difference < 0
    r2 = compare_pair(np.linspace(3, 5, 12), np.linspace(1, 2, 12), names=("x", "y"), n_boot=20)
    assert r2.better == "x" and r2.ci[0] > 0


def test_compare_models_refuses_differing_coverage():
    m = ScoreMatrix.from_scores({"a": {f"c{i}": 0.5 + i / 100 for i in range(10)},
                                 "b": {f"c{i}": 0.4 + i / 90 for i in range(8)}}, metric="dice", worst=0.0)
    with pytest.raises(MbenchError, match="different cases"):
        compare_models(m)
    t = compare_models(m, intersection=True, n_boot=20)
    assert t.results[0].n == 8 and "intersection" in t.results[0].warnings[0]
    assert [s.n_missing for s in t.summaries] == [0, 2]
    filled = compare_models(m.fill_worst(), n_boot=20)  # explicit worst-case fill: all 10 cases, fill reported
    assert filled.results[0].n == 10 and "b: 2 case(s) filled with the worst value 0" in filled.results[0].warnings
    assert [s.n_filled for s in filled.summaries] == [0, 2]


def test_unpaired_subgroups_with_compare_pair():
    rng = np.random.default_rng(4)
    cortical, subcortical = rng.normal(0.8, 0.05, 25), rng.normal(0.7, 0.05, 18)
    r = compare_pair(cortical, subcortical, "mannwhitney", names=("cortical", "subcortical"), n_boot=100)
    assert r.n == 43 and r.effect.name == "rank_biserial" and r.better == "cortical"
    d = r.to_dict()
    assert d["significant"] is True and d["better"] == "cortical" and d["effect"]["name"] == "rank_biserial"
