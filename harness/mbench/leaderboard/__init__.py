"""The static HTML leaderboard: ranked tables, significance maps, rank stability, learning curves, provenance.

``mbench leaderboard build`` calls :func:`build_site`; ``leaderboard/leaderboard.yaml`` says which tasks,
metrics and ranking scheme to show (:class:`LeaderboardConfig`). Statistics come from :mod:`mbench.stats`.

Example:
    >>> import tempfile
    >>> from pathlib import Path
    >>> from mbench.leaderboard.demo import write_demo_results
    >>> tmp = Path(tempfile.mkdtemp())
    >>> report = build_site(tmp / "results", write_demo_results(tmp / "results", n_cases=10), tmp / "site",
    ...                     resamples=50)
    >>> report.pages, (tmp / "site" / "tasks" / "demo-seg.html").is_file()
    (11, True)
"""

from mbench.leaderboard.builder import BuildReport, build_site
from mbench.leaderboard.config import LeaderboardConfig, load_leaderboard_config

__all__ = ["BuildReport", "LeaderboardConfig", "build_site", "load_leaderboard_config"]
