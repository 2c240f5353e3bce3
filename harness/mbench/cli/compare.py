"""``mbench compare``: case-paired comparison of models on one task, printed as rich tables.

Examples::

    mbench compare task=brats models=mvaal,vaal,random
    mbench compare task=brats models=mvaal,vaal metric=dice test=ttest_rel correction=bh
    mbench compare task=brats models=mvaal,vaal n_labelled=400 seed=0 --intersection --out results/
    mbench compare task=brats --json

Prints, for the chosen budget (active learning: the largest one every model reached): each model's mean and
median with bootstrap intervals, then every pair with the test statistic, raw and corrected p-values, the
effect size and whether the difference is significant; warnings say when n is too small for any
significance or when cases were left out. Active-learning tasks also get per-budget tests across seeds and
a test of the area under the learning curve.
"""

from __future__ import annotations

import argparse
import json
import math
from typing import Any

import numpy as np

from mbench.errors import MbenchError, did_you_mean

__all__ = ["add_parser", "cmd_compare", "parse_assignments"]

KEYS = {
    "task": "task id or alias (required)",
    "models": "comma-separated model ids or run ids (default: all)",
    "metric": "metric id (default: the task's primary metric)",
    "test": "wilcoxon, ttest_rel, permutation, welch, student, mannwhitney, permutation_ind (default: the tests the "
            "task card's comparison block declares, one table each, else wilcoxon)",
    "against": "compare this model with the best other model by mean on the metric (a paper's 'best competitor')",
    "correction": "holm (default), bonferroni, bh, none",
    "alpha": "significance level (default 0.05)",
    "alternative": "two-sided (default), greater, less",
    "n_labelled": "active-learning budget (default: the largest common one)",
    "seed": "'mean' (default: average cases over seeds) or one seed",
    "n_boot": "bootstrap resamples (default 1000)",
    "confidence": "interval coverage (default 0.95)",
    "curve_test": "test across seeds for learning curves (default ttest_rel)",
    "by": "case attribute: compare two subgroups of cases per model instead of models (unpaired, e.g. stroke_type)",
    "groups": "the two subgroups, comma-separated (with by=, e.g. cortical,subcortical)",
}


def parse_assignments(items: list[str]) -> dict[str, str]:
    """``key=value`` words into a dict; unknown keys get a did-you-mean error, ``task=`` is required."""
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not value:
            raise MbenchError(f"cannot read {item!r}", expected="key=value, e.g. task=brats models=mvaal,vaal")
        if key not in KEYS:
            raise did_you_mean("option", key, KEYS, fix="options: " + ", ".join(f"{k}=" for k in KEYS))
        out[key] = value
    if "task" not in out:
        raise MbenchError("missing task=", expected="mbench compare task=<id> models=a,b,c",
                          found=" ".join(items) or "nothing", fix="`mbench ls tasks` lists the tasks")
    return out


def _number(opts: dict[str, str], key: str, kind: type, default: Any) -> Any:
    if key not in opts:
        return default
    try:
        return kind(opts[key])
    except ValueError:
        raise MbenchError(f"bad value for {key}=", expected=kind.__name__, found=opts[key]) from None


def _clean(obj: Any) -> Any:
    if isinstance(obj, float):
        return None if math.isnan(obj) or math.isinf(obj) else obj
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    return obj


def _p(p: float) -> str:
    if math.isnan(p):
        return "n/a"
    return "<0.0001" if p < 1e-4 else f"{p:.4f}"


def _ci(low: float, high: float) -> str:
    return "" if math.isnan(low) else f" [{low:.4f}, {high:.4f}]"


class _Footnotes:
    """Numbered warnings, each text once."""

    def __init__(self) -> None:
        self.texts: list[str] = []

    def refs(self, texts: tuple[str, ...] | list[str]) -> str:
        out = []
        for t in texts:
            if t not in self.texts:
                self.texts.append(t)
            out.append(f"[{self.texts.index(t) + 1}]")
        return " ".join(out)


_EFFECT_SHORT = {"rank_biserial": "r_rb", "mean_difference": "Δmean"}


