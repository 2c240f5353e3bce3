"""Topological image features (ToFi-ML, paper 21): Betti curves of the sublevel filtration of cubical complexes.

For a grey image ``f`` and a threshold ``t`` the sublevel set is ``{pixels with f <= t}``. Persistent homology of
the filtration (pixels as top-dimensional cells: two pixels touching at a corner are connected) gives persistence
diagrams PD0 (components) and PD1 (loops); the Betti curve ``beta_k(t)`` counts the intervals ``[b, d)`` of PD_k
alive at ``t`` (``b <= t < d``), i.e. the number of components / holes of the sublevel set at ``t``.

:func:`betti_curves` computes them with GUDHI's cubical persistence; :func:`betti_curves_by_labelling` counts the
same numbers directly by connected-component labelling (8-connected foreground, 4-connected background holes: the
dual pair of the cubical complex) and serves as the independent check. :func:`tofi_features` is the paper's 800
features: 4 colour functions (grey = mean of R, G, B; R; G; B) x {beta0, beta1} x 100 thresholds on [0, 255].

Example:
    >>> import numpy as np
    >>> ring = np.full((7, 7), 200.0); ring[1:6, 1:6] = 10.0; ring[3, 3] = 200.0  # a dark ring round a bright pixel
    >>> betti_curves(ring, [50.0, 250.0]).tolist()
    [[1, 1], [1, 0]]
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from mbench.errors import MbenchError

__all__ = ["COLOUR_FUNCTIONS", "betti_curves", "betti_curves_by_labelling", "colour_function", "tofi_features"]

COLOUR_FUNCTIONS = ("gray", "red", "green", "blue")


def _check_image(image: np.ndarray) -> np.ndarray:
    img = np.asarray(image, dtype=np.float64)
    if img.ndim != 2 or min(img.shape) < 1:
        raise MbenchError("Betti curves need a 2D grey image", expected="(H, W) array", found=f"shape {img.shape}")
    if not np.isfinite(img).all():
        raise MbenchError("Betti curves of an image with NaN or infinite values", fix="clean the image first")
    return img


def betti_curves(image: np.ndarray, thresholds: Sequence[float], dims: Sequence[int] = (0, 1)) -> np.ndarray:
    """``(len(dims), T)`` Betti numbers of the sublevel sets ``image <= t`` (GUDHI cubical persistence)."""
    import gudhi

    img = _check_image(image)
    complex_ = gudhi.CubicalComplex(top_dimensional_cells=img)
    complex_.compute_persistence(homology_coeff_field=2, min_persistence=-1)
    t = np.asarray(thresholds, dtype=np.float64)
    out = np.zeros((len(dims), t.size), dtype=np.int64)
    for row, dim in enumerate(dims):
        bars = np.asarray(complex_.persistence_intervals_in_dimension(dim), dtype=np.float64).reshape(-1, 2)
        alive = (bars[:, :1] <= t[None, :]) & (t[None, :] < bars[:, 1:])
        out[row] = alive.sum(axis=0)
    return out


def betti_curves_by_labelling(image: np.ndarray, thresholds: Sequence[float]) -> np.ndarray:
    """``(2, T)`` beta0 / beta1 of ``image <= t`` by labelling: 8-connected components of the set, and the
    4-connected components of its complement that do not touch the border (the holes). Independent of GUDHI.
    """
    from scipy import ndimage as ndi

    img = _check_image(image)
    eight, four = np.ones((3, 3), int), ndi.generate_binary_structure(2, 1)
    out = np.zeros((2, len(thresholds)), dtype=np.int64)
    for k, t in enumerate(thresholds):
        fg = img <= t
        out[0, k] = ndi.label(fg, structure=eight)[1]
        out[1, k] = ndi.label(np.pad(~fg, 1, constant_values=True), structure=four)[1] - 1
    return out


def colour_function(rgb: np.ndarray, name: str) -> np.ndarray:
    """One of the paper's colour functions of an (H, W, 3) RGB image: ``gray`` (mean of R, G, B), ``red``, ..."""
    if name not in COLOUR_FUNCTIONS:
        raise MbenchError(f"unknown colour function {name!r}", expected=", ".join(COLOUR_FUNCTIONS), found=name)
    rgb = np.asarray(rgb, dtype=np.float64)
    if rgb.ndim == 2:
        rgb = np.repeat(rgb[..., None], 3, axis=2)
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise MbenchError("colour functions need an RGB image", expected="(H, W, 3)", found=f"shape {rgb.shape}")
    return rgb.mean(axis=2) if name == "gray" else rgb[..., COLOUR_FUNCTIONS.index(name) - 1]


def tofi_features(rgb: np.ndarray, *, channels: Sequence[str] = COLOUR_FUNCTIONS, dims: Sequence[int] = (0, 1),
                  n_thresholds: int = 100, value_range: tuple[float, float] = (0.0, 255.0)) -> np.ndarray:
    """The ToFi-ML feature vector: Betti curves per colour function and homology dimension, concatenated
    (channel-major, then dimension, then threshold), thresholds evenly spaced over ``value_range``.

    Example:
        >>> tofi_features(np.zeros((8, 8, 3)), n_thresholds=5).shape
        (40,)
    """
    thresholds = np.linspace(value_range[0], value_range[1], n_thresholds)
    return np.concatenate([betti_curves(colour_function(rgb, c), thresholds, dims).ravel() for c in channels])
