"""The leaderboard site opened in headless Chromium: tables, sorting, plots, escaping, no network, screenshot.

Needs Debian's ``chromium`` (``apt-get install -y chromium``) and the ``playwright`` Python package; the
browser that ``playwright install`` would download is never used. The tests skip only when
``/usr/bin/chromium`` is absent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from mbench.leaderboard import build_site
from mbench.leaderboard.demo import write_demo_results

CHROMIUM = Path("/usr/bin/chromium")
HOSTILE = "<script>alert(1)</script>"
REPO = Path(__file__).resolve().parents[1]
SCREENSHOT = REPO / "docs" / "leaderboard.png"

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium is not installed at /usr/bin/chromium "
                                "(apt-get install -y chromium); the browser tests need it")


@dataclass
class Visit:
    """A page and everything it did: requests, console errors, dialogs."""

    page: object
    requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    def open(self, path: Path) -> object:
        self.page.goto(path.as_uri())
        self.page.wait_for_load_state("load")
        return self.page

    def assert_clean(self) -> None:
        """Nothing left file://, nothing failed or was blocked, no script opened a dialog."""
        assert self.requests and all(u.startswith("file://") for u in self.requests), self.requests
        assert not self.errors, self.errors
        assert not self.dialogs, self.dialogs


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("browser")
    config = write_demo_results(root / "results", n_cases=30, al_models=("random", "vaal", "mvaal"), seeds=(0, 1),
                                rounds=3, holdout_models=["unet-a", "unet-b", HOSTILE], resamples=200)
    build_site(root / "results", config, root / "site")
    return root / "site"


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                     args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                                           "--disable-component-update", "--no-first-run"])
        yield chromium
        chromium.close()


@pytest.fixture
def visit(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 1000}, device_scale_factor=1)
    page = context.new_page()
    v = Visit(page)
    page.on("request", lambda r: v.requests.append(r.url))
    page.on("console", lambda m: v.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: v.errors.append(str(e)))

    def on_dialog(dialog):
        v.dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    yield v
    context.close()


def _column(page, table: str, index: int) -> list[str]:
    return page.locator(f"#{table} tbody tr td:nth-child({index})").all_inner_texts()


def test_index_lists_tasks_and_links_to_them(site, visit):
    page = visit.open(site / "index.html")
    rows = page.locator("#table-tasks tbody tr")
    assert rows.count() == 2
    assert _column(page, "table-tasks", 1) == ["demo-al-seg", "demo-seg"]
    page.click("#table-tasks >> text=demo-al-seg")
    page.wait_for_load_state("load")
    assert page.url.endswith("/tasks/demo-al-seg.html")
    assert page.locator("h1").inner_text().startswith("Synthetic whole-tumour segmentation")
    visit.assert_clean()


def test_ranked_tables_with_cis_tiers_and_paper_rows(site, visit):
    page = visit.open(site / "tasks" / "demo-al-seg.html")
    for table in ("table-final", "table-aulc", "table-runs"):
        assert page.locator(f"#{table}").is_visible()
    headers = page.locator("#table-final thead th").all_inner_texts()
    assert [h.strip() for h in headers] == ["Rank", "Tier", "Entry", "dice", "n", "Scored", "Filled", "Seeds",
                                            "Labelled"]
    assert _column(page, "table-final", 3)[:3] == ["mvaal", "vaal", "random"]
    means = _column(page, "table-final", 4)[:3]
    assert all(re.fullmatch(r"0\.\d{4}\n?\[0\.\d{4}, 0\.\d{4}\]", c.strip()) for c in means), means
    assert page.locator("#table-final .tier").count() == 3
    paper = page.locator("#table-final tr.paper")
    assert paper.count() == 1 and "reported in paper" in paper.inner_text()
    assert "source: made-up demo paper" in paper.inner_text()
    visit.assert_clean()


