"""Time `mbench leaderboard build` for 20 models x 500 cases with 1,000 bootstrap resamples.

Writes synthetic runs in the results store's format (one holdout task, Dice per case; the last model
misses two cases, so the worst-value fill is exercised), builds the site and prints the timings. The
statistics (significance map, test-based ranking, its bootstrap rank stability, bootstrap intervals of
every model) are vectorised over resamples in :mod:`mbench.stats`.

Run::

    python benchmarks/leaderboard_build.py [--models 20] [--cases 500] [--resamples 1000] [--active-learning]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from mbench.leaderboard import build_site
from mbench.leaderboard.demo import write_demo_results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=20)
    parser.add_argument("--cases", type=int, default=500)
    parser.add_argument("--resamples", type=int, default=1000)
    parser.add_argument("--scheme", default="test_then_rank",
                        choices=["test_then_rank", "aggregate_then_rank", "rank_then_aggregate"])
    parser.add_argument("--active-learning", action="store_true",
                        help="also an active-learning task (3 samplers x 3 seeds x 7 rounds)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        t0 = time.perf_counter()
        config = write_demo_results(root / "results", n_cases=args.cases, holdout_models=args.models,
                                    al_models=("random", "vaal", "mvaal") if args.active_learning else (),
                                    seeds=(0, 1, 2), rounds=7, unofficial=False, resamples=args.resamples)
        config = config.model_copy(update={"ranking": config.ranking.model_copy(update={"scheme": args.scheme})})
        written = time.perf_counter() - t0
        report = build_site(root / "results", config, root / "site")
        print(f"results written in {written:.2f} s (not part of the build)")
        print(f"leaderboard build: {args.models} models x {args.cases} cases, {args.resamples} bootstrap resamples, "
              f"{args.scheme}: {report.seconds:.2f} s ({report.pages} pages)")
        for step, seconds in report.timings.items():
            print(f"  {step}: {seconds:.2f} s")


if __name__ == "__main__":
    main()
