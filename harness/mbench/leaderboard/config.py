"""``leaderboard.yaml``: which tasks, metrics and ranking scheme the static leaderboard shows.

Example:
    >>> cfg = LeaderboardConfig.model_validate({"tasks": [{"id": "brats"}]})
    >>> cfg.ranking.scheme, cfg.ranking.correction, cfg.bootstrap.resamples, cfg.unofficial
    ('test_then_rank', 'holm', 1000, 'show')
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from mbench.config.loading import format_validation_error, read_yaml
from mbench.errors import MbenchError
from mbench.paths import repo_root

__all__ = [
    "BootstrapSpec",
    "LeaderboardConfig",
    "RankingSpec",
    "TaskEntry",
    "default_config_path",
    "load_leaderboard_config",
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RankingSpec(_Strict):
    """How entries are ranked (challengeR's schemes, :data:`mbench.stats.RANKING_SCHEMES`) and compared.

    ``scheme``: ``aggregate_then_rank`` (rank the mean or median), ``rank_then_aggregate`` (rank per
    case, aggregate the ranks) or ``test_then_rank`` (rank by the share of other entries an entry is
    significantly better than; non-significant differences tie). Significance maps, tiers and
    test-based ranks use one-sided paired tests: ``test`` on cases, ``seed_test`` where the units
    are seeds (dataset-level metrics, area under the learning curve), with ``correction`` over all
    ordered pairs at level ``alpha``.
    """

    scheme: str = "test_then_rank"
    aggregate: Literal["mean", "median"] = "mean"
    test: str = "wilcoxon"
    seed_test: str = "ttest_rel"
    correction: str = "holm"
    alpha: float = Field(0.05, gt=0, lt=1)

    @field_validator("scheme")
    @classmethod
    def _scheme(cls, v: str) -> str:
        from mbench.stats import RANKING_SCHEMES

        if v not in RANKING_SCHEMES:
            raise ValueError(f"unknown ranking scheme; use one of: {', '.join(RANKING_SCHEMES)}")
        return v

    @field_validator("test", "seed_test")
    @classmethod
    def _test(cls, v: str) -> str:
        from mbench.stats.significance import RANK_TESTS

        if v not in RANK_TESTS:
            raise ValueError(f"significance maps and test-based ranking support: {', '.join(RANK_TESTS)}")
        return v

    @field_validator("correction")
    @classmethod
    def _correction(cls, v: str) -> str:
        from mbench.stats import CORRECTIONS

        if v not in CORRECTIONS:
            raise ValueError(f"unknown correction; use one of: {', '.join(CORRECTIONS)}")
        return v

    def options(self, seed_units: bool = False) -> dict[str, object]:
        """Keyword options of the scheme for :func:`mbench.stats.rank_models`."""
        if self.scheme == "test_then_rank":
            return {"test": self.seed_test if seed_units else self.test, "alpha": self.alpha,
                    "correction": self.correction}
        return {"aggregate": self.aggregate}


class BootstrapSpec(_Strict):
    """Bootstrap resampling of cases for confidence intervals and rank stability."""

    resamples: int = Field(1000, ge=10)
    seed: int = 0
    ci: float = Field(0.95, gt=0, lt=1)


class TaskEntry(_Strict):
    """One task on the leaderboard.

    ``metrics``: metric ids to show, the first one ranks (default: the task's primary metric, then
    its other reported metrics). ``ranking`` replaces the global ranking settings for this task.
    """

    id: str
    metrics: list[str] | None = Field(None, min_length=1)
    ranking: RankingSpec | None = None


class LeaderboardConfig(_Strict):
    """The whole ``leaderboard.yaml``."""

    title: str = "mbench leaderboard"
    description: str = ""
    ranking: RankingSpec = RankingSpec()
    bootstrap: BootstrapSpec = BootstrapSpec()
    unofficial: Literal["show", "hide"] = Field("show", description="show unofficial runs (marked) or leave them out")
    tasks: list[TaskEntry] = Field(min_length=1)


def default_config_path() -> Path:
    """``leaderboard/leaderboard.yaml`` in the checkout."""
    return repo_root() / "leaderboard" / "leaderboard.yaml"


def load_leaderboard_config(path: str | Path | None = None) -> LeaderboardConfig:
    """Read and validate a ``leaderboard.yaml`` (default: :func:`default_config_path`)."""
    path = Path(path) if path else default_config_path()
    if not path.is_file():
        raise MbenchError(f"no leaderboard config at {path}", expected="a leaderboard.yaml file",
                          fix="pass --config PATH, or create leaderboard/leaderboard.yaml (see the README, section Leaderboard)")
    data = read_yaml(path, what="the leaderboard config")
    try:
        return LeaderboardConfig.model_validate(data)
    except ValidationError as exc:
        raise format_validation_error(str(path), exc, LeaderboardConfig) from None
