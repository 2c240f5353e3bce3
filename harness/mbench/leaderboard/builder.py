"""Build the static leaderboard site from a results store and a ``leaderboard.yaml``.

Site layout::

    index.html              the tasks, and the runs left out (with the reason)
    tasks/<task>.html       ranked tables, significance maps, rank stability, learning curves, runs
    runs/<run>.html         provenance of one run: config, hashes, versions, seeds, timings

Example:
    >>> import tempfile
    >>> from mbench.leaderboard.demo import write_demo_results
    >>> tmp = Path(tempfile.mkdtemp())
    >>> config = write_demo_results(tmp / "results", n_cases=12)
    >>> report = build_site(tmp / "results", config, tmp / "site", resamples=50)
    >>> sorted(p.name for p in (tmp / "site").iterdir())
    ['.mbench-leaderboard', 'index.html', 'runs', 'tasks']
    >>> report.tasks
    ['demo-al-seg', 'demo-seg']
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from markupsafe import Markup

from mbench import __version__
from mbench.errors import MbenchError, did_you_mean
from mbench.leaderboard.analysis import ViewAnalysis, analyse_task, learning_curves
from mbench.leaderboard.collect import RunEntry, SkippedRun, collect_runs, final_round, slugify
from mbench.leaderboard.config import LeaderboardConfig, RankingSpec, TaskEntry, load_leaderboard_config
from mbench.leaderboard.render import Badge, Cell, Column, Row, SiteRenderer, Table
from mbench.leaderboard.svg import PALETTE, CurveSeries, heatmap_svg, learning_curve_svg, rank_stability_svg
from mbench.metrics.registry import get_metric
from mbench.results.summary import format_summary
from mbench.stats import RankStability

__all__ = ["MARKER", "BuildReport", "build_site"]

log = logging.getLogger(__name__)

MARKER = ".mbench-leaderboard"  # marks a folder as a generated site, which a rebuild may replace


@dataclass
class BuildReport:
    """What a build wrote."""

    out: Path
    tasks: list[str]
    runs: int
    skipped: list[SkippedRun]
    pages: int
    seconds: float
    timings: dict[str, float] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


@dataclass
class _TaskInfo:
    id: str
    slug: str
    card: dict[str, Any]
    entry: TaskEntry
    metrics: list[str]
    ranking: RankingSpec
    entries: list[RunEntry]


def _registry_card(task_id: str, paths: dict[str, Path]) -> dict[str, Any] | None:
    """The validated card of a task id (or alias) from the task registry, None if it has none."""
    from mbench.config.loading import load_task_card
    from mbench.tasks.registry import resolve_task_name

    try:
        path = paths[task_id] if task_id in paths else resolve_task_name(task_id)
        return load_task_card(path).model_dump(mode="json")
    except MbenchError:
        return None


def _resolve_tasks(config: LeaderboardConfig, runs: dict[str, list[RunEntry]]) -> list[_TaskInfo]:
    """Match leaderboard.yaml task entries to task cards (registry first, else the runs' resolved cards)."""
    from mbench.tasks.registry import card_paths

    paths = card_paths()
    infos: list[_TaskInfo] = []
    for entry in config.tasks:
        card = None if entry.id in runs and entry.id not in paths else _registry_card(entry.id, paths)
        if card is None and entry.id in runs:
            card = runs[entry.id][-1].record.get("config", {}).get("task")
        if card is None:
            raise did_you_mean("task in leaderboard.yaml", entry.id, set(runs),
                               fix="use a task id from `mbench ls tasks` or one with runs in the results folder")
        task_id = str(card["id"])
        if any(i.id == task_id for i in infos):
            raise MbenchError(f"task {task_id!r} is listed twice in leaderboard.yaml", found=entry.id,
                              fix="list each task once")
        report = list(card.get("metrics", {}).get("report") or [])
        primary = card.get("metrics", {}).get("primary") or (report[0] if report else None)
        metrics = list(entry.metrics) if entry.metrics else [primary, *[m for m in report if m != primary]]
        regions = list(card.get("regions") or {})
        if regions and not entry.metrics:  # region tasks report e.g. dice:WT, dice:TC, dice:ET
            metrics = [f"{m}:{r}" for m in metrics for r in regions]
        unknown = [m for m in metrics if m.split(":", 1)[0] not in report]
        if unknown:
            raise MbenchError(f"leaderboard.yaml asks for metric(s) {unknown} of task {task_id}, which it does not "
                              "report", expected=f"some of: {', '.join(report)}", found=", ".join(metrics),
                              fix=f"set tasks[{task_id}].metrics to metrics listed in the task card")
        for metric in metrics:
            get_metric(metric)
        infos.append(_TaskInfo(task_id, slugify(task_id), card, entry, metrics, entry.ranking or config.ranking,
                               runs.get(task_id, [])))
    return infos


def _fmt(value: float | None, digits: int = 4) -> str:
    if value is None or not math.isfinite(value):
        return "–"
    return f"{value:.{digits}f}"


def _sort(value: float | None) -> float | str:
    return value if value is not None and math.isfinite(value) else ""


def _entry_cell(entry: RunEntry, href: str) -> Cell:
    badges = [] if entry.official else [Badge("unofficial", "unofficial", "; ".join(entry.unofficial_reasons))]
    return Cell(text=entry.label, sort=entry.label, href=href, badges=badges,
                title=f"run {entry.run_id}" + ("" if entry.official else " (unofficial)"))


def _view_table(info: _TaskInfo, view: ViewAnalysis, links: dict[str, str], ci_level: float) -> Table:
    by_label = {e.label: e for e in info.entries}
    al = view.key in ("final", "aulc")
    unit = view.unit
    agg = info.ranking.aggregate
    columns = [Column("Rank", f"{info.ranking.scheme} on {info.metrics[0]}; ties share the best rank", True),
               Column("Tier", "1 + the number of entries significantly better than this one", True),
               Column("Entry")]
    for metric in info.metrics:
        better = "higher" if get_metric(metric).higher_is_better else "lower"
        columns.append(Column(f"AULC {metric}" if view.key == "aulc" else metric,
                              f"{agg} with {ci_level:.0%} bootstrap CI; {better} is better", True))
    columns += [Column("n", f"{unit}s compared (every {unit} any entry has)", True),
                Column("Scored", f"{unit}s with a score of this entry, out of n", True),
                Column("Filled", f"missing or undefined {unit}s replaced by the metric's worst value", True),
                Column("Seeds", "seeds of the run", True)]
    if al:
        columns.append(Column("Labelled", "labelled-set size of the run's last round", True))
    rows: list[Row] = []
    for label in view.labels:
        entry = by_label[label]
        prim = view.metrics[info.metrics[0]][label]
        rank, tier = view.ranks[label], view.tiers[label]
        cells = [Cell(str(rank), rank, numeric=True, title=f"{view.score_name}: {view.scores[label]:.4g}"),
                 Cell(str(tier), tier, numeric=True, tier=tier),
                 _entry_cell(entry, links[entry.run_id])]
        for metric in info.metrics:
            s = view.metrics[metric][label]
            value = s.median if agg == "median" else s.mean
            cells.append(Cell(_fmt(value), _sort(value), numeric=True, sub=f"[{_fmt(s.ci_low)}, {_fmt(s.ci_high)}]",
                              title=f"mean {_fmt(s.mean)}, median {_fmt(s.median)}; {ci_level:.0%} CI of the {agg} "
                                    f"[{_fmt(s.ci_low)}, {_fmt(s.ci_high)}]; n = {s.n}"))
        cells += [Cell(str(prim.n), prim.n, numeric=True),
                  Cell(f"{prim.n_valid} / {prim.n}", prim.n_valid, numeric=True,
                       title=f"{prim.n_missing} missing, {prim.n_nan} undefined (NaN)"),
                  Cell(str(prim.n_filled), prim.n_filled, numeric=True),
                  Cell(", ".join(str(s) for s in entry.seeds), len(entry.seeds), numeric=True)]
        if al:
            cells.append(Cell(str(entry.extra["final_labelled"]), entry.extra["final_labelled"], numeric=True))
        rows.append(Row(cells, "" if entry.official else "unofficial"))
    if view.key != "aulc":
        rows += _paper_rows(info, len(columns))
    return Table(f"table-{view.key}", columns, rows)


def _paper_rows(info: _TaskInfo, n_columns: int) -> list[Row]:
    """The task card's reported numbers as rows of their own, marked and with their source."""
    rows = []
    for ref in info.card.get("reference_results") or []:
        label = f"{ref.get('metric')}:{ref['region']}" if ref.get("region") else ref.get("metric")
        if label not in info.metrics:  # region tasks' columns are e.g. dice:endo
            continue
        cells = [Cell("", None, numeric=True), Cell("", None, numeric=True),
                 Cell(str(ref.get("setting", "")), "", sub=f"source: {ref.get('source', '')}",
                      badges=[Badge("reported in paper", "paper", str(ref.get("note", "")))])]
        for metric in info.metrics:
            value = float(ref["value"]) if metric == label else None
            cells.append(Cell(_fmt(value), _sort(value), numeric=True,
                              title="reported in the paper, not computed by mbench" if value is not None else ""))
        cells += [Cell("", None, numeric=True) for _ in range(n_columns - len(cells))]
        rows.append(Row(cells, "paper"))
    return rows


def _curves(info: _TaskInfo, results: Path) -> list[dict[str, Any]]:
    out = []
    refs = info.card.get("reference_results") or []
    by_label = {e.label: e for e in info.entries}
    for metric in info.metrics:
        curves = learning_curves(results, info.id, info.entries, metric)
        series = []
        for label in sorted(curves):
            c, entry = curves[label], by_label[label]
            series.append(CurveSeries(label + ("" if entry.official else " (unofficial)"), entry.colour,
                                      list(c.n_labelled), c.mean().tolist(),
                                      [None if np.isnan(v) else float(v) for v in c.sd()], dashed=not entry.official))
        lines = [(float(r["value"]), f"reported in paper: {r.get('setting', '')}") for r in refs
                 if r.get("metric") == metric]
        out.append({"svg": learning_curve_svg(series, metric, lines),
                    "caption": f"{metric} vs labelled-set size: mean over seeds ± 1 sd; unofficial runs dashed."})
    return out


def _runs_table(info: _TaskInfo, links: dict[str, str]) -> Table:
    columns = [Column("Entry"), Column("Status"), Column("Model"), Column("Seeds", numeric=True),
               Column("Config hash"), Column("git"), Column("Data"), Column("Finished")]
    rows = []
    for e in sorted(info.entries, key=lambda x: x.label):
        env = e.record.get("environment") or {}
        git = (env.get("git") or {}).get("sha") or "–"
        cells = [_entry_cell(e, links[e.run_id]),
                 Cell("official" if e.official else "unofficial", int(e.official),
                      badges=[], title="; ".join(e.unofficial_reasons)),
                 Cell(e.model), Cell(", ".join(map(str, e.seeds)), len(e.seeds), numeric=True),
                 Cell(str(e.record.get("config_hash", "–"))[:12]), Cell(str(git)[:10]),
                 Cell(str((e.record.get("data") or {}).get("source", "–"))), Cell(str(e.record.get("finished", "–")))]
        rows.append(Row(cells, "" if e.official else "unofficial"))
    return Table("table-runs", columns, rows)


def _task_facts(info: _TaskInfo) -> list[tuple[str, str]]:
    card = info.card
    conv = (card.get("metrics") or {}).get("conventions") or {}
    facts = [("metrics shown", ", ".join(info.metrics)),
             ("ranking", (f"{info.ranking.scheme}; tests {info.ranking.test} on cases, {info.ranking.seed_test} on "
                          f"seeds; {info.ranking.correction} correction; α = {info.ranking.alpha:g}"))]
    for metric in info.metrics:
        spec = get_metric(metric)
        better = "higher" if spec.higher_is_better else "lower"
        facts.append((metric, (f"{spec.description}; {better} is better; worst value {spec.worst:g}; empty inputs: "
                               f"{spec.empty_policy}")))
    facts += [(f"convention: {k}", str(v)) for k, v in conv.items() if v not in ("", None)]
    data = card.get("data") or {}
    if data.get("source"):
        facts.append(("data source", str(data["source"])))
    if (data.get("split") or {}).get("sha256"):
        facts.append(("split sha256", str(data["split"]["sha256"])))
    for ref in card.get("reference_results") or []:
        note = f"; {ref['note']}" if ref.get("note") else ""
        facts.append(("reported in paper", (f"{ref.get('metric')} = {ref.get('value')} ({ref.get('setting')}); "
                                            f"source: {ref.get('source')}{note}")))
    return facts


def _run_page(entry: RunEntry, task_slug: str) -> dict[str, Any]:
    r = entry.record
    env = r.get("environment") or {}
    git = env.get("git") or {}
    split, data, card = r.get("split") or {}, r.get("data") or {}, r.get("card") or {}
    model_cfg = (r.get("config") or {}).get("model") or {}
    learner = (r.get("config") or {}).get("learner") or {}
    facts = [("run id", entry.run_id), ("task", f"{entry.task} v{r.get('task_version', '?')}"),
             ("model", f"{entry.model} ({model_cfg.get('kind', '?')})"),
             ("learner", str(learner.get("id")) if learner else "–"),
             ("status", str(r.get("status", "?"))),
             ("config hash", str(r.get("config_hash", "–"))),
             ("task card", f"{card.get('path', '–')} · sha256 {card.get('sha256', '–')}"),
             ("split", (f"{split.get('file', '–')} · sha256 {split.get('sha256', '–')} · "
                        f"sizes {split.get('sizes', '–')}")),
             ("data", f"{data.get('source', '–')} · root {data.get('root', '–')} · sha256 {data.get('sha256', '–')}"),
             ("seeds", ", ".join(str(s) for s in r.get("seeds", entry.seeds))),
             ("git", f"{git.get('sha', '–')}" + (" (uncommitted changes)" if git.get("dirty") else "")),
             ("python", str(env.get("python", "–"))), ("platform", str(env.get("platform", "–"))),
             ("device", ", ".join(f"{k}={v}" for k, v in (env.get("device") or {}).items()) or "–"),
             ("started", str(r.get("started", "–"))), ("finished", str(r.get("finished", "–"))),
             ("resumed", ", ".join(r.get("resumed") or []) or "never"),
             ("jobs", str(r.get("jobs_total", "–")))]
    try:
        summary_rows = format_summary(entry.summary) if entry.summary.get("metrics") else []
    except (KeyError, IndexError, TypeError):
        summary_rows = []
    return {"run_id": entry.run_id, "label": entry.label, "task": entry.task, "task_slug": task_slug,
            "official": entry.official, "reasons": entry.unofficial_reasons, "facts": facts,
            "packages": sorted((k, v or "not installed") for k, v in (env.get("packages") or {}).items()),
            "summary_rows": summary_rows,
            "config_yaml": yaml.safe_dump(r.get("config", {}), sort_keys=False, width=110, allow_unicode=True),
            "timings_yaml": yaml.safe_dump(r.get("timings", {}), sort_keys=False, width=110)}


def _prepare_out(out: Path) -> Path:
    """A fresh temporary folder beside ``out``; refuses to replace a folder that is not a generated site."""
    out = out.resolve()
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not (out / MARKER).exists())):
        raise MbenchError(f"{out} exists and is not a leaderboard site built by mbench",
                          expected=f"a new or empty folder, or one with the {MARKER} marker of an earlier build",
                          found=f"{'a file' if not out.is_dir() else 'a folder with other files'}",
                          fix="pass --out with a new folder name")
    out.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))


