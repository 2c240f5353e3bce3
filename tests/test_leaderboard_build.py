"""`mbench leaderboard build` without a browser: config and input errors, escaping, fills, paper rows, CLI."""

from __future__ import annotations

import html
import math
import re
from pathlib import Path

import numpy as np
import pytest
import yaml
from mbench.cli.main import main
from mbench.errors import MbenchError
from mbench.leaderboard import LeaderboardConfig, build_site, load_leaderboard_config
from mbench.leaderboard.builder import MARKER
from mbench.leaderboard.demo import demo_card, write_demo_results
from mbench.leaderboard.svg import CurveSeries, element, heatmap_svg, learning_curve_svg, nice_ticks
from mbench.paths import repo_root
from mbench.results.store import RunFolder

HOSTILE = "<script>alert(1)</script>"


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """Demo results (AL task: 3 samplers x 2 seeds x 3 rounds; holdout: 3 models incl. a hostile name) and site."""
    root = tmp_path_factory.mktemp("lb")
    config = write_demo_results(root / "results", n_cases=24, holdout_models=["unet-a", "unet-b", HOSTILE],
                                resamples=100)
    report = build_site(root / "results", config, root / "site")
    return root, config, report


def _html(site: Path) -> dict[str, str]:
    return {str(p.relative_to(site)): p.read_text() for p in site.rglob("*.html")}


def test_site_has_index_task_and_run_pages(demo):
    root, _, report = demo
    site = root / "site"
    pages = _html(site)
    assert set(pages) == {"index.html", "tasks/demo-al-seg.html", "tasks/demo-seg.html",
                          *(f"runs/{p.name}" for p in (site / "runs").iterdir())}
    assert len(list((site / "runs").iterdir())) == report.runs == 7  # 3 AL + 3 holdout + 1 unofficial
    assert report.pages == len(pages) and (site / MARKER).is_file()
    al = pages["tasks/demo-al-seg.html"]
    for anchor in ('id="table-final"', 'id="table-aulc"', 'id="learning-curves"', 'class="significance"',
                   'class="stability"'):
        assert anchor in al
    assert 'id="table-test"' in pages["tasks/demo-seg.html"] and 'id="table-aulc"' not in pages["tasks/demo-seg.html"]


def test_hostile_name_is_escaped_everywhere(demo):
    root, _, _ = demo
    pages = _html(root / "site")
    assert any("&lt;script&gt;alert(1)&lt;/script&gt;" in text for text in pages.values())
    for name, text in pages.items():
        assert "<script>alert" not in text, name
        assert len(re.findall(r"<script\b", text)) == 1, name  # the page's own sort script only


def test_every_page_forbids_network_and_foreign_scripts(demo):
    root, _, _ = demo
    for name, text in _html(root / "site").items():
        csp = html.unescape(re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', text).group(1))
        assert "default-src 'none'" in csp and "connect-src 'none'" in csp, name
        assert re.search(r"script-src 'sha256-[A-Za-z0-9+/=]+';", csp), name
        assert not re.search(r"""(src|href)=["']?(https?:)?//""", text), name  # no external resource or link


def test_missing_and_nan_cases_are_filled_and_counted(demo):
    root, _, _ = demo
    text = (root / "site" / "tasks" / "demo-seg.html").read_text()
    row = next(r for r in re.findall(r"<tr.*?</tr>", text, re.DOTALL) if "&lt;script&gt;" in r)
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row, re.DOTALL)
    assert cells[-4:] == ["24", "21 / 24", "3", "0"]  # n, scored (2 missing, 1 NaN), filled, seeds
    assert "filled with the worst value of dice (0)" in text


def test_table_mean_is_the_mean_of_the_worst_filled_case_scores(demo):
    root, _, _ = demo
    folder = next(p for p in (root / "results").iterdir() if p.name.startswith("demo-seg--_script"))
    values = {r["case"]: float(r["value"]) for r in RunFolder(folder).read_scores()}
    filled = [0.0 if math.isnan(v) else v for v in values.values()] + [0.0, 0.0]  # 2 missing cases
    text = (root / "site" / "tasks" / "demo-seg.html").read_text()
    row = next(r for r in re.findall(r"<tr.*?</tr>", text, re.DOTALL) if "&lt;script&gt;" in r)
    assert f'data-sort="{np.mean(filled)!r}"' in row or f"{np.mean(filled):.4f}" in row


