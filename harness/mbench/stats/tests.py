"""Hypothesis tests on scores, wrapping scipy: paired (on the same cases) and unpaired (independent groups).

===============  ======  ================================================================================
id               paired  scipy call
===============  ======  ================================================================================
wilcoxon         yes     ``wilcoxon(x, y, zero_method="wilcox", correction=True, method=...)`` (the default)
ttest_rel        yes     ``ttest_rel(x, y)``
permutation      yes     ``permutation_test((x - y,), mean, permutation_type="samples")`` (sign flips)
welch            no      ``ttest_ind(x, y, equal_var=False)``
student          no      ``ttest_ind(x, y, equal_var=True)``
mannwhitney      no      ``mannwhitneyu(x, y, use_continuity=True, method=...)``
permutation_ind  no      ``permutation_test((x, y), mean(x) - mean(y), permutation_type="independent")``
===============  ======  ================================================================================

Wilcoxon ``mode="auto"`` follows scipy's choice but makes it explicit and reports it: exact null distribution
when there are no ties or zero differences and n <= 50; otherwise an exact sign-flip permutation of the
statistic when n <= 13; otherwise the normal approximation with tie and continuity corrections (R's
``wilcox.test`` defaults). Zero differences are dropped (``zero_method="wilcox"``, as R does).

Every outcome carries ``min_p``, the smallest p-value the test could have produced on data of this size and
tie structure (the most extreme configuration of the same values). When ``min_p`` exceeds the significance
level no result can be significant, e.g. an exact two-sided Wilcoxon test on 5 pairs has ``min_p = 2/32``.
When all paired differences are zero, or both groups hold one identical value, p is 1 (no evidence of a
difference) rather than scipy's NaN, and ``note`` says so.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import stats

from mbench.errors import MbenchError, did_you_mean

__all__ = ["TESTS", "TestSpec", "TestOutcome", "run_test", "min_attainable_p", "resolve_test", "ALTERNATIVES"]

ALTERNATIVES = ("two-sided", "greater", "less")


@dataclass(frozen=True)
class TestSpec:
    """A registered test: its id, whether it pairs cases, and the options it accepts."""

    __test__ = False  # not a pytest class

    id: str
    name: str
    paired: bool
    options: Mapping[str, Any]
    description: str


@dataclass(frozen=True)
class TestOutcome:
    """What a test returned.

    Attributes:
        test: test id (see :data:`TESTS`).
        method: the exact procedure, in words (e.g. ``Wilcoxon signed-rank (exact)``).
        statistic: scipy's statistic (Wilcoxon two-sided: min(T+, T-); one-sided: T+; Mann-Whitney: U of x;
            t-tests: t; permutation tests: the mean difference).
        p_value: the p-value.
        alternative: ``two-sided``, ``greater`` (first larger) or ``less``.
        n_x: size of the first sample (pairs, for paired tests).
        n_y: size of the second sample.
        min_p: smallest attainable p-value at this size and tie structure (0.0 when unbounded, as for t-tests).
        note: anything unusual (all differences zero, ...).
    """

    __test__ = False  # not a pytest class

    test: str
    method: str
    statistic: float
    p_value: float
    alternative: str
    n_x: int
    n_y: int
    min_p: float
    note: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def n(self) -> int:
        """Pairs for paired tests, total observations otherwise."""
        return self.n_x if TESTS[self.test].paired else self.n_x + self.n_y


TESTS: dict[str, TestSpec] = {
    "wilcoxon": TestSpec("wilcoxon", "Wilcoxon signed-rank", True, {"mode": "auto", "correction": True},
                         "paired, rank-based; the default"),
    "ttest_rel": TestSpec("ttest_rel", "paired t-test", True, {}, "paired, assumes roughly normal differences"),
    "permutation": TestSpec("permutation", "paired permutation (sign-flip) test of the mean difference", True,
                            {"n_resamples": 9999, "seed": 0}, "paired, exact for n <= 13 (2^n <= 9999)"),
    "welch": TestSpec("welch", "Welch's t-test", False, {}, "independent groups, unequal variances"),
    "student": TestSpec("student", "Student's t-test", False, {}, "independent groups, equal variances"),
    "mannwhitney": TestSpec("mannwhitney", "Mann-Whitney U", False, {"mode": "auto", "use_continuity": True},
                            "independent groups, rank-based (e.g. cortical vs subcortical cases)"),
    "permutation_ind": TestSpec("permutation_ind", "permutation test of the difference in means", False,
                                {"n_resamples": 9999, "seed": 0}, "independent groups"),
}
_ALIASES = {"t": "ttest_rel", "ttest": "ttest_rel", "paired_t": "ttest_rel", "mann_whitney": "mannwhitney",
            "mwu": "mannwhitney", "mannwhitneyu": "mannwhitney", "ttest_ind": "student", "signed_rank": "wilcoxon"}


def resolve_test(test: str) -> TestSpec:
    """The :class:`TestSpec` for an id or alias; unknown names raise a did-you-mean MbenchError."""
    key = _ALIASES.get(test.lower(), test.lower())
    if key not in TESTS:
        raise did_you_mean("test", test, TESTS, fix=f"use one of: {', '.join(TESTS)}")
    return TESTS[key]


def _options(spec: TestSpec, given: Mapping[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(given) - set(spec.options))
    if unknown:
        raise MbenchError(f"unknown option(s) for the {spec.id} test: {', '.join(unknown)}",
                          expected=", ".join(spec.options) or "no options", found=", ".join(unknown))
    return {**spec.options, **given}


def _as_sample(v: Sequence[float] | np.ndarray, name: str) -> np.ndarray:
    a = np.asarray(v, dtype=float).ravel()
    if not np.all(np.isfinite(a)):
        raise MbenchError(f"sample {name} holds NaN or infinite scores", found=f"{int((~np.isfinite(a)).sum())} value(s)",
                          fix="pair the scores with mbench.stats.pair_scores (leaves NaN out and counts them) or "
                              "fill them with the metric's worst value")
    return a


def _has_ties(v: np.ndarray) -> bool:
    return np.unique(v).size < v.size


def _wilcoxon_mode(d: np.ndarray, mode: str) -> str:
    if mode not in ("auto", "exact", "approx", "permutation"):
        raise MbenchError(f"unknown Wilcoxon mode {mode!r}", expected="auto, exact, approx or permutation")
    if mode != "auto":
        return mode
    nz = d[d != 0]
    if nz.size == d.size and not _has_ties(np.abs(nz)) and d.size <= 50:
        return "exact"
    return "permutation" if d.size <= 13 else "approx"


def _wilcoxon(d: np.ndarray, alternative: str, opts: dict[str, Any]) -> tuple[float, float, str]:
    mode = _wilcoxon_mode(d, opts["mode"])
    method: Any = {"exact": "exact", "approx": "asymptotic"}.get(mode) or stats.PermutationMethod(
        n_resamples=9999, rng=np.random.default_rng(0))
    res = stats.wilcoxon(d, zero_method="wilcox", correction=bool(opts["correction"]), alternative=alternative,
                         method=method)
    label = {"exact": "exact", "permutation": "exact permutation; ties or zeros",
             "approx": "normal approx." + (", continuity corr." if opts["correction"] else "")}[mode]
    return float(res.statistic), float(res.pvalue), f"Wilcoxon signed-rank ({label})"


def _mwu_mode(x: np.ndarray, y: np.ndarray, mode: str) -> str:
    if mode not in ("auto", "exact", "approx"):
        raise MbenchError(f"unknown Mann-Whitney mode {mode!r}", expected="auto, exact or approx")
    if mode != "auto":
        return mode
    return "approx" if (x.size > 8 and y.size > 8) or _has_ties(np.concatenate([x, y])) else "exact"


def _mwu(x: np.ndarray, y: np.ndarray, alternative: str, opts: dict[str, Any]) -> tuple[float, float, str]:
    mode = _mwu_mode(x, y, opts["mode"])
    res = stats.mannwhitneyu(x, y, use_continuity=bool(opts["use_continuity"]), alternative=alternative,
                             method="exact" if mode == "exact" else "asymptotic")
    return float(res.statistic), float(res.pvalue), f"Mann-Whitney U ({'exact' if mode == 'exact' else 'normal approx.'})"


def _mean_diff_paired(d: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.mean(d, axis=axis)


def _mean_diff_ind(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.mean(x, axis=axis) - np.mean(y, axis=axis)


def _permutation(samples: tuple[np.ndarray, ...], alternative: str, opts: dict[str, Any]) -> tuple[float, float, str]:
    paired = len(samples) == 1
    res = stats.permutation_test(samples, _mean_diff_paired if paired else _mean_diff_ind, vectorized=True,
                                 permutation_type="samples" if paired else "independent",
                                 n_resamples=int(opts["n_resamples"]), alternative=alternative,
                                 rng=np.random.default_rng(int(opts["seed"])))
    n_perm = 2 ** samples[0].size if paired else math.comb(samples[0].size + samples[1].size, samples[0].size)
    exact = n_perm <= int(opts["n_resamples"])
    kind = "exact" if exact else f"{int(opts['n_resamples'])} random permutations"
    return float(res.statistic), float(res.pvalue), ("paired sign-flip" if paired else "two-sample") + \
        f" permutation test of the mean difference ({kind})"


def _compute(spec: TestSpec, x: np.ndarray, y: np.ndarray, alternative: str,
             opts: dict[str, Any]) -> tuple[float, float, str]:
    if spec.id == "wilcoxon":
        return _wilcoxon(x - y, alternative, opts)
    if spec.id == "ttest_rel":
        res = stats.ttest_rel(x, y, alternative=alternative)
        return float(res.statistic), float(res.pvalue), "paired t-test"
    if spec.id == "permutation":
        return _permutation((x - y,), alternative, opts)
    if spec.id in ("welch", "student"):
        res = stats.ttest_ind(x, y, equal_var=spec.id == "student", alternative=alternative)
        return float(res.statistic), float(res.pvalue), spec.name
    if spec.id == "mannwhitney":
        return _mwu(x, y, alternative, opts)
    return _permutation((x, y), alternative, opts)


def _check_sizes(spec: TestSpec, nx: int, ny: int) -> None:
    need = {"wilcoxon": (1, 1), "ttest_rel": (2, 2), "permutation": (2, 2), "welch": (2, 2), "student": (1, 1),
            "mannwhitney": (1, 1), "permutation_ind": (2, 2)}[spec.id]
    if spec.paired and nx != ny:
        raise MbenchError(f"the {spec.id} test pairs cases, but the samples differ in length",
                          expected="equal lengths (one score per case for each model)", found=f"{nx} and {ny}",
                          fix="align the scores with mbench.stats.pair_scores, or use an unpaired test")
    if nx < need[0] or ny < need[1] or (spec.id == "student" and nx + ny < 3):
        raise MbenchError(f"too few observations for the {spec.id} test", found=f"n_x={nx}, n_y={ny}",
                          expected=f"at least {need[0]} and {need[1]}" + (" (3 in all)" if spec.id == "student" else ""))


def _extreme(spec: TestSpec, x: np.ndarray, y: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """The most extreme arrangements of the observed values (same sizes, zeros and ties)."""
    if spec.paired:
        d = np.abs(x - y)
        return [(d, np.zeros_like(d)), (np.zeros_like(d), d)]
    pooled = np.sort(np.concatenate([x, y]))
    return [(pooled[y.size:], pooled[:y.size]), (pooled[:x.size], pooled[x.size:])]


def _min_p(spec: TestSpec, x: np.ndarray, y: np.ndarray, alternative: str, opts: dict[str, Any]) -> float:
    if spec.id in ("ttest_rel", "welch", "student"):
        return 0.0  # t -> infinity as the spread of the (differences) shrinks
    sides = 1.0 if alternative != "two-sided" else 2.0
    if spec.paired:
        d = x - y
        m = int(np.count_nonzero(d))
        if m == 0:
            return 1.0
        exact_null = (spec.id == "wilcoxon" and _wilcoxon_mode(d, opts["mode"]) in ("exact", "permutation")) or (
            spec.id == "permutation" and 2 ** d.size <= int(opts["n_resamples"]))
        if exact_null:
            # only the 2^(n - m) sign patterns with every non-zero difference positive reach the largest
            # statistic: p = 2^-m one-sided (closed form; scipy's permutation null is slow to enumerate)
            return min(1.0, sides * 2.0**-m)
        if spec.id == "permutation":
            return min(1.0, sides / (int(opts["n_resamples"]) + 1))  # Monte Carlo p-values are (k + 1)/(N + 1)
        opts = {**opts, "mode": "approx"}
    elif spec.id == "mannwhitney":
        opts = {**opts, "mode": _mwu_mode(x, y, opts["mode"])}
    elif not _has_ties(np.concatenate([x, y])):  # permutation_ind: one arrangement is the most extreme
        n_arr = math.comb(x.size + y.size, x.size)
        if n_arr <= int(opts["n_resamples"]):
            return min(1.0, sides / n_arr)
        return min(1.0, sides / (int(opts["n_resamples"]) + 1))
    ps = [_compute(spec, ex, ey, alternative, opts)[1] for ex, ey in _extreme(spec, x, y)]
    return float(np.nanmin(ps)) if not np.all(np.isnan(ps)) else math.nan


def run_test(x: Sequence[float] | np.ndarray, y: Sequence[float] | np.ndarray, test: str = "wilcoxon", *,
             alternative: str = "two-sided", **options: Any) -> TestOutcome:
    """Run one registered test on two samples.

    Args:
        x: first sample (for paired tests: aligned with ``y`` case by case).
        y: second sample.
        test: a :data:`TESTS` id (``wilcoxon``, ``ttest_rel``, ``permutation``, ``welch``, ``student``,
            ``mannwhitney``, ``permutation_ind``).
        alternative: ``two-sided``, ``greater`` (x tends to be larger) or ``less``.
        **options: test options: Wilcoxon ``mode`` (auto/exact/approx/permutation) and ``correction``;
            Mann-Whitney ``mode`` and ``use_continuity``; permutation tests ``n_resamples`` and ``seed``.

    Example:
        >>> r = run_test([10, 12, 15, 11, 19], [8, 9, 11, 6, 13])  # differences 2, 3, 4, 5, 6
        >>> r.method, r.statistic, round(r.p_value, 4), r.min_p
        ('Wilcoxon signed-rank (exact)', 0.0, 0.0625, 0.0625)
    """
    spec = resolve_test(test)
    if alternative not in ALTERNATIVES:
        raise MbenchError(f"unknown alternative {alternative!r}", expected=", ".join(ALTERNATIVES))
    opts = _options(spec, options)
    xa, ya = _as_sample(x, "x"), _as_sample(y, "y")
    _check_sizes(spec, xa.size, ya.size)
    note = ""
    identical = (spec.paired and not np.any(xa - ya)) or (
        not spec.paired and np.unique(np.concatenate([xa, ya])).size == 1)
    if identical:
        statistic, p, method = 0.0, 1.0, spec.name
        note = "all paired differences are zero" if spec.paired else "both groups hold one identical value"
    else:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            statistic, p, method = _compute(spec, xa, ya, alternative, opts)
        note = "; ".join(dict.fromkeys(f"scipy: {w.message}" for w in caught))
    return TestOutcome(test=spec.id, method=method, statistic=statistic, p_value=p, alternative=alternative,
                       n_x=int(xa.size), n_y=int(ya.size), min_p=_min_p(spec, xa, ya, alternative, opts), note=note,
                       details={k: v for k, v in opts.items()})


def min_attainable_p(test: str, n: int, n_y: int | None = None, *, alternative: str = "two-sided",
                     **options: Any) -> float:
    """Smallest p-value a test can produce on ``n`` pairs (or groups of ``n`` and ``n_y``), without ties.

    The test is run on the most extreme data of that size, so the answer follows scipy exactly, whichever
    null distribution it uses. A result can only be significant at level alpha if this is below alpha.

    Example:
        >>> min_attainable_p("wilcoxon", 5), min_attainable_p("wilcoxon", 6)
        (0.0625, 0.03125)
        >>> min_attainable_p("wilcoxon", 3, alternative="greater"), min_attainable_p("mannwhitney", 3, 3)
        (0.125, 0.1)
        >>> min_attainable_p("ttest_rel", 3)
        0.0
    """
    spec = resolve_test(test)
    n_y = n if n_y is None else n_y
    _check_sizes(spec, n, n_y)
    x = np.arange(1.0, n + 1)
    y = np.zeros(n) if spec.paired else -np.arange(1.0, n_y + 1)
    return _min_p(spec, x, y, alternative, _options(spec, options))

