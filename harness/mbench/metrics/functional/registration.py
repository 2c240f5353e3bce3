"""Registration metrics: label overlap after warping, and the regularity of the displacement field.

A displacement field ``u`` has shape ``(ndim, *spatial)`` in voxel units, and maps the fixed image grid into the
moving image: the warped moving image is ``moving(x + u(x))``. The Jacobian is that of the transform
``phi(x) = x + u(x)``: ``J = I + grad u`` (central differences inside, one-sided at the borders, ``numpy.gradient``).

Example:
    >>> import numpy as np
    >>> u = np.zeros((3, 4, 4, 4))
    >>> folding_fraction(u), log_jacobian_std(u)
    (0.0, 0.0)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import ndimage

from mbench.errors import MbenchError
from mbench.metrics.functional.overlap import dice
from mbench.metrics.functional.surface import Spacing, hd95

__all__ = [
    "folding_fraction",
    "jacobian_determinant",
    "log_jacobian_std",
    "registration_dice",
    "registration_hd95",
    "warp",
]


def _field(displacement: np.ndarray, shape: tuple[int, ...] | None = None) -> np.ndarray:
    u = np.asarray(displacement, dtype=np.float64)
    spatial = u.shape[1:]
    if u.ndim < 2 or u.shape[0] != len(spatial) or (shape is not None and tuple(spatial) != tuple(shape)):
        want = f"(ndim, *spatial) = ({len(shape)}, {', '.join(map(str, shape))})" if shape else "(ndim, *spatial)"
        raise MbenchError("displacement field has the wrong shape", expected=want, found=f"{u.shape}",
                          fix="put the vector components first (channel-first), in voxel units")
    return u


def warp(moving: np.ndarray, displacement: np.ndarray, *, order: int = 0) -> np.ndarray:
    """Resample ``moving`` at ``x + u(x)`` for every voxel ``x`` of the fixed grid.

    ``order=0`` (nearest neighbour) for label maps, ``1`` for linear interpolation of images; outside the moving
    image the nearest border value is used.

    Empty inputs:
        Any; a zero field returns ``moving`` unchanged.

    Example:
        >>> import numpy as np
        >>> labels = np.array([[0, 1, 2, 3]])
        >>> u = np.stack([np.zeros((1, 4)), np.ones((1, 4))])  # sample one voxel to the right
        >>> warp(labels, u).tolist()
        [[1, 2, 3, 3]]
    """
    mov = np.asarray(moving)
    u = _field(displacement, mov.shape)
    coords = np.indices(mov.shape, dtype=np.float64) + u
    return ndimage.map_coordinates(mov, coords, order=order, mode="nearest")


def jacobian_determinant(displacement: np.ndarray) -> np.ndarray:
    """Determinant of the Jacobian of ``x + u(x)`` at every voxel (1 = volume preserved, <= 0 = folding).

    Empty inputs:
        Each spatial axis needs at least 2 voxels.

    Example:
        >>> import numpy as np
        >>> x = np.indices((5, 5), dtype=float)
        >>> float(jacobian_determinant(0.5 * x).mean())   # a uniform 1.5x scaling per axis
        2.25
    """
    u = _field(displacement)
    ndim = u.shape[0]
    if any(s < 2 for s in u.shape[1:]):
        raise MbenchError("Jacobian needs at least 2 voxels per axis", expected=">= 2", found=f"{u.shape[1:]}")
    jac = np.empty(u.shape[1:] + (ndim, ndim))
    for i in range(ndim):
        grads = np.gradient(u[i]) if ndim > 1 else [np.gradient(u[i])]
        for j in range(ndim):
            jac[..., i, j] = grads[j] + (1.0 if i == j else 0.0)
    return np.linalg.det(jac)


def _masked(values: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
    if mask is None:
        return values.ravel()
    m = np.asarray(mask, dtype=bool)
    if m.shape != values.shape:
        raise MbenchError("mask shape differs from the field", expected=f"{values.shape}", found=f"{m.shape}")
    return values[m]


def folding_fraction(displacement: np.ndarray, *, mask: np.ndarray | None = None) -> float:
    """Fraction of voxels (inside ``mask``) whose Jacobian determinant is ``<= 0`` (folding).

    Empty inputs:
        An empty mask gives ``nan``.

    Example:
        >>> import numpy as np
        >>> u = np.zeros((1, 6)); u[0, 3] = -3.0   # voxel 3 jumps backwards: the map is not monotone
        >>> folding_fraction(u)
        0.16666666666666666
    """
    det = _masked(jacobian_determinant(displacement), mask)
    return float(np.mean(det <= 0)) if det.size else float("nan")


def log_jacobian_std(displacement: np.ndarray, *, mask: np.ndarray | None = None) -> float:
    """Standard deviation of ``log(clip(det J, 1e-9, 1e9))`` over voxels (inside ``mask``), Learn2Reg's SDlogJ.

    Empty inputs:
        An empty mask gives ``nan``.

    Example:
        >>> import numpy as np
        >>> round(log_jacobian_std(0.5 * np.indices((5, 5), dtype=float)), 12)
        0.0
    """
    det = _masked(jacobian_determinant(displacement), mask)
    return float(np.std(np.log(np.clip(det, 1e-9, 1e9)))) if det.size else float("nan")


def _labels_of(fixed: np.ndarray, labels: Sequence[int] | None) -> list[int]:
    return [int(v) for v in np.unique(fixed) if v != 0] if labels is None else [int(v) for v in labels]


def registration_dice(moving_labels: np.ndarray, fixed_labels: np.ndarray, displacement: np.ndarray, *,
                      labels: Sequence[int] | None = None) -> float:
    """Mean Dice over labels between the warped moving label map and the fixed label map.

    Empty inputs:
        ``labels`` defaults to the nonzero labels of the fixed map; a label absent from both warped and fixed maps
        scores 1.0; no label at all gives ``nan``.

    Example:
        >>> import numpy as np
        >>> fixed = np.zeros((1, 8), int); fixed[0, 2:5] = 1
        >>> moving = np.roll(fixed, 1, axis=1)
        >>> u = np.stack([np.zeros((1, 8)), np.ones((1, 8))])
        >>> registration_dice(moving, fixed, u), registration_dice(moving, fixed, np.zeros_like(u))
        (1.0, 0.6666666666666666)
    """
    warped = warp(moving_labels, displacement, order=0)
    fixed = np.asarray(fixed_labels)
    labs = _labels_of(fixed, labels)
    return float(np.mean([dice(warped == k, fixed == k) for k in labs])) if labs else float("nan")


def registration_hd95(moving_labels: np.ndarray, fixed_labels: np.ndarray, displacement: np.ndarray, *,
                      labels: Sequence[int] | None = None, spacing: Spacing = None) -> float:
    """Mean over labels of :func:`~mbench.metrics.functional.surface.hd95` (mm) after warping the moving labels.

    Empty inputs:
        A label present in only one of the two maps makes the mean ``inf``; no label gives ``nan``.

    Example:
        >>> import numpy as np
        >>> fixed = np.zeros((1, 8), int); fixed[0, 2:5] = 1
        >>> moving = np.roll(fixed, 2, axis=1)
        >>> registration_hd95(moving, fixed, np.zeros((2, 1, 8)), spacing=(1.0, 0.5))  # P95 of 0, 0.5, 1 mm
        0.95
    """
    warped = warp(moving_labels, displacement, order=0)
    fixed = np.asarray(fixed_labels)
    labs = _labels_of(fixed, labels)
    return float(np.mean([hd95(warped == k, fixed == k, spacing=spacing) for k in labs])) if labs else float("nan")
