"""Timings of mbench.stats at leaderboard scale: 20 models x 500 cases x 1000 bootstrap resamples.

Run: ``python benchmarks/stats_ranking.py [--models 20 --cases 500 --boot 1000 --repeat 3]``. Prints the best
of ``--repeat`` wall-clock times per step. Not a test: nothing is asserted (timings depend on the machine).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np

from mbench.stats import (
    ScoreMatrix,
    bootstrap_ci,
    bootstrap_ranking,
    compare_models,
    rank_models,
    significance_map,
)


def _matrix(models: int, cases: int, seed: int = 0) -> ScoreMatrix:
    rng = np.random.default_rng(seed)
    base = rng.uniform(0.5, 0.9, cases)
    cols = {f"m{j:02d}": np.clip(base + 0.004 * j + rng.normal(0, 0.05, cases), 0, 1) for j in range(models)}
    cols["m00"][: cases // 50] = np.nan  # some missing cases, filled with the worst value
    return ScoreMatrix.from_columns(cols, metric="dice", higher_is_better=True, worst=0.0)


def _best(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", type=int, default=20)
    parser.add_argument("--cases", type=int, default=500)
    parser.add_argument("--boot", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    m = _matrix(args.models, args.cases)
    filled = m.fill_worst()
    k, n, b, r = args.models, args.cases, args.boot, args.repeat
    steps: list[tuple[str, Callable[[], object]]] = [
        ("bootstrap CI of the mean, every model", lambda: bootstrap_ci(filled.values, "mean", n_boot=b)),
        ("bootstrap CI of the median, every model", lambda: bootstrap_ci(filled.values, "median", n_boot=b)),
        ("aggregate-then-rank (mean)", lambda: rank_models(m, "aggregate_then_rank")),
        ("test-then-rank (Wilcoxon, Holm)", lambda: rank_models(m, "test_then_rank")),
        ("significance map (Wilcoxon, Holm)", lambda: significance_map(m)),
        (f"rank stability, aggregate-then-rank mean, {b} resamples",
         lambda: bootstrap_ranking(m, "aggregate_then_rank", n_boot=b)),
        (f"rank stability, aggregate-then-rank median, {b} resamples",
         lambda: bootstrap_ranking(m, "aggregate_then_rank", n_boot=b, aggregate="median")),
        (f"rank stability, rank-then-aggregate mean, {b} resamples",
         lambda: bootstrap_ranking(m, "rank_then_aggregate", n_boot=b)),
        (f"rank stability, test-then-rank Wilcoxon, {b} resamples",
         lambda: bootstrap_ranking(m, "test_then_rank", n_boot=b)),
        (f"rank stability, test-then-rank paired t, {b} resamples",
         lambda: bootstrap_ranking(m, "test_then_rank", n_boot=b, test="ttest_rel")),
        (f"compare_models, 5 models ({5 * 4 // 2} pairs, {b} resamples per interval)",
         lambda: compare_models(m.fill_worst().subset(list(m.models[:5])), n_boot=b)),
    ]
    print(f"{k} models x {n} cases, {b} bootstrap resamples; best of {r}")
    for name, fn in steps:
        print(f"  {_best(fn, r):8.3f} s  {name}")


if __name__ == "__main__":
    main()