def test_clicking_a_header_sorts_the_table(site, visit):
    page = visit.open(site / "tasks" / "demo-al-seg.html")
    before = _column(page, "table-final", 3)
    page.click("#table-final thead th:nth-child(3) button")
    ascending = _column(page, "table-final", 3)
    models = [m for m in ascending if m in ("mvaal", "vaal", "random")]
    assert models == ["mvaal", "random", "vaal"] and ascending != before
    assert page.get_attribute("#table-final thead th:nth-child(3)", "aria-sort") == "ascending"
    page.click("#table-final thead th:nth-child(3) button")
    assert [m for m in _column(page, "table-final", 3) if m in models] == ["vaal", "random", "mvaal"]
    page.click("#table-final thead th:nth-child(4) button")  # numeric column: the dice mean
    values = [float(v.split()[0]) for v in _column(page, "table-final", 4)]
    assert values == sorted(values) and len(values) == 4  # three entries and the paper row
    page.click("#table-final thead th:nth-child(4) button")
    values = [float(v.split()[0]) for v in _column(page, "table-final", 4)]
    assert values == sorted(values, reverse=True)
    visit.assert_clean()


def test_plots_render_as_non_empty_svg(site, visit):
    page = visit.open(site / "tasks" / "demo-al-seg.html")
    plots = page.locator("svg.plot")
    assert plots.count() == 5  # significance map and rank stability for two views, one learning-curve plot
    for i in range(plots.count()):
        box = plots.nth(i).bounding_box()
        assert box["width"] > 150 and box["height"] > 100
    heatmap = page.locator("#view-final figure.significance svg")
    assert heatmap.locator("rect.cell").count() == 9
    assert heatmap.locator("rect.cell.sig").count() >= 1
    assert page.locator("#view-final figure.stability svg circle.blob").count() >= 3
    curves = page.locator("#learning-curves svg")
    assert curves.locator("g.series").count() == 3
    for points in curves.locator("polyline.curve").evaluate_all("els => els.map(e => e.getAttribute('points'))"):
        assert len(points.split()) == 3  # one point per round
    bands = curves.locator("polygon.band").evaluate_all("els => els.map(e => e.getBBox().height)")
    assert len(bands) == 3 and all(h > 0 for h in bands)  # the sd band over seeds is drawn
    assert curves.locator("line.reference").count() == 1
    visit.assert_clean()


def test_hostile_model_name_is_shown_as_text_and_never_runs(site, visit):
    page = visit.open(site / "tasks" / "demo-seg.html")
    assert page.get_by_text(HOSTILE, exact=True).count() >= 2  # ranked table and runs table
    titles = page.locator("svg title").evaluate_all("els => els.map(e => e.textContent)")
    assert titles.count(HOSTILE) >= 4  # heatmap row and column, stability label and its blobs: all as text
    assert page.locator("svg script").count() == 0
    assert page.evaluate("document.scripts.length") == 1
    assert page.evaluate("typeof window.alert") == "function" and not visit.dialogs
    row = page.locator("#table-test tbody tr", has_text=HOSTILE)
    assert row.locator("td").nth(6).inner_text() == "3"  # filled: 2 missing cases and 1 NaN
    assert page.locator("#table-test .badge.unofficial").count() == 1
    page.click(f"#table-test >> text={HOSTILE}")
    page.wait_for_load_state("load")
    assert "/runs/" in page.url and page.locator("h1").inner_text() == f"Run {HOSTILE}"
    visit.assert_clean()


def test_provenance_page_and_screenshot(site, visit):
    page = visit.open(site / "tasks" / "demo-al-seg.html")
    bottom = page.locator("#learning-curves").bounding_box()
    SCREENSHOT.parent.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOT), clip={"x": 0, "y": 0, "width": 1280, "height": bottom["y"] +
                                                bottom["height"] + 8}, full_page=True)
    assert SCREENSHOT.stat().st_size > 20_000
    page.click("#table-final >> text=mvaal")
    page.wait_for_load_state("load")
    text = page.locator("main").inner_text()
    for needle in ("config hash", "split", "Package versions", "numpy", "Resolved configuration", "seeds"):
        assert needle in text, needle
    assert page.locator("text=initial_size: 200").count() == 1
    visit.assert_clean()
