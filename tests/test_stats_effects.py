"""Effect sizes against direct computations (ranks from scipy, brute-force pair counts)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from mbench.errors import MbenchError
from mbench.stats import mean_difference, rank_biserial_paired, rank_biserial_unpaired


def test_paired_rank_biserial_is_kerby_formula():
    rng = np.random.default_rng(0)
    for seed in range(60):
        n = int(rng.integers(2, 30))
        x = rng.integers(0, 6, n) / 5 if seed % 2 else rng.normal(size=n)
        y = rng.integers(0, 6, n) / 5 if seed % 2 else rng.normal(size=n)
        d = x - y
        nz = d[d != 0]
        if nz.size == 0:
            assert rank_biserial_paired(x, y).value == 0.0
            continue
        r = stats.rankdata(np.abs(nz))
        expected = (r[nz > 0].sum() - r[nz < 0].sum()) / r.sum()
        assert rank_biserial_paired(x, y).value == pytest.approx(expected)
    assert rank_biserial_paired([2, 3, 4], [1, 1, 1]).value == 1.0


def test_unpaired_rank_biserial_is_dominance():
    rng = np.random.default_rng(1)
    for _ in range(60):
        x, y = rng.integers(0, 5, int(rng.integers(1, 12))), rng.integers(0, 5, int(rng.integers(1, 12)))
        diff = np.sign(x[:, None] - y[None, :])
        assert rank_biserial_unpaired(x, y).value == pytest.approx(diff.mean())


def test_intervals():
    rng = np.random.default_rng(2)
    x = rng.normal(0.8, 0.05, 80)
    y = x - 0.03 + rng.normal(0, 0.01, 80)
    md = mean_difference(x, y, n_boot=1000, seed=0)
    assert md.value == pytest.approx(np.mean(x - y)) and md.ci[0] < 0.03 < md.ci[1]
    unpaired = mean_difference(x, y, paired=False, n_boot=1000, seed=0)
    assert unpaired.value == pytest.approx(md.value)
    assert unpaired.ci[1] - unpaired.ci[0] > md.ci[1] - md.ci[0]  # pairing removes the shared case variance
    rb = rank_biserial_paired(x, y, n_boot=500)
    assert rb.ci is not None and rb.ci[0] <= rb.value <= rb.ci[1]
    rbu = rank_biserial_unpaired(x, y, n_boot=500)
    assert rbu.ci[0] <= rbu.value <= rbu.ci[1]
    assert mean_difference(x, y, n_boot=0).ci is None


def test_effect_input_errors():
    with pytest.raises(MbenchError, match="equal length"):
        mean_difference([1.0, 2.0], [1.0])
    with pytest.raises(MbenchError, match="NaN"):
        rank_biserial_paired([1.0, np.nan], [1.0, 2.0])