def test_paper_numbers_are_separate_marked_rows_with_source(demo):
    root, _, _ = demo
    text = (root / "site" / "tasks" / "demo-al-seg.html").read_text()
    final = text[text.index('id="table-final"'):text.index('id="table-aulc"')]
    paper = [r for r in re.findall(r"<tr.*?</tr>", final, re.DOTALL) if 'class="paper"' in r]
    assert len(paper) == 1 and "reported in paper" in paper[0] and "source: made-up demo paper" in paper[0]
    assert "0.7890" in paper[0]
    aulc = text[text.index('id="table-aulc"'):]
    assert 'class="paper"' not in aulc[:aulc.index("</table>")]  # no paper number for the area under the curve


def test_unofficial_run_is_marked_or_hidden(demo, tmp_path):
    root, config, _ = demo
    text = (root / "site" / "tasks" / "demo-seg.html").read_text()
    assert text.count('<span class="badge unofficial"') >= 2  # ranked table and runs table
    hidden = config.model_copy(update={"unofficial": "hide"})
    report = build_site(root / "results", hidden, tmp_path / "site")
    assert any("unofficial" in s.reason for s in report.skipped)
    assert 'class="badge unofficial"' not in (tmp_path / "site" / "tasks" / "demo-seg.html").read_text()


def test_provenance_page_shows_hashes_versions_seeds_and_config(demo):
    root, _, _ = demo
    folder = next(p for p in (root / "results").iterdir() if p.name.startswith("demo-al-seg--mvaal"))
    record = RunFolder(folder).read_record()
    page = (root / "site" / "runs" / f"{folder.name}.html").read_text()
    for needle in (record["config_hash"], record["split"]["sha256"], record["data"]["sha256"], "numpy",
                   np.__version__, "<dt>seeds</dt><dd>0, 1</dd>", "initial_size: 200"):
        assert needle in page, needle


def test_incomplete_run_and_unlisted_task_are_listed_as_left_out(tmp_path):
    config = write_demo_results(tmp_path / "results", n_cases=8, al_models=(), holdout_models=2, unofficial=False,
                                resamples=20)
    RunFolder(tmp_path / "results" / "demo-seg--crashed--0").write_record(
        {"run_id": "x", "status": "failed", "task": "demo-seg", "model": "crashed"})
    only_al = LeaderboardConfig.model_validate({"tasks": [{"id": "demo-seg"}]})
    report = build_site(tmp_path / "results", only_al.model_copy(update={"bootstrap": config.bootstrap}),
                        tmp_path / "site")
    assert [(s.path, s.reason.split(",")[0]) for s in report.skipped] == [("demo-seg--crashed--0", "status 'failed'")]
    assert "demo-seg--crashed--0" in (tmp_path / "site" / "index.html").read_text()


def test_registry_task_uses_its_card_title_and_paper_numbers(tmp_path):
    """A run of a real task card: the page takes the title and reported numbers from the registry card."""
    rng = np.random.default_rng(1)
    for model in ("random", "mvaal"):
        rows = [{"task": "brats18-al-wtseg", "model": model, "seed": s, "fold": "", "round": r,
                 "n_labelled": 40 + 20 * r, "case": f"c{i}", "group": "", "metric": "dice",
                 "value": float(rng.uniform(0.5, 0.9)), "note": ""}
                for s in (0, 1) for r in range(3) for i in range(10)]
        folder = RunFolder(tmp_path / "results" / f"brats18-al-wtseg--{model}--0123456789")
        folder.write_record({"run_id": folder.run_id, "status": "complete", "task": "brats18-al-wtseg",
                             "model": model, "official": False, "unofficial_reasons": ["quick setting (--quick)"]})
        folder.write_scores(rows)
        from mbench.results.summary import summarise

        folder.write_summary(summarise(rows, ["dice"]), "")
    config = LeaderboardConfig.model_validate({"tasks": [{"id": "brats"}], "bootstrap": {"resamples": 20}})
    report = build_site(tmp_path / "results", config, tmp_path / "site")
    assert report.tasks == ["brats18-al-wtseg"]
    page = (tmp_path / "site" / "tasks" / "brats18-al-wtseg.html").read_text()
    assert "BraTS 2018 HGG whole-tumour segmentation" in page and "Khanal et al. 2023, Sect. 4 (text)" in page
    assert "0.7890" in page


