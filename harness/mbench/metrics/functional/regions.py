"""Label maps: per-label and per-region scores (BraTS WT / TC / ET), computed on one shared crop.

A *region* is a set of labels merged into one binary mask; BraTS evaluates the whole tumour WT = {1, 2, 4}, the
tumour core TC = {1, 4} and the enhancing tumour ET = {4} (BraTS 2023 relabels ET as 3: use
:data:`BRATS_2023_REGIONS`).

Example:
    >>> import numpy as np
    >>> ref = np.array([[0, 2, 2], [1, 4, 0]])
    >>> pred = np.array([[0, 2, 0], [1, 4, 4]])
    >>> region_scores(pred, ref, metrics=["dice"])
    {'WT': {'dice': 0.75}, 'TC': {'dice': 0.8}, 'ET': {'dice': 0.6666666666666666}}
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np

from mbench.errors import MbenchError
from mbench.metrics.functional._checks import same_shape
from mbench.metrics.functional.overlap import OVERLAP_METRICS, confusion_counts, overlap_from_counts
from mbench.metrics.functional.surface import SURFACE_METRICS, Spacing, _bounding_box, surface_distances

__all__ = ["BRATS_2023_REGIONS", "BRATS_REGIONS", "per_label", "per_region", "region_mask", "region_scores"]

BRATS_REGIONS: dict[str, tuple[int, ...]] = {"WT": (1, 2, 4), "TC": (1, 4), "ET": (4,)}
BRATS_2023_REGIONS: dict[str, tuple[int, ...]] = {"WT": (1, 2, 3), "TC": (1, 3), "ET": (3,)}


def region_mask(labels: np.ndarray, region: int | Sequence[int]) -> np.ndarray:
    """Binary mask of the voxels whose label is in ``region`` (one label or several).

    Empty inputs:
        A region absent from the label map gives an all-False mask.

    Example:
        >>> import numpy as np
        >>> region_mask(np.array([0, 1, 2, 4]), (1, 4)).tolist()
        [False, True, False, True]
    """
    labels = np.asarray(labels)
    values = (region,) if np.isscalar(region) else tuple(region)  # type: ignore[arg-type]
    if len(values) == 1:
        return labels == values[0]
    return np.isin(labels, values)


def per_label(metric: Callable[..., float], prediction: np.ndarray, reference: np.ndarray,
              labels: Sequence[int] | None = None, **kwargs: object) -> dict[int, float]:
    """``metric`` of each label's binary mask; ``labels`` defaults to the nonzero labels of the reference.

    Empty inputs:
        A label absent from both maps is scored by the metric's both-empty convention.

    Example:
        >>> import numpy as np
        >>> from mbench.metrics.functional import dice
        >>> per_label(dice, np.array([1, 1, 2, 0]), np.array([1, 2, 2, 0]))
        {1: 0.6666666666666666, 2: 0.6666666666666666}
    """
    pred, ref = same_shape(prediction, reference)
    if labels is None:
        labels = [int(v) for v in np.unique(ref) if v != 0]
    return {int(lab): metric(pred == lab, ref == lab, **kwargs) for lab in labels}


def per_region(metric: Callable[..., float], prediction: np.ndarray, reference: np.ndarray,
               regions: Mapping[str, int | Sequence[int]] = BRATS_REGIONS, **kwargs: object) -> dict[str, float]:
    """``metric`` of each region's binary mask (default: the BraTS WT / TC / ET regions).

    Empty inputs:
        A region absent from both maps is scored by the metric's both-empty convention.

    Example:
        >>> import numpy as np
        >>> from mbench.metrics.functional import dice
        >>> per_region(dice, np.array([1, 2, 4, 0]), np.array([1, 2, 2, 0]))
        {'WT': 1.0, 'TC': 0.6666666666666666, 'ET': 0.0}
    """
    pred, ref = same_shape(prediction, reference)
    return {name: metric(region_mask(pred, r), region_mask(ref, r), **kwargs) for name, r in regions.items()}


def region_scores(prediction: np.ndarray, reference: np.ndarray, *,
                  regions: Mapping[str, int | Sequence[int]] = BRATS_REGIONS,
                  metrics: Sequence[str] = ("dice", "hd95"), spacing: Spacing = None, connectivity: int = 1,
                  tolerance: float | None = None, both_empty: float | None = None) -> dict[str, dict[str, float]]:
    """Overlap and surface metrics for every region of a label-map pair, fast.

    Both label maps are cropped once to the bounding box of their union of nonzero labels (no metric changes:
    outside it every region is background in both maps), then each region's surface distances are computed once
    and every requested metric derived from them.

    Args:
        metrics: ids from :data:`~mbench.metrics.functional.overlap.OVERLAP_METRICS` and
            :data:`~mbench.metrics.functional.surface.SURFACE_METRICS`; ``nsd`` needs ``tolerance`` (mm).
        both_empty: overrides each metric's both-empty value (``None`` keeps the functional defaults: overlap and
            NSD 1.0, distances 0.0).

    Empty inputs:
        Per region as the metric functions; empty label maps are allowed.

    Example:
        >>> import numpy as np
        >>> ref = np.zeros((10, 10, 10), np.uint8); ref[2:8, 2:8, 2:8] = 2; ref[4:6, 4:6, 4:6] = 4
        >>> pred = np.roll(ref, 1, axis=0)
        >>> region_scores(pred, ref, metrics=["dice", "hd95", "nsd"], tolerance=1.0)["WT"]
        {'dice': 0.8333333333333334, 'hd95': 1.0, 'nsd': 1.0}
    """
    pred, ref = same_shape(prediction, reference)
    unknown = [m for m in metrics if m not in OVERLAP_METRICS and m not in SURFACE_METRICS]
    if unknown:
        raise MbenchError(f"unknown region metric(s) {unknown}",
                          expected=f"some of {list(OVERLAP_METRICS) + list(SURFACE_METRICS)}",
                          found=repr(list(metrics)))
    if "nsd" in metrics and tolerance is None:
        raise MbenchError("nsd needs a tolerance", expected="tolerance=<mm>", found="tolerance=None",
                          fix="pass the task's declared NSD tolerance in mm")
    box = _bounding_box((pred != 0) | (ref != 0))
    size = int(pred.size)
    if box is not None:
        pred, ref = pred[box], ref[box]
    else:
        pred, ref = pred[(slice(0, 0),) * pred.ndim], ref[(slice(0, 0),) * ref.ndim]
    outside = size - int(pred.size)  # voxels outside the crop: background in both maps (true negatives)
    kw = {} if both_empty is None else {"both_empty": float(both_empty)}
    out: dict[str, dict[str, float]] = {}
    for name, region in regions.items():
        p, r = region_mask(pred, region), region_mask(ref, region)
        scores: dict[str, float] = {}
        wanted_surface = [m for m in metrics if m in SURFACE_METRICS]
        sd = surface_distances(p, r, spacing=spacing, connectivity=connectivity) if wanted_surface else None
        counts = None
        for m in metrics:
            if m in OVERLAP_METRICS:
                if counts is None:
                    tp, fp, fn, tn = confusion_counts(p, r)
                    counts = (tp, fp, fn, tn + outside)
                scores[m] = overlap_from_counts(m, counts, **kw)  # type: ignore[arg-type]
            elif m == "nsd":
                scores[m] = sd.nsd(float(tolerance), **kw)  # type: ignore[arg-type,union-attr]
            else:
                scores[m] = getattr(sd, m)(**kw)
        out[name] = scores
    return out