def _table(title: str, columns: list[tuple[str, str]]) -> Any:
    from rich import box
    from rich.table import Table

    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    for name, justify in columns:
        table.add_column(name, justify=justify, no_wrap=name != "warnings")  # type: ignore[arg-type]
    return table


def _print_comparison(console: Any, data: Any, title: str, notes: _Footnotes, summaries: bool = True) -> None:
    conf = round(100 * data.summaries[0].mean.confidence)
    if summaries:
        _print_summaries(console, data, title, conf)
    _print_pairs(console, data, title, notes, conf)


def _print_summaries(console: Any, data: Any, title: str, conf: int) -> None:
    models = _table(f"{title}: per model", [("model", "left"), ("n", "right"), ("missing", "right"),
                                            ("NaN", "right"), (f"mean [{conf}% CI]", "right"),
                                            (f"median [{conf}% CI]", "right")])
    for s in data.summaries:
        models.add_row(s.model, str(s.n), str(s.n_missing), str(s.n_nan),
                       f"{s.mean.estimate:.4f}{_ci(s.mean.low, s.mean.high)}",
                       f"{s.median.estimate:.4f}{_ci(s.median.low, s.median.high)}")
    console.print(models)
    for s in data.summaries:
        if s.run:
            console.print(f"  {s.model}: run {s.run}", style="dim", highlight=False)


def _print_pairs(console: Any, data: Any, title: str, notes: _Footnotes, conf: int) -> None:
    any_warning = any(r.warnings for r in data.results)
    columns = [("a − b", "left"), ("n", "right"), (f"Δmean [{conf}% CI]", "right"), ("statistic", "right"),
               ("p", "right"), (f"p {data.correction}", "right"), ("effect", "right"), ("significant", "left")]
    pairs = _table(f"{title}: pairwise, {data.test} ({data.alternative}), {data.correction} correction, "
                   f"alpha {data.alpha:g}", columns + ([("warnings", "left")] if any_warning else []))
    for r in data.results:
        ci = r.ci if r.ci is not None else (math.nan, math.nan)
        sig = f"[bold green]✓ {r.better}[/bold green]" if r.better else (
            "[green]✓[/green]" if r.significant else "[dim]ns[/dim]")
        effect = f"{_EFFECT_SHORT.get(r.effect.name, r.effect.name)} {r.effect.value:+.3f}"
        cells = [f"{r.a} − {r.b}", str(r.n), f"{r.mean_difference:+.4f}{_ci(*ci)}", f"{r.statistic:.4g}",
                 _p(r.p_value), _p(r.p_adjusted), effect, sig]
        pairs.add_row(*cells, *([notes.refs(r.warnings)] if any_warning else []))
    console.print(pairs)
    console.print("  Δmean: mean of a − b; r_rb: matched-pairs rank-biserial; ✓ model: significantly better after "
                  "correction", style="dim", highlight=False)
    if data.warnings:
        console.print("  " + notes.refs(data.warnings) + " (whole table)", style="yellow", highlight=False)


def _print_curves(console: Any, cmp: Any, notes: _Footnotes) -> None:
    curves = _table("learning curves: mean ± sd over seeds",
                    [("labelled", "right"), *[(c.model, "right") for c in cmp.curves]])
    for n in cmp.budgets:
        cells = []
        for c in cmp.curves:
            i = c.n_labelled.index(n)
            mean, sd = c.mean()[i], c.sd()[i]
            cells.append(f"{mean:.4f}" + ("" if math.isnan(sd) else f" ± {sd:.4f}"))
        curves.add_row(str(n), *cells)
    if cmp.aulc is not None:
        cells = []
        for c in cmp.curves:
            a = c.aulc()
            cells.append(f"{np.nanmean(a):.4f}" + (f" ± {np.nanstd(a, ddof=1):.4f}" if a.size > 1 else ""))
        curves.add_row("AULC", *cells)
    console.print(curves)
    first = next(iter(cmp.per_budget.values()))
    scope = "all budgets and pairs" if cmp.family == "all" else "the pairs of each budget"
    rows = [(str(n), r) for n in cmp.budgets for r in cmp.per_budget[n].results]
    rows += [("AULC", r) for r in (cmp.aulc.results if cmp.aulc is not None else ())]
    any_warning = any(r.warnings for _, r in rows)
    tests = _table(f"per-budget tests across seeds: {first.test}, {first.correction} correction over {scope}",
                   [("labelled", "right"), ("a − b", "left"), ("seeds", "right"), ("Δmean", "right"), ("p", "right"),
                    (f"p {first.correction}", "right"), ("significant", "left")]
                   + ([("warnings", "left")] if any_warning else []))
    for label, r in rows:
        sig = f"[bold green]✓ {r.better}[/bold green]" if r.better else "[dim]ns[/dim]"
        tests.add_row(label, f"{r.a} − {r.b}", str(r.n), f"{r.mean_difference:+.4f}", _p(r.p_value),
                      _p(r.p_adjusted), sig, *([notes.refs(r.warnings)] if any_warning else []))
    console.print(tests)
    for note in cmp.notes:
        console.print(f"  {note}", style="dim", highlight=False)