def test_runs_that_cannot_be_compared_are_reported_not_hidden(tmp_path):
    """Active-learning runs with no labelled-set size in common: the task page and the report say why."""
    for model, start in (("random", 10), ("vaal", 100)):
        rows = [{"task": "demo-al-seg", "model": model, "seed": 0, "fold": "", "round": r, "n_labelled": start + 10 * r,
                 "case": f"c{i}", "group": "", "metric": "dice", "value": 0.5 + 0.01 * i, "note": ""}
                for r in range(2) for i in range(5)]
        folder = RunFolder(tmp_path / "results" / f"demo-al-seg--{model}--0")
        folder.write_record({"status": "complete", "task": "demo-al-seg", "model": model, "official": True,
                             "config": {"task": demo_card("demo-al-seg", {"name": "active_learning"})}})
        folder.write_scores(rows)
        folder.write_summary({"metrics": {}}, "")
    config = LeaderboardConfig.model_validate({"tasks": [{"id": "demo-al-seg"}], "bootstrap": {"resamples": 20}})
    report = build_site(tmp_path / "results", config, tmp_path / "site")
    assert len(report.problems) == 1 and "share no labelled-set size" in report.problems[0]
    page = (tmp_path / "site" / "tasks" / "demo-al-seg.html").read_text()
    assert 'class="warn">The runs of this task cannot be compared' in page and "random: [10, 20]" in page


def test_single_entry_and_too_few_cases_are_handled_and_explained(tmp_path):
    write_demo_results(tmp_path / "one", n_cases=12, al_models=(), holdout_models=1, unofficial=False)
    config = LeaderboardConfig.model_validate({"tasks": [{"id": "demo-seg"}], "bootstrap": {"resamples": 20}})
    build_site(tmp_path / "one", config, tmp_path / "site1")
    page = (tmp_path / "site1" / "tasks" / "demo-seg.html").read_text()
    assert 'id="table-test"' in page and 'class="significance"' not in page and 'class="stability"' not in page
    write_demo_results(tmp_path / "few", n_cases=4, al_models=(), holdout_models=3, unofficial=False)
    build_site(tmp_path / "few", config, tmp_path / "site2")
    page = (tmp_path / "site2" / "tasks" / "demo-seg.html").read_text()
    assert "With 4 cases the one-sided wilcoxon test cannot reach p &lt; 0.00833" in page


def test_empty_or_missing_results_folder_is_a_clear_error(tmp_path):
    config = LeaderboardConfig.model_validate({"tasks": [{"id": "demo-seg"}]})
    with pytest.raises(MbenchError, match="does not exist"):
        build_site(tmp_path / "nowhere", config, tmp_path / "site")
    (tmp_path / "empty").mkdir()
    with pytest.raises(MbenchError, match="holds no runs"):
        build_site(tmp_path / "empty", config, tmp_path / "site")
    assert not (tmp_path / "site").exists()


def test_unknown_task_or_metric_in_config_is_a_clear_error(tmp_path):
    write_demo_results(tmp_path / "results", n_cases=6, al_models=(), holdout_models=2, unofficial=False)
    with pytest.raises(MbenchError, match="unknown task in leaderboard.yaml 'demo-sge'; did you mean 'demo-seg'"):
        build_site(tmp_path / "results", LeaderboardConfig.model_validate({"tasks": [{"id": "demo-sge"}]}),
                   tmp_path / "site")
    bad_metric = LeaderboardConfig.model_validate({"tasks": [{"id": "demo-seg", "metrics": ["hd95"]}]})
    with pytest.raises(MbenchError, match=r"metric\(s\) \['hd95'\] of task demo-seg, which it does not report"):
        build_site(tmp_path / "results", bad_metric, tmp_path / "site")


def test_bad_config_files_name_the_problem(tmp_path):
    path = tmp_path / "leaderboard.yaml"
    path.write_text("tasks: [{id: demo-seg}]\nranking: {scheme: best_mean}\n")
    with pytest.raises(MbenchError, match="ranking.scheme: Value error, unknown ranking scheme; use one of"):
        load_leaderboard_config(path)
    path.write_text("tasks: [{id: demo-seg}]\nbootstrap: {resampels: 10}\n")
    with pytest.raises(MbenchError, match="bootstrap.resampels: unknown field"):
        load_leaderboard_config(path)
    path.write_text("tasks: [\n")
    with pytest.raises(MbenchError, match="invalid YAML at line"):
        load_leaderboard_config(path)
    with pytest.raises(MbenchError, match="no leaderboard config at"):
        load_leaderboard_config(tmp_path / "missing.yaml")


