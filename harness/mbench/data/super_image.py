"""Super images (paper 24): the axial slices of a volume laid out in one 2D grid, and the exact way back.

A volume ``(C, D, H, W)`` (or a label map ``(D, H, W)``) becomes one image ``(C, rows * H, cols * W)``
(``(rows * H, cols * W)``): slice ``k`` fills grid cell ``(k // cols, k % cols)`` (row-major, the order the
paper places slices "side by side"), and cells beyond the last slice (``rows * cols > D``) are filled with
``fill`` (zero). :func:`untile` reads the ``D`` cells back, so ``untile(tile(x, g), g)`` is ``x`` bit for bit.

Grid choice (:func:`choose_grid`): the paper always uses ``rows * cols = D`` with square-like grids
(144 slices: 12 x 12, 48 slices: 8 x 6, 88 slices: 11 x 8, 64 slices: 8 x 8), and reports that elongated grids
do worse (its Table 2). The default rule reproduces those choices: the factorisation ``rows * cols = D`` with
``rows >= cols`` closest to square; when that is more elongated than ``max_aspect`` (a prime ``D``, say), the
grid is ``ceil(sqrt(D))`` rows by ``ceil(D / rows)`` columns with the unfilled cells padded.

Example:
    >>> import numpy as np
    >>> x = np.arange(2 * 5 * 3 * 4, dtype=np.float32).reshape(2, 5, 3, 4)
    >>> grid = choose_grid(5)
    >>> grid
    SuperImageGrid(depth=5, rows=3, cols=2)
    >>> s = tile(x, grid)
    >>> s.shape
    (2, 9, 8)
    >>> bool(np.array_equal(untile(s, grid), x)), bool(np.array_equal(s[:, 3:6, 4:8], x[:, 3]))
    (True, True)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from mbench.errors import MbenchError

__all__ = ["SuperImageGrid", "choose_grid", "parse_grid", "tile", "untile"]


@dataclass(frozen=True)
class SuperImageGrid:
    """A grid of ``rows`` x ``cols`` cells holding ``depth`` slices in row-major order."""

    depth: int
    rows: int
    cols: int

    def __post_init__(self) -> None:
        if min(self.depth, self.rows, self.cols) < 1:
            raise MbenchError("a super-image grid needs at least one slice, row and column",
                              found=f"depth={self.depth}, rows={self.rows}, cols={self.cols}")
        if self.rows * self.cols < self.depth:
            raise MbenchError(f"a {self.rows} x {self.cols} grid has {self.rows * self.cols} cells, too few for "
                              f"{self.depth} slices", expected=f"rows * cols >= {self.depth}",
                              found=f"{self.rows} x {self.cols}",
                              fix="choose a larger grid, or leave the grid to choose_grid")

    @property
    def empty_cells(self) -> int:
        """Cells after the last slice (zero-padded)."""
        return self.rows * self.cols - self.depth

    @property
    def name(self) -> str:
        """``<rows>x<cols>``, e.g. ``8x6``."""
        return f"{self.rows}x{self.cols}"

    def image_shape(self, height: int, width: int) -> tuple[int, int]:
        """(rows * height, cols * width): the super image's size for slices of ``height`` x ``width``."""
        return self.rows * height, self.cols * width


def choose_grid(depth: int, rows: int | None = None, cols: int | None = None, *,
                max_aspect: float = 2.0) -> SuperImageGrid:
    """The grid for ``depth`` slices: the explicit ``rows`` / ``cols`` where given, else the paper's rule.

    One of ``rows`` / ``cols`` alone fixes it and the other is ``ceil(depth / given)``.

    Example:
        >>> [choose_grid(d).name for d in (144, 48, 88, 64, 7, 1)]
        ['12x12', '8x6', '11x8', '8x8', '3x3', '1x1']
        >>> choose_grid(48, 2, 24).name, choose_grid(10, cols=4).name
        ('2x24', '3x4')
    """
    depth = int(depth)
    if depth < 1:
        raise MbenchError("a volume needs at least one slice to tile", found=f"depth={depth}")
    if rows is not None and cols is not None:
        return SuperImageGrid(depth, int(rows), int(cols))
    if rows is not None:
        return SuperImageGrid(depth, int(rows), math.ceil(depth / int(rows)))
    if cols is not None:
        return SuperImageGrid(depth, math.ceil(depth / int(cols)), int(cols))
    c = max(d for d in range(1, math.isqrt(depth) + 1) if depth % d == 0)
    r = depth // c
    if r / c <= max_aspect:
        return SuperImageGrid(depth, r, c)
    r = math.isqrt(depth - 1) + 1  # ceil(sqrt(depth))
    return SuperImageGrid(depth, r, math.ceil(depth / r))