def cmd_compare(args: argparse.Namespace) -> int:
    """Load the task's scores, compare the models, print the tables (or JSON)."""
    from mbench.paths import results_dir
    from mbench.stats import compare_learning_curves, compare_models, load_learning_curves, load_score_matrix

    opts = parse_assignments(args.assignments)
    root = args.out or results_dir()
    models = [m for m in opts["models"].split(",") if m] if "models" in opts else None
    if "by" in opts:
        return _cmd_subgroups(opts, models, root, args)
    seed: int | str = opts.get("seed", "mean")
    matrix = load_score_matrix(opts["task"], models, opts.get("metric"), root=root,
                               n_labelled=_number(opts, "n_labelled", int, None), seed=seed)
    plan = _comparison_plan(opts["task"])
    common: dict[str, Any] = {"alpha": _number(opts, "alpha", float, plan.alpha if plan else 0.05),
                              "alternative": opts.get("alternative", "two-sided"),
                              "n_boot": _number(opts, "n_boot", int, 1000), "intersection": args.intersection}
    if "test" in opts or plan is None:
        tests = [(opts.get("test", "wilcoxon"), opts.get("correction", "holm"))]
    else:  # the task's declared comparison (e.g. the paper's Welch test beside the paired test)
        tests = [(t, opts.get("correction", plan.correction)) for t in plan.tests]
    pairs = [(opts["against"], best_competitor(matrix, opts["against"]))] if "against" in opts else None
    tables = [compare_models(matrix, test=t, correction=c, pairs=pairs,
                             confidence=_number(opts, "confidence", float, 0.95), **common) for t, c in tests]
    table = tables[0]
    curves_cmp = None
    try:
        curves = load_learning_curves(opts["task"], models, matrix.metric, root=root)
    except MbenchError as exc:
        if "not an active-learning run" not in exc.message:
            raise
        curves = None
    if curves is not None and matrix.unit == "case":
        curves_cmp = compare_learning_curves([curves[label] for label in matrix.models], test=opts.get("curve_test", "ttest_rel"),
                                             correction=opts.get("correction", "holm"), **common)
    if args.json:
        print(json.dumps(_clean({"comparison": table.to_dict(), "comparisons": [t.to_dict() for t in tables],
                                 "learning_curves": curves_cmp.to_dict() if curves_cmp else None}), indent=1))
        return 0
    from mbench.cli.display import console

    arrow = "higher is better" if matrix.higher_is_better else "lower is better"
    console.print(f"[bold]{matrix.task}[/bold] · metric [bold]{matrix.metric}[/bold] ({arrow}) · "
                  f"{matrix.shape[0]} {matrix.unit}s · {len(matrix.models)} models", highlight=False)
    for note in matrix.notes:
        console.print(f"  {note}", style="dim", highlight=False)
    notes = _Footnotes()
    if plan is not None and "test" not in opts:
        console.print(f"  the task's declared comparison: {', '.join(plan.tests)}, {plan.correction} correction"
                      + (f". {plan.notes}" if plan.notes else ""), style="dim", highlight=False)
    for i, t in enumerate(tables):
        _print_comparison(console, t, f"{matrix.metric} per {matrix.unit}", notes, summaries=i == 0)
    if curves_cmp is not None:
        _print_curves(console, curves_cmp, notes)
    for i, text in enumerate(notes.texts, 1):
        console.print(f"  [{i}] {text}", style="yellow", highlight=False, markup=False)
    return 0


