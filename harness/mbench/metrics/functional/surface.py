"""Surface-distance metrics: compute the distances once per (case, label), derive every metric from them.

Two surface representations are used, because the reference tools differ:

* **boundary voxels** (MONAI, MetricsReloaded, medpy): foreground voxels with at least one background neighbour
  (erosion with the ``connectivity`` structuring element; voxels on the image border count as boundary). Each
  boundary voxel gets the Euclidean distance in mm to the nearest boundary voxel of the other mask. ``hd95``, ``hd``,
  ``hd95_pooled``, ``assd`` and ``masd`` use these.
* **surfels** (DeepMind ``surface-distance``): points of the voxel-corner grid whose 2x2(x2) neighbourhood is
  neither all foreground nor all background, each weighted by the area of its marching-cubes surface elements.
  ``hd95_surfel`` and ``nsd`` use these.

Distances are exact: the masks are cropped to the bounding box of their union (a crop never changes a Euclidean
distance between points inside it) and the nearest boundary point is found with a k-d tree; the distance is then
computed as ``sqrt(sum((di * si) ** 2))``, the same expression as ``scipy.ndimage.distance_transform_edt``.

Example:
    >>> import numpy as np
    >>> a = np.zeros((5, 5), bool); a[1:4, 1:4] = True
    >>> b = np.roll(a, 1, axis=0)
    >>> sd = surface_distances(b, a, spacing=(2.0, 1.0))
    >>> sd.hd95(), sd.hd(), sd.assd()
    (2.0, 2.0, 0.875)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import cached_property

import numpy as np
from scipy import ndimage
from scipy.spatial import cKDTree

from mbench.errors import MbenchError
from mbench.metrics.functional._checks import binary_pair, check_spacing
from mbench.metrics.functional._surfel_table import surfel_area_table

__all__ = [
    "SURFACE_METRICS",
    "SurfaceDistances",
    "assd",
    "hd",
    "hd95",
    "hd95_pooled",
    "hd95_surfel",
    "masd",
    "nsd",
    "surface_distances",
    "surface_metrics",
]

Spacing = float | Sequence[float] | np.ndarray | None
_INF = math.inf


def _bounding_box(mask: np.ndarray) -> tuple[slice, ...] | None:
    """Tight bounding box of the nonzero voxels, or ``None`` when there are none.

    One pass over the array (a projection along the last axis), then work on ever smaller blocks.
    """
    if mask.ndim == 0:
        return () if mask else None
    if mask.ndim == 1:
        hits = np.flatnonzero(mask)
        return (slice(int(hits[0]), int(hits[-1]) + 1),) if hits.size else None
    head = _bounding_box(mask.any(axis=-1))
    if head is None:
        return None
    hits = np.flatnonzero(mask[head].any(axis=tuple(range(mask.ndim - 1))))
    return (*head, slice(int(hits[0]), int(hits[-1]) + 1))


def _boundary(mask: np.ndarray, connectivity: int) -> np.ndarray:
    """Foreground voxels with a background neighbour (``mask & ~erode(mask)``; outside the array is background)."""
    if connectivity == 1:
        padded = np.pad(mask, 1)
        interior = mask.copy()
        centre = [slice(1, -1)] * mask.ndim
        for axis in range(mask.ndim):
            for start in (0, 2):
                view = list(centre)
                view[axis] = slice(start, start + mask.shape[axis])
                interior &= padded[tuple(view)]
        return mask & ~interior
    structure = ndimage.generate_binary_structure(mask.ndim, connectivity)
    return mask & ~ndimage.binary_erosion(mask, structure=structure, border_value=0)


def _directed(source: np.ndarray, target: np.ndarray, spacing: np.ndarray, upper_bound: float = _INF) -> np.ndarray:
    """Distance from every True voxel of ``source`` (in ``argwhere`` order) to the nearest True voxel of ``target``.

    Voxels True in both are at distance 0 and need no search (most of a good segmentation's surface).
    """
    shared = target[source]
    out = np.zeros(shared.size)
    away = ~shared
    if away.any():
        out[away] = _nearest(np.argwhere(source & ~target), np.argwhere(target), spacing, upper_bound)
    return out


def _nearest(points: np.ndarray, targets: np.ndarray, spacing: np.ndarray,
             upper_bound: float = _INF) -> np.ndarray:
    """Distance in mm from each of ``points`` (integer indices) to the nearest of ``targets`` (integer indices).

    Points farther than ``upper_bound`` get ``inf`` (a bounded query is much faster when only "within tolerance"
    matters). Empty ``targets`` gives ``inf`` everywhere.
    """
    if points.shape[0] == 0:
        return np.zeros(0)
    if targets.shape[0] == 0:
        return np.full(points.shape[0], _INF)
    tree = cKDTree(targets * spacing, leafsize=32, balanced_tree=False, compact_nodes=False)
    bound = _INF if upper_bound == _INF else upper_bound * (1 + 1e-9) + 1e-12
    dist, index = tree.query(points * spacing, k=1, distance_upper_bound=bound)
    found = np.isfinite(dist)
    out = np.full(points.shape[0], _INF)
    # recompute the distance the way scipy's EDT does, so that values are bit-identical to EDT-based tools
    delta = (points[found] - targets[index[found]]).astype(float) * spacing
    out[found] = np.sqrt(np.add.reduce(delta * delta, axis=1))
    return out


def _corner_codes(mask: np.ndarray) -> np.ndarray:
    """Neighbourhood code of every voxel corner (shape ``mask.shape + 1``), bit order as surface-distance."""
    ndim = mask.ndim
    padded = np.pad(mask.astype(np.uint8), 1)
    out_shape = tuple(s + 1 for s in mask.shape)
    codes = np.zeros(out_shape, dtype=np.uint8)
    for offset in np.ndindex(*(2,) * ndim):
        bit = (2 ** ndim - 1) - sum(o << (ndim - 1 - i) for i, o in enumerate(offset))
        view = tuple(slice(o, o + n) for o, n in zip(offset, out_shape, strict=True))
        codes |= padded[view] << np.uint8(bit)
    return codes


class SurfaceDistances:
    """The surface distances between a predicted and a reference mask, computed once, queried many times.

    Build it with :func:`surface_distances`. Boundary-voxel distances are computed on construction; the surfel
    distances (for ``hd95_surfel`` and ``nsd``) on first use. Conventions: both masks empty gives distance metrics
    0.0 and NSD 1.0; exactly one empty gives ``inf`` and NSD 0.0 (replace ``inf`` by the task's worst-case value
    when aggregating, see :func:`mbench.metrics.aggregate`).

    Attributes:
        pred_to_ref: distances (mm) from each boundary voxel of the prediction to the reference boundary.
        ref_to_pred: distances (mm) from each boundary voxel of the reference to the predicted boundary.
        spacing: voxel spacing in mm.
    """

    def __init__(self, pred: np.ndarray, ref: np.ndarray, spacing: tuple[float, ...], connectivity: int) -> None:
        self.spacing = spacing
        self.connectivity = connectivity
        self.pred_empty = not pred.any()
        self.ref_empty = not ref.any()
        box = _bounding_box(pred | ref)
        self._pred = pred[box] if box is not None else pred[(slice(0, 0),) * pred.ndim]
        self._ref = ref[box] if box is not None else ref[(slice(0, 0),) * ref.ndim]
        self._s = np.asarray(spacing, dtype=float)
        pb, rb = _boundary(self._pred, connectivity), _boundary(self._ref, connectivity)
        self.pred_to_ref = _directed(pb, rb, self._s)
        self.ref_to_pred = _directed(rb, pb, self._s)

    # -- conventions -----------------------------------------------------------------------------------------
    @property
    def both_empty(self) -> bool:
        """Neither mask has foreground."""
        return self.pred_empty and self.ref_empty

    @property
    def one_empty(self) -> bool:
        """Exactly one mask has foreground."""
        return self.pred_empty != self.ref_empty

    def _special(self, both: float, one: float) -> float | None:
        if self.both_empty:
            return float(both)
        if self.one_empty:
            return float(one)
        return None

    # -- boundary-voxel metrics ------------------------------------------------------------------------------
    def percentile_hd(self, percentile: float, *, both_empty: float = 0.0) -> float:
        """Max of the two directed ``percentile``-th percentiles (linear interpolation, as ``numpy.percentile``)."""
        special = self._special(both_empty, _INF)
        if special is not None:
            return special
        return float(max(np.percentile(self.pred_to_ref, percentile), np.percentile(self.ref_to_pred, percentile)))

    def hd95(self, *, both_empty: float = 0.0) -> float:
        """95th-percentile Hausdorff distance, MONAI / MetricsReloaded definition (see :func:`hd95`)."""
        return self.percentile_hd(95.0, both_empty=both_empty)

    def hd(self, *, both_empty: float = 0.0) -> float:
        """Hausdorff distance: the largest boundary distance in either direction (see :func:`hd`)."""
        special = self._special(both_empty, _INF)
        if special is not None:
            return special
        return float(max(self.pred_to_ref.max(), self.ref_to_pred.max()))

    def hd95_pooled(self, *, both_empty: float = 0.0) -> float:
        """95th percentile of both directions' distances pooled together, medpy's ``hd95`` (see :func:`hd95_pooled`)."""
        special = self._special(both_empty, _INF)
        if special is not None:
            return special
        return float(np.percentile(np.concatenate([self.pred_to_ref, self.ref_to_pred]), 95.0))

    def assd(self, *, both_empty: float = 0.0) -> float:
        """Mean of all boundary distances of both directions together (see :func:`assd`)."""
        special = self._special(both_empty, _INF)
        if special is not None:
            return special
        total = float(self.pred_to_ref.sum()) + float(self.ref_to_pred.sum())
        return total / (self.pred_to_ref.size + self.ref_to_pred.size)

    def masd(self, *, both_empty: float = 0.0) -> float:
        """Mean of the two directed mean boundary distances (see :func:`masd`)."""
        special = self._special(both_empty, _INF)
        if special is not None:
            return special
        return 0.5 * (float(self.pred_to_ref.mean()) + float(self.ref_to_pred.mean()))

    # -- surfel metrics ---------------------------------------------------------------------------------------
    @cached_property
    def _surfels(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Corner-grid surface masks and areas (in ``argwhere`` order) of prediction and reference (mm^2)."""
        if self._pred.ndim not in (2, 3):
            raise MbenchError("surfel-based metrics need 2D or 3D masks", expected="2 or 3 dimensions",
                              found=f"{self._pred.ndim} dimensions",
                              fix="use hd95 / assd (boundary voxels, any dimension) or score 2D/3D masks")
        table = surfel_area_table(self.spacing)
        full = 2 ** (2 ** self._pred.ndim) - 1
        out = []
        for mask in (self._pred, self._ref):
            codes = _corner_codes(mask)
            where = (codes != 0) & (codes != full)
            out.append(where)
            out.append(table[codes[where]])
        return out[0], out[1], out[2], out[3]

    @cached_property
    def surfel_distances(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``(pred_to_ref, pred_areas, ref_to_pred, ref_areas)``, each sorted by (distance, area)."""
        p_pts, p_area, r_pts, r_area = self._surfels
        result = []
        for pts, area, other in ((p_pts, p_area, r_pts), (r_pts, r_area, p_pts)):
            dist = _directed(pts, other, self._s)
            order = np.lexsort((area, dist))
            result += [dist[order], area[order]]
        return result[0], result[1], result[2], result[3]

    def hd95_surfel(self, *, both_empty: float = 0.0, percent: float = 95.0) -> float:
        """Surfel-area-weighted robust Hausdorff distance, DeepMind definition (see :func:`hd95_surfel`)."""
        special = self._special(both_empty, _INF)
        if special is not None:
            return special
        d_pr, a_pr, d_rp, a_rp = self.surfel_distances
        values = []
        for dist, area in ((d_rp, a_rp), (d_pr, a_pr)):
            cumulative = np.cumsum(area) / np.sum(area)
            idx = int(np.searchsorted(cumulative, percent / 100.0))
            values.append(float(dist[min(idx, dist.size - 1)]))
        return max(values)

    def nsd(self, tolerance: float, *, both_empty: float = 1.0) -> float:
        """Normalised surface Dice at ``tolerance`` mm, DeepMind definition (see :func:`nsd`)."""
        tol = float(tolerance)
        if not math.isfinite(tol) or tol < 0:
            raise MbenchError("invalid NSD tolerance", expected="a finite tolerance >= 0 in mm", found=repr(tolerance),
                              fix="pass the task's declared tolerance, e.g. tolerance=1.0")
        special = self._special(both_empty, 0.0)
        if special is not None:
            return special
        if "surfel_distances" in self.__dict__:
            d_pr, a_pr, d_rp, a_rp = self.surfel_distances
        else:  # a bounded query suffices: only "within tolerance" matters
            p_pts, a_pr, r_pts, a_rp = self._surfels
            d_pr = _directed(p_pts, r_pts, self._s, upper_bound=tol)
            d_rp = _directed(r_pts, p_pts, self._s, upper_bound=tol)
        overlap = np.sum(a_rp[d_rp <= tol]) + np.sum(a_pr[d_pr <= tol])
        return float(overlap / (np.sum(a_rp) + np.sum(a_pr)))


def surface_distances(prediction: np.ndarray, reference: np.ndarray, *, spacing: Spacing = None,
                      connectivity: int = 1) -> SurfaceDistances:
    """Compute the surface distances of a mask pair once; derive any surface metric from the result.

    Args:
        prediction: binary mask (nonzero is foreground), any dimension (surfel metrics: 2D or 3D).
        reference: binary mask of the same shape.
        spacing: voxel spacing in mm per axis (a number for isotropic; ``None`` is 1 mm).
        connectivity: neighbourhood of the erosion that defines boundary voxels (1 = faces, as MONAI and medpy's
            default; ``ndim`` = faces, edges and corners).

    Empty inputs:
        Allowed; the derived metrics apply the conventions (both empty: distances 0.0, NSD 1.0; one empty:
        distances ``inf``, NSD 0.0).

    Example:
        >>> import numpy as np
        >>> a = np.zeros((6, 6, 6), bool); a[1:5, 1:5, 1:5] = True
        >>> sd = surface_distances(a, np.roll(a, 1, axis=2), spacing=(1.0, 1.0, 3.0))
        >>> sd.hd95(), sd.hd95_surfel(), round(sd.nsd(tolerance=1.0), 4)
        (3.0, 3.0, 0.8392)
    """
    pred, ref = binary_pair(prediction, reference)
    if pred.ndim == 0:
        raise MbenchError("surface distances need at least 1D masks", expected="an array", found="a scalar")
    if not isinstance(connectivity, (int, np.integer)) or not 1 <= connectivity <= pred.ndim:
        raise MbenchError("invalid connectivity", expected=f"an integer from 1 to {pred.ndim}",
                          found=repr(connectivity), fix="use 1 (face neighbours), the MONAI and medpy default")
    return SurfaceDistances(pred, ref, check_spacing(spacing, pred.ndim), int(connectivity))


def hd95(prediction: np.ndarray, reference: np.ndarray, *, spacing: Spacing = None, connectivity: int = 1,
         both_empty: float = 0.0) -> float:
    """95th-percentile Hausdorff distance (mm), MONAI / MetricsReloaded definition.

    ``max(P95(d(P->R)), P95(d(R->P)))`` where ``d(A->B)`` are the distances from every boundary voxel of ``A`` to
    the nearest boundary voxel of ``B`` and ``P95`` is ``numpy.percentile(..., 95)`` (linear interpolation).
    Matches ``monai.metrics.compute_hausdorff_distance(..., percentile=95)``.

    Empty inputs:
        Both empty: ``both_empty`` (default 0.0). Exactly one empty: ``inf``.

    Example:
        >>> import numpy as np
        >>> a = np.zeros((8, 8), bool); a[2:6, 2:6] = True
        >>> hd95(np.roll(a, 2, axis=1), a, spacing=(1.0, 0.5))
        1.0
        >>> hd95(a, np.zeros_like(a))
        inf
    """
    return surface_distances(prediction, reference, spacing=spacing, connectivity=connectivity).hd95(
        both_empty=both_empty)


def hd95_surfel(prediction: np.ndarray, reference: np.ndarray, *, spacing: Spacing = None,
                both_empty: float = 0.0) -> float:
    """Surfel-area-weighted robust Hausdorff distance at 95 % (mm), DeepMind ``surface-distance`` definition.

    Surface points are voxel corners on the mask surface, each weighted by its surfel area; for each direction the
    distance at which the cumulative area fraction first reaches 0.95 is taken, and the larger of the two is
    returned. Matches ``compute_robust_hausdorff(compute_surface_distances(...), 95)``, which the BraTS 2023
    evaluation uses. 2D and 3D only.

    Empty inputs:
        Both empty: ``both_empty`` (default 0.0). Exactly one empty: ``inf``.

    Example:
        >>> import numpy as np
        >>> a = np.zeros((8, 8), bool); a[2:6, 2:6] = True
        >>> hd95_surfel(np.roll(a, 1, axis=0), a)
        1.0
    """
    return surface_distances(prediction, reference, spacing=spacing).hd95_surfel(both_empty=both_empty)


def hd95_pooled(prediction: np.ndarray, reference: np.ndarray, *, spacing: Spacing = None, connectivity: int = 1,
                both_empty: float = 0.0) -> float:
    """95th percentile of the pooled boundary distances of both directions (mm), medpy definition.

    ``P95(concat(d(P->R), d(R->P)))``; matches ``medpy.metric.binary.hd95``. Usually smaller than :func:`hd95`.

    Empty inputs:
        Both empty: ``both_empty`` (default 0.0). Exactly one empty: ``inf`` (medpy raises).

    Example:
        >>> import numpy as np
        >>> a = np.zeros((8, 8), bool); a[2:6, 2:6] = True
        >>> hd95_pooled(np.roll(a, 2, axis=1), a)
        2.0
    """
    return surface_distances(prediction, reference, spacing=spacing, connectivity=connectivity).hd95_pooled(
        both_empty=both_empty)


def hd(prediction: np.ndarray, reference: np.ndarray, *, spacing: Spacing = None, connectivity: int = 1,
       both_empty: float = 0.0) -> float:
    """Hausdorff distance (mm): the largest boundary-voxel distance in either direction.

    ``max(max d(P->R), max d(R->P))``; matches MONAI ``compute_hausdorff_distance`` and medpy ``hd``.

    Empty inputs:
        Both empty: ``both_empty`` (default 0.0). Exactly one empty: ``inf``.

    Example:
        >>> import numpy as np
        >>> a = np.zeros((8, 8), bool); a[2:6, 2:6] = True
        >>> b = a.copy(); b[0, 0] = True
        >>> round(hd(b, a), 4)
        2.8284
    """
    return surface_distances(prediction, reference, spacing=spacing, connectivity=connectivity).hd(
        both_empty=both_empty)


def assd(prediction: np.ndarray, reference: np.ndarray, *, spacing: Spacing = None, connectivity: int = 1,
         both_empty: float = 0.0) -> float:
    """Average symmetric surface distance (mm): the mean over all boundary voxels of both masks.

    ``(sum d(P->R) + sum d(R->P)) / (|dP| + |dR|)``; matches MONAI ``compute_average_surface_distance(...,
    symmetric=True)`` and MetricsReloaded's ASSD.

    Empty inputs:
        Both empty: ``both_empty`` (default 0.0). Exactly one empty: ``inf``.

    Example:
        >>> import numpy as np
        >>> a = np.zeros((8, 8), bool); a[2:6, 2:6] = True
        >>> assd(np.roll(a, 1, axis=0), a)
        0.5
    """
    return surface_distances(prediction, reference, spacing=spacing, connectivity=connectivity).assd(
        both_empty=both_empty)


def masd(prediction: np.ndarray, reference: np.ndarray, *, spacing: Spacing = None, connectivity: int = 1,
         both_empty: float = 0.0) -> float:
    """Mean average surface distance (mm): the mean of the two directed mean boundary distances.

    ``(mean d(P->R) + mean d(R->P)) / 2``; MetricsReloaded's MASD, and what medpy calls ``assd``. Differs from
    :func:`assd` when the two boundaries have different sizes.

    Empty inputs:
        Both empty: ``both_empty`` (default 0.0). Exactly one empty: ``inf``.

    Example:
        >>> import numpy as np
        >>> a = np.zeros((8, 8), bool); a[2:6, 2:6] = True
        >>> masd(np.roll(a, 1, axis=0), a)
        0.5
    """
    return surface_distances(prediction, reference, spacing=spacing, connectivity=connectivity).masd(
        both_empty=both_empty)


def nsd(prediction: np.ndarray, reference: np.ndarray, *, tolerance: float, spacing: Spacing = None,
        both_empty: float = 1.0) -> float:
    """Normalised surface Dice at ``tolerance`` mm, DeepMind ``surface-distance`` definition.

    The surfel area of both surfaces lying within ``tolerance`` of the other surface, over the total surfel area:
    ``(sum a_R[d(R->P) <= t] + sum a_P[d(P->R) <= t]) / (sum a_R + sum a_P)``. Matches
    ``compute_surface_dice_at_tolerance``. 2D and 3D only.

    Empty inputs:
        Both empty: ``both_empty`` (default 1.0; surface-distance gives nan). Exactly one empty: 0.0.

    Example:
        >>> import numpy as np
        >>> a = np.zeros((8, 8), bool); a[2:6, 2:6] = True
        >>> round(nsd(np.roll(a, 2, axis=0), a, tolerance=1.0), 4)
        0.6349
        >>> nsd(np.roll(a, 2, axis=0), a, tolerance=2.0)
        1.0
    """
    return surface_distances(prediction, reference, spacing=spacing).nsd(tolerance, both_empty=both_empty)


SURFACE_METRICS = ("hd95", "hd95_surfel", "hd95_pooled", "hd", "assd", "masd", "nsd")


def surface_metrics(prediction: np.ndarray, reference: np.ndarray, metrics: Sequence[str] = ("hd95", "assd"), *,
                    spacing: Spacing = None, connectivity: int = 1, tolerance: float | None = None) -> dict[str, float]:
    """Several surface metrics of one mask pair from one distance computation.

    Args:
        metrics: ids from :data:`SURFACE_METRICS`; ``nsd`` needs ``tolerance``.

    Empty inputs:
        As each metric's own function (both empty: distances 0.0, NSD 1.0; one empty: ``inf``, NSD 0.0).

    Example:
        >>> import numpy as np
        >>> a = np.zeros((8, 8), bool); a[2:6, 2:6] = True
        >>> surface_metrics(np.roll(a, 1, axis=0), a, ["hd95", "assd", "nsd"], tolerance=1.0)
        {'hd95': 1.0, 'assd': 0.5, 'nsd': 1.0}
    """
    unknown = [m for m in metrics if m not in SURFACE_METRICS]
    if unknown:
        raise MbenchError(f"unknown surface metric(s) {unknown}", expected=f"some of {list(SURFACE_METRICS)}",
                          found=repr(list(metrics)))
    if "nsd" in metrics and tolerance is None:
        raise MbenchError("nsd needs a tolerance", expected="tolerance=<mm>", found="tolerance=None",
                          fix="pass the task's declared NSD tolerance in mm")
    sd = surface_distances(prediction, reference, spacing=spacing, connectivity=connectivity)
    out = {}
    for m in metrics:
        out[m] = sd.nsd(float(tolerance)) if m == "nsd" else getattr(sd, m)()  # type: ignore[arg-type]
    return out
