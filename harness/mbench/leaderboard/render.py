"""Jinja2 rendering of the leaderboard pages, with autoescaping and a strict Content-Security-Policy.

Every page carries its stylesheet and its one script inline, so a page works alone, offline, from
``file://`` or any static host. The policy allows exactly that script (by its sha256) and that
stylesheet, and no network access at all, so even an escaping bug could not run injected code.

Example:
    >>> from markupsafe import Markup
    >>> renderer = SiteRenderer({"title": "t", "tasks": [], "version": "0", "generated": "now", "n_runs": 0,
    ...                          "results_name": "results", "config_name": "leaderboard.yaml"})
    >>> "connect-src 'none'" in renderer.csp
    True
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

__all__ = ["Badge", "Cell", "Column", "Row", "SiteRenderer", "Table", "static_text"]


@dataclass(frozen=True)
class Badge:
    """A small label next to a cell's text (``kind``: unofficial, paper, official)."""

    text: str
    kind: str
    title: str = ""


@dataclass
class Cell:
    """One table cell: text, an optional sort key (``data-sort``), a second line, a link, badges, a tier."""

    text: str = ""
    sort: str | float | int | None = None
    sub: str = ""
    title: str = ""
    href: str = ""
    numeric: bool = False
    tier: int | None = None
    badges: list[Badge] = field(default_factory=list)


@dataclass(frozen=True)
class Column:
    """A table column header (every column is sortable)."""

    label: str
    title: str = ""
    numeric: bool = False


@dataclass
class Row:
    """A table row; ``cls`` marks paper rows (``paper``) and unofficial entries (``unofficial``)."""

    cells: list[Cell]
    cls: str = ""


@dataclass
class Table:
    """A sortable table."""

    id: str
    columns: list[Column]
    rows: list[Row]


def static_text(name: str) -> str:
    """A file from the package's ``static/`` folder.

    Example:
        >>> "sortable" in static_text("sort.js")
        True
    """
    return resources.files("mbench.leaderboard").joinpath("static", name).read_text(encoding="utf-8")


def _sha256_source(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii") + "'"


class SiteRenderer:
    """Renders the index, task and run pages into a folder."""

    def __init__(self, site: dict[str, Any]) -> None:
        self.site = site
        self.env = Environment(loader=PackageLoader("mbench.leaderboard", "templates"), autoescape=True,
                               undefined=StrictUndefined, trim_blocks=False, lstrip_blocks=False)
        self.script = static_text("sort.js")
        self.css = static_text("style.css")
        self.csp = ("default-src 'none'; " f"script-src {_sha256_source(self.script)}; "
                    f"style-src {_sha256_source(self.css)}; img-src data:; connect-src 'none'; "
                    "base-uri 'none'; form-action 'none'")

    def render(self, template: str, root: str, **context: Any) -> str:
        """One page as HTML text; ``root`` is the relative path from the page to the site root."""
        return self.env.get_template(template).render(site=self.site, root=root, csp=self.csp,
                                                      script=Markup(self.script), css=Markup(self.css), **context)

    def write(self, path: Path, template: str, root: str, **context: Any) -> Path:
        """Render a page into ``path`` (the builder writes into a fresh folder and swaps it in whole)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.render(template, root, **context), encoding="utf-8")
        return path
