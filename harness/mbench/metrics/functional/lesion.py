"""Lesion-wise Dice and HD95 with the BraTS 2023 rules, and the lesion-level detection counts.

The rules of the BraTS 2023 evaluation (``rachitsaluja/BraTS-2023-Metrics``), for one binary region of one case:

1. Reference lesions: connected components (26-connectivity) of the reference *dilated* ``dilation`` times with the
   18-connected 3x3x3 structuring element; each lesion is the reference voxels of one dilated component, so nearby
   reference fragments merge into one lesion.
2. Predicted lesions: connected components (26-connectivity) of the prediction.
3. Each reference lesion is matched to every predicted lesion that touches its dilated component. Its Dice and
   surfel HD95 (:func:`~mbench.metrics.functional.surface.hd95_surfel`) are computed against the union of those
   predicted lesions; an unmatched lesion scores Dice 0 and HD95 ``worst`` (374 mm in BraTS 2023).
4. Reference lesions of volume ``<= volume_threshold`` mm^3 are left out of the scores and counts (their matched
   predictions are still not false positives).
5. Predicted lesions that touch no dilated reference lesion are false positives, each scoring Dice 0 and HD95
   ``worst``: lesion-wise Dice ``= sum(Dice) / (n_lesions + n_fp)`` and HD95 ``= (sum(HD95) + n_fp * worst) /
   (n_lesions + n_fp)``.

Empty inputs:
    No counted reference lesion and no false positive (e.g. both empty): Dice 1.0 and HD95 0.0, as BraTS.

Example:
    >>> import numpy as np
    >>> ref = np.zeros((20, 20, 20), bool); ref[2:8, 2:8, 2:8] = True
    >>> pred = ref.copy(); pred[14:18, 14:18, 14:18] = True   # the lesion found, plus one false positive
    >>> r = lesion_wise(pred, ref)
    >>> r.dice, r.hd95, (r.n_tp, r.n_fn, r.n_fp)
    (0.5, 187.0, (1, 0, 1))
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage

from mbench.errors import MbenchError
from mbench.metrics.functional._checks import binary_pair, check_spacing
from mbench.metrics.functional.surface import Spacing, surface_distances

__all__ = ["BRATS_2023_WORST_HD95", "LesionScore", "LesionWiseResult", "lesion_dice", "lesion_hd95", "lesion_wise"]

BRATS_2023_WORST_HD95 = 374.0  # what the BraTS 2023 scripts substitute for an infinite HD95


@dataclass(frozen=True)
class LesionScore:
    """One reference lesion: its volume (mm^3), matched predicted components, Dice and HD95, and whether counted."""

    lesion: int
    volume: float
    matched: tuple[int, ...]
    dice: float
    hd95: float
    counted: bool


@dataclass(frozen=True)
class LesionWiseResult:
    """Lesion-wise scores of one case and region, with the detection counts (counted lesions only)."""

    dice: float
    hd95: float
    n_tp: int
    n_fn: int
    n_fp: int
    lesions: list[LesionScore] = field(default_factory=list)

    @property
    def n_lesions(self) -> int:
        """Counted reference lesions (``n_tp + n_fn``)."""
        return self.n_tp + self.n_fn


def _slices_union(a: tuple[slice, ...], b: tuple[slice, ...] | None) -> tuple[slice, ...]:
    if b is None:
        return a
    return tuple(slice(min(x.start, y.start), max(x.stop, y.stop)) for x, y in zip(a, b, strict=True))


def lesion_wise(prediction: np.ndarray, reference: np.ndarray, *, spacing: Spacing = None, dilation: int = 3,
                volume_threshold: float = 50.0, worst: float = BRATS_2023_WORST_HD95) -> LesionWiseResult:
    """Lesion-wise Dice, HD95 and detection counts of one binary region, BraTS 2023 rules (see the module doc).

    Args:
        prediction: binary 3D mask of one region (e.g. ``region_mask(labels, (1, 2, 3))`` for WT).
        reference: binary 3D mask of the same region.
        spacing: voxel spacing in mm (volumes are in mm^3; BraTS data are 1 mm isotropic).
        dilation: dilation iterations that merge nearby reference lesions (BraTS GLI/SSA/PED 3, MEN/MET 1).
        volume_threshold: reference lesions of at most this volume (mm^3) are not counted (GLI 50, MET 2).
        worst: HD95 of a missed lesion or a false positive (374 in BraTS 2023).

    Empty inputs:
        Nothing counted and no false positive: Dice 1.0, HD95 0.0. Empty prediction with reference lesions:
        Dice 0.0, HD95 ``worst``.

    Example:
        >>> import numpy as np
        >>> ref = np.zeros((12, 12, 12), bool); ref[2:7, 2:7, 2:7] = True
        >>> r = lesion_wise(np.roll(ref, 1, axis=0), ref)
        >>> r.dice, r.hd95, r.n_tp
        (0.8, 1.0, 1)
    """
    pred, ref = binary_pair(prediction, reference)
    if pred.ndim != 3:
        raise MbenchError("lesion-wise metrics need 3D masks", expected="3 dimensions", found=f"{pred.ndim}",
                          fix="pass one region of a 3D volume")
    if int(dilation) < 0:
        raise MbenchError("invalid dilation", expected="an integer >= 0", found=repr(dilation))
    sp = check_spacing(spacing, 3)
    voxel_volume = float(np.prod(sp))
    full = ndimage.generate_binary_structure(3, 3)
    if dilation > 0:
        dilated = ndimage.binary_dilation(ref, structure=ndimage.generate_binary_structure(3, 2),
                                          iterations=int(dilation))
    else:
        dilated = ref
    # the dilation of one merged lesion is exactly its connected component of the dilated reference
    zones, n_ref = ndimage.label(dilated, structure=full)
    lesions = np.where(ref, zones, 0)
    pred_cc, n_pred = ndimage.label(pred, structure=full)
    zone_boxes = ndimage.find_objects(zones)
    pred_boxes = ndimage.find_objects(pred_cc)

    scores: list[LesionScore] = []
    matched_any: set[int] = set()
    for k in range(1, n_ref + 1):
        box = zone_boxes[k - 1]
        zone = zones[box] == k
        matched = tuple(int(v) for v in np.unique(pred_cc[box][zone]) if v != 0)
        matched_any.update(matched)
        crop = box
        for m in matched:
            crop = _slices_union(crop, pred_boxes[m - 1])
        gt_k = lesions[crop] == k
        pred_k = np.isin(pred_cc[crop], matched) if matched else np.zeros_like(gt_k)
        volume = int(np.count_nonzero(gt_k)) * voxel_volume
        inter = int(np.count_nonzero(gt_k & pred_k))
        dice_k = 2.0 * inter / (int(np.count_nonzero(gt_k)) + int(np.count_nonzero(pred_k)))
        hd_k = surface_distances(pred_k, gt_k, spacing=sp).hd95_surfel()
        if not np.isfinite(hd_k):
            hd_k = float(worst)
        scores.append(LesionScore(k, volume, matched, dice_k, hd_k, volume > volume_threshold))

    n_fp = n_pred - len(matched_any)
    counted = [s for s in scores if s.counted]
    n_tp = sum(1 for s in counted if s.matched)
    denominator = len(counted) + n_fp
    if denominator == 0:
        return LesionWiseResult(1.0, 0.0, 0, 0, 0, scores)
    dice_lw = sum(s.dice for s in counted) / denominator
    hd_lw = (sum(s.hd95 for s in counted) + n_fp * float(worst)) / denominator
    return LesionWiseResult(float(dice_lw), float(hd_lw), n_tp, len(counted) - n_tp, n_fp, scores)


def lesion_dice(prediction: np.ndarray, reference: np.ndarray, *, spacing: Spacing = None, dilation: int = 3,
                volume_threshold: float = 50.0) -> float:
    """BraTS 2023 lesion-wise Dice of one region (see :func:`lesion_wise`).

    Empty inputs:
        Nothing counted and no false positive: 1.0.

    Example:
        >>> import numpy as np
        >>> ref = np.zeros((12, 12, 12), bool); ref[2:7, 2:7, 2:7] = True
        >>> lesion_dice(ref, ref), lesion_dice(np.zeros_like(ref), np.zeros_like(ref))
        (1.0, 1.0)
    """
    return lesion_wise(prediction, reference, spacing=spacing, dilation=dilation,
                       volume_threshold=volume_threshold).dice


def lesion_hd95(prediction: np.ndarray, reference: np.ndarray, *, spacing: Spacing = None, dilation: int = 3,
                volume_threshold: float = 50.0, worst: float = BRATS_2023_WORST_HD95) -> float:
    """BraTS 2023 lesion-wise HD95 (mm) of one region (see :func:`lesion_wise`).

    Empty inputs:
        Nothing counted and no false positive: 0.0; each missed lesion or false positive counts ``worst``.

    Example:
        >>> import numpy as np
        >>> ref = np.zeros((12, 12, 12), bool); ref[2:7, 2:7, 2:7] = True
        >>> lesion_hd95(np.zeros_like(ref), ref)
        374.0
    """
    return lesion_wise(prediction, reference, spacing=spacing, dilation=dilation, volume_threshold=volume_threshold,
                       worst=worst).hd95