def _swap_in(tmp: Path, out: Path) -> None:
    tmp.chmod(0o755)
    old = None
    if out.exists():
        old = out.with_name(f".{out.name}.old-{time.time_ns()}")
        out.rename(old)
    tmp.rename(out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def build_site(results: str | Path, config: str | Path | LeaderboardConfig | None = None,
               out: str | Path | None = None, *, resamples: int | None = None) -> BuildReport:
    """Render the leaderboard of the runs under ``results`` into ``out`` (default ``leaderboard/site``).

    Args:
        results: results root (one folder per run).
        config: a ``leaderboard.yaml`` path or a parsed :class:`LeaderboardConfig` (default: the repo's).
        out: the site folder; replaced as a whole, and only if it is empty or an earlier build.
        resamples: overrides ``bootstrap.resamples`` of the config.

    Raises:
        MbenchError: empty or missing results folder, unknown task or metric in the config, or an ``out``
            folder that holds other files.
    """
    from mbench.paths import repo_root

    t_start = time.perf_counter()
    cfg = config if isinstance(config, LeaderboardConfig) else load_leaderboard_config(config)
    boot = cfg.bootstrap if resamples is None else cfg.bootstrap.model_copy(update={"resamples": resamples})
    out = Path(out) if out else repo_root() / "leaderboard" / "site"
    runs, skipped = collect_runs(results)
    infos = _resolve_tasks(cfg, runs)
    listed = {i.id for i in infos}
    for task_id, entries in sorted(runs.items()):
        if task_id not in listed:
            skipped += [SkippedRun(e.run_id, f"task {task_id} is not in the leaderboard config") for e in entries]
    for info in infos:
        if cfg.unofficial == "hide":
            skipped += [SkippedRun(e.run_id, "unofficial run (leaderboard config: unofficial: hide)")
                        for e in info.entries if not e.official]
            info.entries = [e for e in info.entries if e.official]
        for i, entry in enumerate(sorted(info.entries, key=lambda e: e.label)):
            entry.colour = PALETTE[i % len(PALETTE)]
            last = final_round(entry)
            entry.extra["final_labelled"] = next((int(r["n_labelled"]) for r in entry.rows
                                                  if last is None or str(r.get("round")) == str(last)), 0)
    n_runs = sum(len(i.entries) for i in infos)
    used_slugs: set[str] = set()
    links: dict[str, str] = {}
    for info in infos:
        for entry in info.entries:
            slug = slugify(entry.run_id)
            while slug in used_slugs:
                slug += "_"
            used_slugs.add(slug)
            entry.slug = slug
            links[entry.run_id] = f"../runs/{slug}.html"

    site = {"title": cfg.title, "description": cfg.description, "version": __version__,
            "generated": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "n_runs": n_runs,
            "results_name": Path(results).name,
            "config_name": "" if isinstance(config, LeaderboardConfig)
            else Path(config or "leaderboard.yaml").name,
            "tasks": [{"id": i.id, "slug": i.slug} for i in infos]}
    renderer = SiteRenderer(site)
    tmp = _prepare_out(out)
    timings: dict[str, float] = {}
    pages = 0
    task_rows: list[Row] = []
    problems: list[str] = []
    try:
        for info in infos:
            t0 = time.perf_counter()
            page = _task_page(info, boot, links, Path(results))
            timings[f"statistics {info.id}"] = time.perf_counter() - t0
            renderer.write(tmp / "tasks" / f"{info.slug}.html", "task.html", "../", task=page)
            pages += 1
            for entry in info.entries:
                renderer.write(tmp / "runs" / f"{entry.slug}.html", "run.html", "../", run=_run_page(entry, info.slug))
                pages += 1
            task_rows.append(_index_row(info, page))
            problems += [f"{info.id}: {w}" for w in page["warnings"]]
        tasks_table = Table("table-tasks", [Column("Task"), Column("Title"), Column("Protocol"), Column("Ranked by"),
                                            Column("Entries", numeric=True), Column("Unofficial", numeric=True),
                                            Column("Leader", "rank 1 under the task's ranking scheme")], task_rows)
        renderer.write(tmp / "index.html", "index.html", "", tasks_table=tasks_table, skipped=skipped)
        pages += 1
        (tmp / MARKER).write_text("generated by `mbench leaderboard build`; this folder is replaced on rebuild\n")
        _swap_in(tmp, out.resolve())
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return BuildReport(out.resolve(), [i.id for i in infos], n_runs, skipped, pages, time.perf_counter() - t_start,
                       timings, problems)


def _task_page(info: _TaskInfo, boot: Any, links: dict[str, str], results: Path) -> dict[str, Any]:
    card = info.card
    primary = info.metrics[0]
    protocol = card.get("protocol") or {}
    page: dict[str, Any] = {
        "id": info.id, "title": card.get("title", info.id), "version": card.get("version", "?"),
        "problem": card.get("problem", "?"), "protocol": protocol.get("name", "?"),
        "case_unit": ((card.get("metrics") or {}).get("conventions") or {}).get("case_unit", "case"),
        "primary": primary, "higher_is_better": get_metric(primary).higher_is_better, "paper": card.get("paper", ""),
        "ranking": info.ranking.scheme + (f" ({info.ranking.aggregate})" if info.ranking.scheme != "test_then_rank"
                                          else ""),
        "warnings": [], "views": [], "curves": [], "leaders": [], "facts": _task_facts(info),
        "runs_table": _runs_table(info, links)}
    if not info.entries:
        return page
    try:
        views = analyse_task(results, info.id, info.entries, info.metrics, info.ranking, boot)
        page["curves"] = _curves(info, results) if any(e.is_active_learning for e in info.entries) else []
    except MbenchError as exc:
        log.warning("task %s: cannot compare its runs: %s", info.id, exc)
        page["warnings"].append(f"The runs of this task cannot be compared: {exc}")
        return page
    page["leaders"] = [label for label in views[0].labels if views[0].ranks[label] == 1]
    for view in views:
        stab, sig = view.stability, view.significance
        page["views"].append({
            "key": view.key, "title": view.title, "note": view.note, "warnings": view.warnings, "metric": primary,
            "test": view.test, "correction": info.ranking.correction, "alpha": f"{info.ranking.alpha:g}",
            "table": _view_table(info, view, links, boot.ci), "legend": _legend(info, boot, view),
            "heatmap": None if sig is None else heatmap_svg(list(sig.models), sig.p_adjusted, sig.significant,
                                                            info.ranking.alpha),
            "stability": None if stab is None else _stability_svg(stab, view.labels),
            "stability_caption": "" if stab is None else _stability_caption(stab, primary, view.unit)})
    return page


def _stability_svg(stab: RankStability, order: list[str]) -> Markup:
    idx = [stab.models.index(m) for m in order]
    freq = (stab.rank_counts() / stab.n_boot)[idx]
    q = stab.rank_quantiles((0.025, 0.975))
    return rank_stability_svg(order, freq, [stab.ranking.rank_of(m) for m in order], np.asarray([q[m] for m in order]))


def _stability_caption(stab: RankStability, metric: str, unit: str) -> str:
    tau = stab.tau_summary()
    text = (f"Rank stability of {metric} over {stab.n_boot} bootstrap resamples of the {unit}s: circle area = share "
            f"of resamples giving that rank, line = 95 % rank interval, red cross = rank on all {unit}s. ")
    if tau["n_undefined"] == stab.n_boot:
        return text + "Kendall's τ is undefined: the full-data ranking or every resampled one ties all entries."
    undefined = f"; undefined in {tau['n_undefined']} resamples (all tied)" if tau["n_undefined"] else ""
    return text + (f"Kendall's τ between the full ranking and the resampled ones: median {_fmt(tau['median'], 3)}, "
                   f"mean {_fmt(tau['mean'], 3)}, 2.5 % quantile {_fmt(tau['q025'], 3)}{undefined} "
                   "(1 = always the same order).")


def _legend(info: _TaskInfo, boot: Any, view: ViewAnalysis) -> str:
    worst = ", ".join(f"{m}: {get_metric(m).worst:g}" for m in info.metrics)
    unit = view.unit
    return (f"Rank: {info.ranking.scheme} on {info.metrics[0]} ({view.score_name}; ties share the best rank). "
            f"Tier: 1 + the number of entries significantly better ({view.test}, one-sided, "
            f"{info.ranking.correction}-corrected, α = {info.ranking.alpha:g}). Values: {info.ranking.aggregate} "
            f"with a {boot.ci:.0%} percentile bootstrap interval over {unit}s ({boot.resamples} resamples). "
            f"n: {unit}s in the comparison; scored: {unit}s this entry has a score for; filled: missing or "
            f"undefined {unit}s replaced by the metric's worst value ({worst})."
            + (f" Selection: {'; '.join(view.notes)}." if view.notes else ""))


def _index_row(info: _TaskInfo, page: dict[str, Any]) -> Row:
    leader = ", ".join(page["leaders"]) or "–"
    n_unofficial = sum(not e.official for e in info.entries)
    return Row([Cell(info.id, info.id, href=f"tasks/{info.slug}.html"), Cell(str(info.card.get("title", ""))),
                Cell(str((info.card.get("protocol") or {}).get("name", "?"))), Cell(info.metrics[0]),
                Cell(str(len(info.entries)), len(info.entries), numeric=True),
                Cell(str(n_unofficial), n_unofficial, numeric=True), Cell(leader)])