def test_repo_config_lists_registered_tasks():
    from mbench.tasks.registry import load_task

    config = load_leaderboard_config(repo_root() / "leaderboard" / "leaderboard.yaml")
    assert [load_task(t.id).spec.id for t in config.tasks] == [t.id for t in config.tasks]


def test_out_folder_with_foreign_files_is_never_replaced(demo, tmp_path):
    root, config, _ = demo
    precious = tmp_path / "mine" / "thesis.tex"
    precious.parent.mkdir()
    precious.write_text("do not delete")
    with pytest.raises(MbenchError, match="is not a leaderboard site built by mbench"):
        build_site(root / "results", config, precious.parent)
    assert precious.read_text() == "do not delete"
    build_site(root / "results", config, tmp_path / "site")
    (tmp_path / "site" / "stale.html").write_text("old")
    build_site(root / "results", config, tmp_path / "site")  # an earlier build is replaced whole
    assert not (tmp_path / "site" / "stale.html").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".site")]  # no temporary folders left


def test_cli_builds_and_reports_errors(demo, tmp_path, capsys):
    root, config, _ = demo
    path = tmp_path / "leaderboard.yaml"
    path.write_text(yaml.safe_dump(config.model_dump(mode="json")))
    assert main(["leaderboard", "build", "--results", str(root / "results"), "--config", str(path), "--out",
                 str(tmp_path / "out"), "--resamples", "20"]) == 0
    assert (tmp_path / "out" / "index.html").is_file()
    assert "2 task(s), 7 run(s)" in " ".join(capsys.readouterr().out.split())
    assert main(["leaderboard", "build", "--results", str(tmp_path / "none"), "--config", str(path)]) == 2
    assert "none does not exist" in " ".join(capsys.readouterr().out.split())


def test_svg_builders_escape_and_scale():
    assert str(element("text", HOSTILE, title='"x"')) == \
        '<text title="&#34;x&#34;">&lt;script&gt;alert(1)&lt;/script&gt;</text>'
    assert nice_ticks(0.0, 1.0) == [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    curve = str(learning_curve_svg([CurveSeries(HOSTILE, "#000", [10, 20], [0.5, 0.7], [0.1, None])], "dice",
                                   [(0.8, HOSTILE)]))
    assert "<script" not in curve and curve.count("<polyline") == 1 and 'class="reference"' in curve
    p = np.array([[np.nan, 0.001], [0.9, np.nan]])
    heat = str(heatmap_svg(["a", HOSTILE], p, p < 0.05, 0.05))
    assert "<script" not in heat and heat.count('class="cell sig"') == 1 and "&lt;script&gt;" in heat


def test_region_task_shows_paper_numbers_in_their_region_columns(tmp_path):
    """camus-ed scores regions (dice:endo, ...); its card's per-region paper numbers land in those columns."""
    from mbench.results.summary import summarise

    rng = np.random.default_rng(2)
    for model in ("unet_ronneberger", "segformer_b0"):
        rows = [{"task": "camus-ed", "model": model, "seed": 0, "fold": "", "round": "", "n_labelled": 40,
                 "case": f"c{i}", "group": "", "region": region, "metric": metric,
                 "value": float(rng.uniform(0.6, 0.95)), "note": ""}
                for i in range(10) for region in ("endo", "epi", "atrium") for metric in ("dice", "iou")]
        folder = RunFolder(tmp_path / "results" / f"camus-ed--{model}--0123456789")
        folder.write_record({"run_id": folder.run_id, "status": "complete", "task": "camus-ed", "model": model,
                             "official": True, "unofficial_reasons": []})
        folder.write_scores(rows)
        folder.write_summary(summarise(rows, ["dice", "iou"]), "")
    config = LeaderboardConfig.model_validate({"tasks": [{"id": "camus-ed"}], "bootstrap": {"resamples": 20}})
    build_site(tmp_path / "results", config, tmp_path / "site")
    page = (tmp_path / "site" / "tasks" / "camus-ed.html").read_text()
    assert "dice:endo" in page and "dice:atrium" in page
    assert page.count("reported in paper") >= 3 and "0.9000" in page and "0.8300" in page