def parse_grid(text: str | list[int] | tuple[int, int] | None, depth: int) -> SuperImageGrid:
    """A grid from a card value: ``auto``/``None`` (the default rule), ``"8x6"`` or ``[8, 6]`` (rows, cols).

    Example:
        >>> parse_grid("8x6", 48).name, parse_grid("auto", 48).name, parse_grid([6, 8], 48).name
        ('8x6', '8x6', '6x8')
    """
    if text is None or text == "auto":
        return choose_grid(depth)
    if isinstance(text, str):
        parts = text.lower().split("x")
        if len(parts) != 2 or not all(p.strip().isdigit() for p in parts):
            raise MbenchError(f"cannot read the super-image grid {text!r}", expected="'auto' or '<rows>x<cols>'",
                              found=text, fix="write e.g. 8x6")
        return choose_grid(depth, int(parts[0]), int(parts[1]))
    rows, cols = text
    return choose_grid(depth, int(rows), int(cols))


def _as_channels(array: np.ndarray, ndim_volume: int) -> tuple[np.ndarray, bool]:
    if array.ndim == ndim_volume - 1:
        return array[None], True
    if array.ndim == ndim_volume:
        return array, False
    raise MbenchError("wrong number of dimensions to tile", expected=f"{ndim_volume - 1} or {ndim_volume}",
                      found=f"shape {array.shape}")


def tile(volume: np.ndarray, grid: SuperImageGrid, fill: float | int = 0) -> np.ndarray:
    """Lay the slices of ``volume`` (C, D, H, W) or (D, H, W) in ``grid``: (C, rows*H, cols*W) or (rows*H, cols*W).

    The dtype is kept (label maps stay integer); empty cells hold ``fill``.
    """
    x, squeeze = _as_channels(np.asarray(volume), 4)
    c, d, h, w = x.shape
    if d != grid.depth:
        raise MbenchError("the volume's depth differs from the grid's", expected=f"{grid.depth} slices",
                          found=f"{d} slices (shape {x.shape})", fix="choose the grid for this volume's depth")
    cells = np.full((c, grid.rows * grid.cols, h, w), fill, dtype=x.dtype)
    cells[:, :d] = x
    out = cells.reshape(c, grid.rows, grid.cols, h, w).transpose(0, 1, 3, 2, 4).reshape(c, grid.rows * h,
                                                                                          grid.cols * w)
    return out[0] if squeeze else out


def untile(image: np.ndarray, grid: SuperImageGrid) -> np.ndarray:
    """The volume back from a super image: (C, rows*H, cols*W) -> (C, D, H, W), (rows*H, cols*W) -> (D, H, W)."""
    s, squeeze = _as_channels(np.asarray(image), 3)
    c, hh, ww = s.shape
    if hh % grid.rows or ww % grid.cols:
        raise MbenchError("the super image does not divide into the grid", expected=f"a multiple of "
                          f"{grid.rows} rows and {grid.cols} columns", found=f"shape {s.shape}")
    h, w = hh // grid.rows, ww // grid.cols
    cells = s.reshape(c, grid.rows, h, grid.cols, w).transpose(0, 1, 3, 2, 4).reshape(c, grid.rows * grid.cols, h, w)
    out = np.ascontiguousarray(cells[:, :grid.depth])
    return out[0] if squeeze else out
