"""Small, deterministic texture helpers shared by the 2D stand-in generators."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

__all__ = ["smooth_field", "ellipse_mask", "to_uint8"]


def smooth_field(rng: np.random.Generator, shape: tuple[int, int], scale: float) -> np.ndarray:
    """A smooth random field in [-1, 1]: white noise blurred with a Gaussian of ``scale`` pixels.

    Example:
        >>> f = smooth_field(np.random.default_rng(0), (32, 48), 4.0)
        >>> f.shape, float(abs(f).max())
        ((32, 48), 1.0)
    """
    field = ndimage.gaussian_filter(rng.standard_normal(shape), scale, mode="wrap")
    return (field / (np.abs(field).max() + 1e-12)).astype(np.float32)


def ellipse_mask(shape: tuple[int, int], centre: tuple[float, float], radii: tuple[float, float],
                 angle: float = 0.0) -> np.ndarray:
    """Boolean mask of a rotated ellipse (``angle`` in radians, ``radii`` along its own axes).

    Example:
        >>> int(ellipse_mask((9, 9), (4, 4), (2, 2)).sum())
        13
    """
    yy, xx = np.mgrid[:shape[0], :shape[1]].astype(np.float32)
    dy, dx = yy - centre[0], xx - centre[1]
    c, s = np.cos(angle), np.sin(angle)
    u, v = c * dx + s * dy, -s * dx + c * dy
    return (u / max(radii[1], 1e-6)) ** 2 + (v / max(radii[0], 1e-6)) ** 2 <= 1.0


def to_uint8(image: np.ndarray) -> np.ndarray:
    """Clip to [0, 255] and round to uint8."""
    return np.clip(np.round(image), 0, 255).astype(np.uint8)
