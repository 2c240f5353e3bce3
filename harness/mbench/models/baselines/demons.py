"""Diffusion-regularised demons registration (numpy / scipy), with paper 13's three similarity terms.

A multi-level variational registration in the spirit of the VariationalRegistration module that paper 13 builds on
(Thirion demons forces, diffusive regularisation by Gaussian smoothing of the field after every step). The force
drives the warped moving map ``W = M(x + u)`` towards the fixed map ``R``:
``f = (R - W) ∇W / (|∇W|² + α² (R - W)²)`` (the classic normalisation bounds a step to ``1 / (2α)`` voxels), and
``u <- G_σ * (u + τ f)``. The maps depend on ``similarity``:

* ``intensity`` (paper 13's *Int*): the images themselves, rescaled to [0, 1] (SSD on intensities);
* ``dt`` (*DT*): the distance maps of the two masks; the moving map is interpolated under the deformation;
* ``udt`` (*UDT*, the paper's proposal): the distance map of the **warped** moving mask, recomputed at every
  iteration, against the fixed mask's map.

Nothing is trained. Works in 2D and 3D; memory is a few copies of one image pair.

Example:
    >>> import numpy as np
    >>> from scipy import ndimage
    >>> fixed = np.zeros((32, 32)); fixed[10:22, 8:20] = 1
    >>> fixed = ndimage.gaussian_filter(fixed, 2)
    >>> moving = np.roll(fixed, 2, axis=1)
    >>> reg = DemonsRegistrar(similarity="intensity", levels=2, iterations=60)
    >>> u = reg.register(moving, fixed)
    >>> round(float(np.median(u[1][fixed > 0.5])))    # recovers the 2-pixel shift
    2
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
from scipy import ndimage

from mbench.errors import MbenchError
from mbench.metrics.functional.registration import warp
from mbench.metrics.functional.similarity import distance_map

__all__ = ["DemonsRegistrar", "resample_field"]

Similarity = Literal["intensity", "dt", "udt"]


def _unit(image: np.ndarray) -> np.ndarray:
    lo, hi = np.percentile(image, [0.5, 99.5])
    return np.clip((image - lo) / (hi - lo), 0, 1) if hi > lo else np.zeros_like(image, dtype=np.float64)


def resample_field(u: np.ndarray, shape: Sequence[int]) -> np.ndarray:
    """A displacement field (ndim, *spatial) resampled (linear) to ``shape``, its vectors scaled per axis.

    Example:
        >>> resample_field(np.ones((1, 4)), (8,))[0].tolist()
        [2.0, 2.0, 2.0, 2.0, 2.0, 2.0, 2.0, 2.0]
    """
    factors = [t / s for t, s in zip(shape, u.shape[1:])]
    return np.stack([ndimage.zoom(u[k], factors, order=1, mode="nearest", grid_mode=True) * factors[k]
                     for k in range(u.shape[0])])


class DemonsRegistrar:
    """Multi-level demons registration (a :class:`~mbench.models.capabilities.Registrar`; no training).

    Args:
        similarity: ``intensity``, ``dt`` or ``udt`` (see the module docstring); ``dt`` / ``udt`` need the masks
            (``moving_labels`` / ``fixed_labels``, any label > 0 is the object).
        levels: pyramid levels (each halves the grid), coarse to fine.
        iterations: iterations per level.
        step: time step τ (multiplies the force).
        sigma: Gaussian regularisation of the field, in voxels (diffusive smoothing after each step).
        alpha: force normalisation α (a step is at most ``1 / (2α)`` voxels).
    """

    def __init__(self, similarity: Similarity = "udt", levels: int = 3, iterations: int = 100, step: float = 1.0,
                 sigma: float = 1.5, alpha: float = 1.0) -> None:
        if similarity not in ("intensity", "dt", "udt"):
            raise MbenchError(f"unknown demons similarity {similarity!r}", expected="intensity, dt or udt")
        self.similarity, self.levels, self.iterations = similarity, int(levels), int(iterations)
        self.step, self.sigma, self.alpha = float(step), float(sigma), float(alpha)

    def fit(self, *args, **kwargs) -> dict:
        """Nothing to train (classical registration)."""
        return {"n_parameters": 0}

    def _maps(self, moving: np.ndarray, fixed: np.ndarray, moving_labels: np.ndarray | None,
              fixed_labels: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        if self.similarity == "intensity":
            return _unit(np.asarray(moving, float)), _unit(np.asarray(fixed, float))
        if moving_labels is None or fixed_labels is None:
            raise MbenchError(f"demons similarity {self.similarity!r} needs the moving and fixed masks",
                              expected="moving_labels and fixed_labels", found="none given",
                              fix="use a task whose protocol passes label maps (label_input), or similarity=intensity")
        return np.asarray(moving_labels) > 0, np.asarray(fixed_labels) > 0

    def register(self, moving: np.ndarray, fixed: np.ndarray, *, moving_labels: np.ndarray | None = None,
                 fixed_labels: np.ndarray | None = None, spacing: Sequence[float] | None = None) -> np.ndarray:
        """The displacement field (ndim, *spatial) in voxels that warps ``moving`` onto ``fixed``."""
        mov_map, fix_map = self._maps(moving, fixed, moving_labels, fixed_labels)
        shape = fix_map.shape
        u = np.zeros((len(shape), *[max(1, s // 2 ** (self.levels - 1)) for s in shape]))
        for level in reversed(range(self.levels)):
            grid = tuple(max(1, s // 2 ** level) for s in shape)
            u = resample_field(u, grid)
            m, f = (self._level(x, grid) for x in (mov_map, fix_map))
            u = self._optimise(m, f, u)
        return resample_field(u, shape).astype(np.float32)

    def _level(self, image: np.ndarray, grid: tuple[int, ...]) -> np.ndarray:
        if image.shape == grid:
            return image
        factors = [g / s for g, s in zip(grid, image.shape)]
        if image.dtype == bool:
            return ndimage.zoom(image.astype(np.float32), factors, order=1, grid_mode=True, mode="nearest") > 0.5
        return ndimage.zoom(image, factors, order=1, grid_mode=True, mode="nearest")

    def _optimise(self, moving: np.ndarray, fixed: np.ndarray, u: np.ndarray) -> np.ndarray:
        masks = moving.dtype == bool
        ref = distance_map(fixed) if masks else fixed
        mov_dt = distance_map(moving) if masks else moving
        for _ in range(self.iterations):
            if self.similarity == "udt":  # the distance map of the warped mask, recomputed
                warped = distance_map(warp(moving.astype(np.float32), u, order=1) > 0.5)
            else:
                warped = warp(mov_dt, u, order=1)
            diff = ref - warped
            grads = np.gradient(warped) if warped.ndim > 1 else [np.gradient(warped)]
            norm = sum(g * g for g in grads) + self.alpha ** 2 * diff ** 2
            scale = np.divide(diff, norm, out=np.zeros_like(diff), where=norm > 1e-12)
            for k, g in enumerate(grads):
                u[k] = ndimage.gaussian_filter(u[k] + self.step * scale * g, self.sigma, mode="nearest")
        return u
