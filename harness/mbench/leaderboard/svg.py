"""Plots drawn server-side as inline SVG: learning curves, significance heatmaps, rank-stability blobs.

Every text and attribute value goes through :func:`markupsafe.escape`, so a hostile model name is
drawn as text and never becomes markup.

Example:
    >>> str(element("text", "<b>", x=1, font_size=10))
    '<text x="1" font-size="10">&lt;b&gt;</text>'
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from markupsafe import Markup, escape

__all__ = [
    "PALETTE",
    "CurveSeries",
    "element",
    "heatmap_svg",
    "learning_curve_svg",
    "nice_ticks",
    "rank_stability_svg",
]

# Okabe-Ito followed by Tableau-20 tones: distinguishable, also for colour-blind readers.
PALETTE = ["#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#7a7a7a", "#f0c400", "#8c564b",
           "#17becf", "#9467bd", "#bcbd22", "#1f3f77", "#ff9896", "#2ca02c", "#c5b0d5", "#393b79", "#e7969c",
           "#637939", "#843c39"]

_FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif"
_CHAR_W = 6.6  # rough width of one 11 px character, for layout


def element(tag: str, *children: str | Markup, **attrs: object) -> Markup:
    """One SVG element; ``font_size=10`` becomes ``font-size="10"``; plain-string children are escaped."""
    parts = [f'{k.rstrip("_").replace("_", "-")}="{escape(str(v))}"' for k, v in attrs.items() if v is not None]
    head = f"<{tag}{' ' if parts else ''}{' '.join(parts)}"
    if not children:
        return Markup(head + "/>")
    return Markup(head + ">" + "".join(str(escape(c)) for c in children) + f"</{tag}>")


def _svg(width: float, height: float, body: Iterable[Markup], label: str) -> Markup:
    return element("svg", element("title", label), *body, xmlns="http://www.w3.org/2000/svg",
                   viewBox=f"0 0 {width:.0f} {height:.0f}", width=f"{width:.0f}", height=f"{height:.0f}",
                   role="img", aria_label=label, font_family=_FONT, font_size=11, class_="plot")


def _short(text: str, n: int = 22) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def _fmt(v: float) -> str:
    return f"{v:.3g}" if abs(v) < 1000 else f"{v:.0f}"


def nice_ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    """About ``n`` round tick values covering ``[lo, hi]``.

    Example:
        >>> nice_ticks(0.12, 0.87)
        [0.2, 0.4, 0.6, 0.8]
    """
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return [lo] if math.isfinite(lo) else []
    raw = (hi - lo) / max(n, 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    first = math.ceil(lo / step - 1e-9) * step
    return [round(first + i * step, 12) for i in range(int((hi - first) / step + 1e-9) + 1)]


@dataclass(frozen=True)
class CurveSeries:
    """One line of a learning-curve plot: x = labelled-set size, mean and sd over seeds."""

    label: str
    colour: str
    x: Sequence[float]
    mean: Sequence[float]
    sd: Sequence[float | None]
    dashed: bool = False


def learning_curve_svg(series: Sequence[CurveSeries], metric: str, references: Sequence[tuple[float, str]] = (),
                       width: int = 640, height: int = 340) -> Markup:
    """Metric vs labelled-set size, one line per entry with a mean ± sd band; paper numbers as dashed lines."""
    legend_w = min(240, 28 + _CHAR_W * max((len(_short(s.label, 30)) for s in series), default=4))
    left, right, top, bottom = 56, legend_w + 16, 16, 44
    pw, ph = width - left - right, height - top - bottom
    xs = [float(x) for s in series for x in s.x]
    ys = [float(m) + sign * float(sd or 0) for s in series for m, sd in zip(s.mean, s.sd) for sign in (-1, 1)
          if m is not None and math.isfinite(float(m))]
    ys += [float(v) for v, _ in references]
    if not xs or not ys:
        return _svg(width, 60, [element("text", "no learning-curve points", x=10, y=30)], f"{metric}: no data")
    x0, x1 = min(xs), max(xs)
    if x1 == x0:
        x0, x1 = x0 - 1, x1 + 1
    y0, y1 = min(ys), max(ys)
    pad = (y1 - y0) * 0.08 or 0.05
    y0, y1 = y0 - pad, y1 + pad

    def sx(v: float) -> float:
        return left + (v - x0) / (x1 - x0) * pw

    def sy(v: float) -> float:
        return top + (1 - (v - y0) / (y1 - y0)) * ph

    body: list[Markup] = [element("rect", x=left, y=top, width=pw, height=ph, fill="#fbfbfb", stroke="#cccccc")]
    for t in nice_ticks(y0, y1):
        body.append(element("line", x1=left, x2=left + pw, y1=f"{sy(t):.1f}", y2=f"{sy(t):.1f}", stroke="#e6e6e6"))
        body.append(element("text", _fmt(t), x=left - 6, y=f"{sy(t) + 4:.1f}", text_anchor="end", fill="#444"))
    for t in sorted({float(x) for x in xs}):
        body.append(element("line", x1=f"{sx(t):.1f}", x2=f"{sx(t):.1f}", y1=top + ph, y2=top + ph + 4, stroke="#888"))
        body.append(element("text", _fmt(t), x=f"{sx(t):.1f}", y=top + ph + 16, text_anchor="middle", fill="#444"))
    body.append(element("text", "labelled-set size", x=left + pw / 2, y=height - 8, text_anchor="middle",
                        fill="#222"))
    body.append(element("text", metric, x=14, y=top + ph / 2, text_anchor="middle", fill="#222",
                        transform=f"rotate(-90 14 {top + ph / 2:.1f})"))
    for value, label in references:
        y = f"{sy(float(value)):.1f}"
        body.append(element("line", element("title", f"{label}: {value:.4g}"), x1=left, x2=left + pw, y1=y, y2=y,
                            stroke="#b00020", stroke_dasharray="6 4", class_="reference"))
        body.append(element("text", _short(label, 60), x=left + 6, y=f"{float(y) - 4:.1f}", fill="#b00020",
                            font_size=10))
    for s in series:
        pts = [(float(x), float(m), float(sd) if sd is not None else 0.0) for x, m, sd in zip(s.x, s.mean, s.sd)
               if m is not None and math.isfinite(float(m))]
        if not pts:
            continue
        upper = " ".join(f"{sx(x):.1f},{sy(m + d):.1f}" for x, m, d in pts)
        lower = " ".join(f"{sx(x):.1f},{sy(m - d):.1f}" for x, m, d in reversed(pts))
        group = [element("title", s.label),
                 element("polygon", points=f"{upper} {lower}", fill=s.colour, fill_opacity="0.15", stroke="none",
                         class_="band"),
                 element("polyline", points=" ".join(f"{sx(x):.1f},{sy(m):.1f}" for x, m, _ in pts), fill="none",
                         stroke=s.colour, stroke_width=2, stroke_dasharray="5 3" if s.dashed else None,
                         class_="curve")]
        group += [element("circle", element("title", f"{s.label}: {m:.4f} ± {d:.4f} at {x:g}"), cx=f"{sx(x):.1f}",
                          cy=f"{sy(m):.1f}", r=3, fill=s.colour) for x, m, d in pts]
        body.append(element("g", *group, class_="series"))
    lx = left + pw + 14
    for i, s in enumerate(series):
        y = top + 8 + 18 * i
        body.append(element("g", element("title", s.label),
                            element("line", x1=lx, x2=lx + 18, y1=y, y2=y, stroke=s.colour, stroke_width=3,
                                    stroke_dasharray="5 3" if s.dashed else None),
                            element("text", _short(s.label, 30), x=lx + 24, y=y + 4, fill="#222"),
                            class_="legend"))
    return _svg(width, height, body, f"learning curves of {metric}")


def _p_text(p: float) -> str:
    """A p-value in at most four characters: ``<.001``, ``.004``, ``0.62``."""
    if p < 0.001:
        return "<.001"
    return f"{p:.3f}"[1:] if p < 0.01 else f"{p:.2f}"


def _blend(colour_hi: tuple[int, int, int], t: float) -> str:
    r, g, b = (round(255 + (c - 255) * t) for c in colour_hi)
    return f"#{r:02x}{g:02x}{b:02x}"


def heatmap_svg(labels: Sequence[str], p_values: np.ndarray, significant: np.ndarray, alpha: float,
                caption: str = "") -> Markup:
    """Significance map: cell (i, j) is dark when entry i is significantly better than entry j.

    ``p_values[i, j]`` is the corrected one-sided p-value of "i better than j" (NaN on the diagonal).
    """
    n = len(labels)
    cell = 52 if n <= 6 else (36 if n <= 12 else max(14, int(440 / n)))
    name_w = 12 + _CHAR_W * max((len(_short(x)) for x in labels), default=4)
    left, top = name_w + 8, name_w * 0.72 + 14
    width, height = left + n * cell + 0.62 * name_w + 8, top + n * cell + (30 if caption else 12)
    body: list[Markup] = []
    for i, row in enumerate(labels):
        y = top + i * cell
        body.append(element("text", element("title", row), _short(row), x=left - 6, y=f"{y + cell / 2 + 4:.1f}",
                            text_anchor="end", fill="#222"))
        for j in range(n):
            x = left + j * cell
            p = float(p_values[i, j])
            if i == j:
                fill, tip = "#eeeeee", row
            else:
                sig = bool(significant[i, j])
                strength = 0.0 if not math.isfinite(p) else min(1.0, -math.log10(max(p, 1e-12)) / 4)
                fill = _blend((0, 90, 160), 0.45 + 0.55 * strength) if sig else _blend((190, 190, 190), 0.35 * strength)
                verdict = "significantly better than" if sig else "not significantly better than"
                tip = f"{row} {verdict} {labels[j]} (corrected p = {p:.3g})"
            children: list[Markup] = [element("title", tip)]
            cls = "cell sig" if i != j and bool(significant[i, j]) else "cell"
            body.append(element("rect", *children, x=x, y=f"{y:.1f}", width=cell - 1, height=cell - 1, fill=fill,
                                class_=cls, data_row=i, data_col=j))
            if i != j and cell >= 30 and math.isfinite(p):
                body.append(element("text", _p_text(p), x=f"{x + cell / 2 - 0.5:.1f}",
                                    y=f"{y + cell / 2 + 3.5:.1f}", text_anchor="middle", font_size=9,
                                    fill="#ffffff" if bool(significant[i, j]) else "#333", pointer_events="none"))
    for j, col in enumerate(labels):
        x = left + j * cell + cell / 2
        body.append(element("text", element("title", col), _short(col), x=f"{x:.1f}", y=f"{top - 6:.1f}",
                            transform=f"rotate(-40 {x:.1f} {top - 6:.1f})", fill="#222"))
    if caption:
        body.append(element("text", caption, x=left, y=f"{top + n * cell + 20:.1f}", fill="#444", font_size=10))
    return _svg(width, height, body, "significance map")


def rank_stability_svg(labels: Sequence[str], rank_freq: np.ndarray, full_ranks: Sequence[float],
                       interval: np.ndarray | None = None, caption: str = "") -> Markup:
    """Blob plot: x = entries (full-data ranking), y = rank; circle area = share of bootstrap samples.

    ``rank_freq[i, r]`` is the share of resamples in which entry ``i`` got rank ``r + 1``;
    ``interval[i]`` the (low, high) rank interval drawn as a line, ``full_ranks[i]`` a cross.
    """
    n = len(labels)
    col = 60 if n <= 6 else (44 if n <= 12 else max(18, int(600 / n)))
    row = 34 if n <= 6 else (28 if n <= 12 else max(14, int(400 / n)))
    name_h = 12 + _CHAR_W * 0.75 * max((len(_short(x)) for x in labels), default=4)
    left, top = 48, 16
    width, height = left + n * col + 0.8 * name_h + 8, top + n * row + name_h + (30 if caption else 12)
    body: list[Markup] = [element("rect", x=left, y=top, width=n * col, height=n * row, fill="#fbfbfb",
                                  stroke="#cccccc")]
    for r in range(n):
        y = top + r * row + row / 2
        body.append(element("text", str(r + 1), x=left - 8, y=f"{y + 4:.1f}", text_anchor="end", fill="#444"))
        body.append(element("line", x1=left, x2=left + n * col, y1=f"{y:.1f}", y2=f"{y:.1f}", stroke="#eeeeee"))
    body.append(element("text", "rank", x=14, y=top + n * row / 2, text_anchor="middle", fill="#222",
                        transform=f"rotate(-90 14 {top + n * row / 2:.1f})"))
    r_max = min(col, row) / 2 - 1
    for i, name in enumerate(labels):
        x = left + i * col + col / 2
        if interval is not None:
            lo, hi = interval[i]
            body.append(element("line", x1=f"{x:.1f}", x2=f"{x:.1f}", y1=f"{top + (lo - 0.5) * row:.1f}",
                                y2=f"{top + (hi - 0.5) * row:.1f}", stroke="#555", stroke_width=1.5))
        for r in range(n):
            share = float(rank_freq[i, r])
            if share <= 0:
                continue
            body.append(element("circle", element("title", f"{name}: rank {r + 1} in {share:.1%} of resamples"),
                                cx=f"{x:.1f}", cy=f"{top + r * row + row / 2:.1f}",
                                r=f"{max(1.2, r_max * math.sqrt(share)):.1f}", fill=PALETTE[0], fill_opacity="0.55",
                                class_="blob"))
        fy = top + (float(full_ranks[i]) - 0.5) * row
        body.append(element("path", element("title", f"{name}: rank {float(full_ranks[i]):g} on all cases"),
                            d=f"M{x - 5:.1f},{fy - 5:.1f} L{x + 5:.1f},{fy + 5:.1f} M{x - 5:.1f},{fy + 5:.1f} "
                              f"L{x + 5:.1f},{fy - 5:.1f}", stroke="#b00020", stroke_width=2))
        ty = top + n * row + 10
        body.append(element("text", element("title", name), _short(name), x=f"{x:.1f}", y=f"{ty:.1f}",
                            transform=f"rotate(40 {x:.1f} {ty:.1f})", fill="#222"))
    if caption:
        body.append(element("text", caption, x=left, y=f"{height - 8:.1f}", fill="#444", font_size=10))
    return _svg(width, height, body, "rank stability")
