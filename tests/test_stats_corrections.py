"""Corrections against statsmodels.multipletests on many random families (ties, NaN, tiny and large p)."""

from __future__ import annotations

import numpy as np
import pytest
from statsmodels.stats.multitest import multipletests

from mbench.errors import MbenchError
from mbench.stats import CORRECTIONS, adjust_pvalues
from mbench.stats.corrections import adjust_pvalues_batch

SM = {"holm": "holm", "bonferroni": "bonferroni", "bh": "fdr_bh"}


def _family(rng: np.random.Generator, m: int) -> np.ndarray:
    kind = rng.integers(0, 3)
    if kind == 0:
        return rng.random(m)
    if kind == 1:  # ties and exact zeros / ones
        return rng.choice([0.0, 0.001, 0.01, 0.04, 0.05, 0.5, 1.0], size=m)
    return 10.0 ** -rng.uniform(0, 8, m)  # very small p-values


@pytest.mark.parametrize("method", ["holm", "bonferroni", "bh"])
def test_matches_statsmodels(method):
    rng = np.random.default_rng(0)
    for _ in range(15 if method == "holm" else 300):  # statsmodels' holm runs gc.collect() (~0.1 s) per call
        p = _family(rng, int(rng.integers(1, 40)))
        expected = multipletests(p, method=SM[method])[1]
        np.testing.assert_allclose(adjust_pvalues(p, method), expected, rtol=1e-12, atol=0)


@pytest.mark.parametrize("method", ["holm", "bonferroni", "bh"])
def test_batch_matches_statsmodels_row_by_row(method):
    rng = np.random.default_rng(1)
    for m in (1, 2, 5, 30, 380):
        p = np.vstack([_family(rng, m) for _ in range(5 if method == "holm" else 40)])
        p[rng.random(p.shape) < 0.1] = np.nan  # untestable pairs: left out of their family
        batch = adjust_pvalues_batch(p, method)
        for row, got in zip(p, batch):
            ok = ~np.isnan(row)
            assert np.array_equal(np.isnan(got), ~ok)
            if ok.any():
                np.testing.assert_allclose(got[ok], multipletests(row[ok], method=SM[method])[1], rtol=1e-12)


def test_nan_left_out_of_the_family_and_none_is_identity():
    p = np.array([0.01, np.nan, 0.02])
    np.testing.assert_allclose(adjust_pvalues(p, "bonferroni"), [0.02, np.nan, 0.04], equal_nan=True)
    np.testing.assert_array_equal(adjust_pvalues(p, "none"), p)
    assert set(CORRECTIONS) == {"holm", "bonferroni", "bh", "none"}
    np.testing.assert_allclose(adjust_pvalues([0.01, 0.02], "fdr_bh"), adjust_pvalues([0.01, 0.02], "bh"))


def test_bad_input():
    with pytest.raises(MbenchError, match="did you mean 'holm'"):
        adjust_pvalues([0.1], "hom")
    with pytest.raises(MbenchError, match=r"\[0, 1\]"):
        adjust_pvalues([1.5])