def _cmd_subgroups(opts: dict[str, str], models: list[str] | None, root: Any, args: argparse.Namespace) -> int:
    """``by=<attribute> groups=a,b``: per model, an unpaired test of its case scores in group a vs group b."""
    from mbench.stats.loading import select_runs
    from mbench.stats.subgroups import subgroup_comparison

    groups = [g for g in opts.get("groups", "").split(",") if g]
    if len(groups) != 2 or "metric" not in opts:
        raise MbenchError("subgroup comparisons need two groups and a metric",
                          expected="by=<attribute> groups=<a>,<b> metric=<metric[:region]>",
                          found=f"groups={opts.get('groups')!r} metric={opts.get('metric')!r}",
                          fix="e.g. by=stroke_type groups=cortical,subcortical metric=dice:WMH")
    labels = models or list(select_runs(opts["task"], None, root))
    results = {m: subgroup_comparison(opts["task"], m, opts["metric"], opts["by"], groups[0], groups[1], root=root,
                                      test=opts.get("test", "mannwhitney"), alpha=_number(opts, "alpha", float, 0.05),
                                      alternative=opts.get("alternative", "two-sided"),
                                      n_boot=_number(opts, "n_boot", int, 1000)) for m in labels}
    if args.json:
        print(json.dumps(_clean({"subgroups": {m: r.to_dict() for m, r in results.items()}}), indent=1))
        return 0
    from mbench.cli.display import console

    table = _table(f"{opts['metric']}: {groups[0]} vs {groups[1]} cases ({opts['by']}), per model",
                   [("model", "left"), ("n", "right"), (f"mean {groups[0]}", "right"), (f"mean {groups[1]}", "right"),
                    ("test", "left"), ("statistic", "right"), ("p", "right"), ("significant", "left")])
    for m, r in results.items():
        table.add_row(m, str(r.n), f"{r.mean_a:.4f}", f"{r.mean_b:.4f}", r.method, f"{r.statistic:.4g}",
                      _p(r.p_value), "[green]✓[/green]" if r.significant else "[dim]ns[/dim]")
    console.print(table)
    return 0


def _comparison_plan(task: str) -> Any:
    """The task card's ``comparison`` block, or None (no card of that name, or none declared)."""
    from mbench.tasks.registry import load_task

    try:
        return load_task(task).spec.comparison
    except MbenchError:
        return None


def best_competitor(matrix: Any, model: str) -> str:
    """The model other than ``model`` with the best mean on the matrix's metric (orientation respected).

    Example:
        >>> from mbench.stats import ScoreMatrix
        >>> m = ScoreMatrix.from_columns({"a": [1, 2], "b": [3, 4], "c": [0, 1]}, metric="dice")
        >>> best_competitor(m, "a")
        'b'
    """
    if model not in matrix.models:
        raise did_you_mean("model for against=", model, matrix.models)
    means = {m: float(np.nanmean(matrix.values[:, j])) for j, m in enumerate(matrix.models) if m != model}
    if not means:
        raise MbenchError("against= needs at least one other model", found=model)
    pick = max if matrix.higher_is_better else min
    return pick(means, key=means.get)


def add_parser(sub: Any) -> None:
    """Register ``mbench compare`` on the main parser's subcommands."""
    p = sub.add_parser("compare", help="case-paired tests between models on a task, with corrected p-values and CIs",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("assignments", nargs="*", metavar="key=value",
                   help="; ".join(f"{k}=: {v}" for k, v in KEYS.items()))
    p.add_argument("--intersection", action="store_true",
                   help="compare each pair on the cases both were scored on (default: refuse differing coverage)")
    p.add_argument("--out", help="results root (default $MBENCH_RESULTS or ./results)")
    p.add_argument("--json", action="store_true", help="print the comparison as JSON")
    p.set_defaults(func=cmd_compare)
