"""Input checks shared by the metric functions: clear errors for the inputs users get wrong."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from mbench.errors import MbenchError

__all__ = ["binary_pair", "check_spacing", "require_range", "same_shape"]


def same_shape(prediction: np.ndarray, reference: np.ndarray,
               what: str = "prediction") -> tuple[np.ndarray, np.ndarray]:
    """Both arrays as numpy arrays, or an error naming the two shapes."""
    pred, ref = np.asarray(prediction), np.asarray(reference)
    if pred.shape != ref.shape:
        raise MbenchError(f"{what} and reference differ in shape",
                          expected=f"the reference shape {ref.shape}", found=f"{what} shape {pred.shape}",
                          fix=f"resample the {what} onto the reference grid (same shape, spacing and orientation)")
    return pred, ref


def binary_pair(prediction: np.ndarray, reference: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two same-shaped boolean masks (nonzero is foreground)."""
    pred, ref = same_shape(prediction, reference)
    return pred.astype(bool, copy=False), ref.astype(bool, copy=False)


def check_spacing(spacing: float | Sequence[float] | np.ndarray | None, ndim: int) -> tuple[float, ...]:
    """Voxel spacing in mm as a tuple of ``ndim`` positive finite floats (``None`` is 1 mm, a number is isotropic)."""
    if spacing is None:
        return (1.0,) * ndim
    if np.isscalar(spacing):
        values: tuple[float, ...] = (float(spacing),) * ndim  # type: ignore[arg-type]
    else:
        values = tuple(float(s) for s in np.asarray(spacing, dtype=float).ravel())
    if len(values) != ndim or not all(math.isfinite(s) and s > 0 for s in values):
        raise MbenchError("invalid voxel spacing", expected=f"{ndim} positive finite numbers (mm), one per axis",
                          found=repr(spacing), fix="pass spacing= from the image header, e.g. (1.0, 1.0, 1.0)")
    return values


def require_range(data_range: float | None, metric: str) -> float:
    """The data range (max - min of the value scale) that PSNR and SSIM need, checked."""
    if data_range is None:
        raise MbenchError(f"{metric} needs data_range", expected="data_range=<max - min of the intensity scale>",
                          found="data_range=None",
                          fix="pass data_range= explicitly, e.g. 1.0 for images in [0, 1] or 255.0 for uint8; "
                              "inferring it from the images makes scores incomparable")
    value = float(data_range)
    if not math.isfinite(value) or value <= 0:
        raise MbenchError(f"invalid data_range for {metric}", expected="a positive finite number",
                          found=repr(data_range), fix="pass the width of the intensity scale")
    return value
