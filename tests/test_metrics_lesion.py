"""BraTS 2023 lesion-wise metrics against a direct transcription of the rules of the BraTS-2023-Metrics scripts
(full-volume loops, one dilation per lesion, DeepMind surface-distance for HD95, scipy labelling for cc3d)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import ndimage
from surface_distance import metrics as sd_metrics

from mbench.errors import MbenchError
from mbench.metrics import functional as F

pytestmark = pytest.mark.filterwarnings("ignore:Please import:DeprecationWarning")
np.Inf = np.inf  # surface-distance 0.1 uses the alias numpy 2 removed, on its empty-mask path


def brats2023_reference(pred, gt, spacing=(1.0, 1.0, 1.0), dil_factor=3, thresh=50, worst=374.0):
    """The BraTS 2023 procedure, step by step as its scripts do it (get_lesion_wise_score + results)."""
    struct = ndimage.generate_binary_structure(3, 2)
    full = ndimage.generate_binary_structure(3, 3)
    gt_cc, _ = ndimage.label(gt, structure=full)
    pred_cc, _ = ndimage.label(pred, structure=full)
    dil_cc, n_dil = ndimage.label(ndimage.binary_dilation(gt, structure=struct, iterations=dil_factor), structure=full)
    combined = np.zeros_like(dil_cc)
    for comp in range(1, n_dil + 1):
        tmp = (dil_cc == comp).astype(int) * gt_cc
        combined[tmp > 0] = comp
    tp, gt_tp, fn, pairs = [], [], [], []
    for comp in range(1, int(combined.max()) + 1):
        gt_tmp = combined == comp
        gt_dil = ndimage.binary_dilation(gt_tmp, structure=struct, iterations=dil_factor)
        volume = gt_tmp.sum() * np.prod(spacing)
        hits = np.unique(pred_cc * gt_dil)
        hits = hits[hits != 0]
        tp += list(hits)
        pred_tmp = np.isin(pred_cc, hits)
        dice = 2 * (pred_tmp & gt_tmp).sum() / (pred_tmp.sum() + gt_tmp.sum())
        hd = sd_metrics.compute_robust_hausdorff(sd_metrics.compute_surface_distances(gt_tmp, pred_tmp, spacing), 95)
        pairs.append((len(hits), volume, dice, worst if math.isinf(hd) else hd))
        (gt_tp if len(hits) else fn).append(comp)
    fp = np.unique(pred_cc[np.isin(pred_cc, tp + [0], invert=True)])
    kept = [p for p in pairs if p[1] > thresh]
    den = len(kept) + len(fp)
    dice_lw = sum(p[2] for p in kept) / den if den else 1.0
    hd_lw = (sum(p[3] for p in kept) + len(fp) * worst) / den if den else 0.0
    n_tp = sum(1 for p in kept if p[0])
    return dice_lw, hd_lw, n_tp, len(kept) - n_tp, len(fp)


def _ball(shape, centre, radius):
    grid = np.indices(shape)
    return sum((grid[i] - centre[i]) ** 2 for i in range(3)) <= radius ** 2


def _scene(seed: int):
    rng = np.random.default_rng(seed)
    shape = (40, 40, 30)
    gt, pred = np.zeros(shape, bool), np.zeros(shape, bool)
    for _ in range(4):  # reference lesions, some close enough to merge after dilation, some tiny
        c, r = rng.integers(5, 35, 3) % np.array(shape), rng.uniform(1.0, 5.0)
        gt |= _ball(shape, c, r)
        if rng.random() < 0.75:  # detected, shifted and resized
            pred |= _ball(shape, c + rng.integers(-2, 3, 3), max(r + rng.uniform(-1.5, 1.5), 0.8))
    for _ in range(2):  # false positives
        pred |= _ball(shape, rng.integers(3, 27, 3), rng.uniform(1.0, 3.0))
    return pred, gt


@pytest.mark.parametrize("seed", range(6))
def test_against_brats2023_transcription(seed):
    pred, gt = _scene(seed)
    expected = brats2023_reference(pred, gt)
    result = F.lesion_wise(pred, gt)
    assert result.dice == pytest.approx(expected[0], rel=1e-12)
    assert result.hd95 == pytest.approx(expected[1], rel=1e-12)
    assert (result.n_tp, result.n_fn, result.n_fp) == expected[2:]


@pytest.mark.parametrize(("dilation", "threshold", "spacing"), [(1, 2, (1.0, 1.0, 1.0)), (3, 20, (1.2, 0.9, 1.5))])
def test_against_transcription_other_challenge_settings(dilation, threshold, spacing):
    pred, gt = _scene(11)
    expected = brats2023_reference(pred, gt, spacing=spacing, dil_factor=dilation, thresh=threshold)
    result = F.lesion_wise(pred, gt, spacing=spacing, dilation=dilation, volume_threshold=threshold)
    assert (result.dice, result.hd95) == pytest.approx(expected[:2], rel=1e-12)
    assert (result.n_tp, result.n_fn, result.n_fp) == expected[2:]


def test_dilation_merges_nearby_lesions_and_threshold_drops_small_ones():
    gt = np.zeros((30, 30, 30), bool)
    gt[5:12, 5:12, 5:12] = True
    gt[5:12, 5:12, 14:20] = True  # 2 voxels apart: one lesion after dilation
    gt[25:27, 25:27, 25:27] = True  # 8 voxels: below the 50 mm^3 threshold
    result = F.lesion_wise(gt, gt)
    assert len(result.lesions) == 2 and [s.counted for s in result.lesions] == [True, False]
    assert (result.dice, result.hd95, result.n_tp, result.n_fn, result.n_fp) == (1.0, 0.0, 1, 0, 0)
    assert F.lesion_wise(gt, gt, dilation=0).n_tp == 2  # without dilation they stay separate


def test_empty_and_missed():
    z = np.zeros((12, 12, 12), bool)
    ref = z.copy()
    ref[2:8, 2:8, 2:8] = True
    assert (F.lesion_dice(z, z), F.lesion_hd95(z, z)) == (1.0, 0.0)
    missed = F.lesion_wise(z, ref)
    assert (missed.dice, missed.hd95, missed.n_fn) == (0.0, 374.0, 1)
    only_fp = F.lesion_wise(ref, z, worst=373.13)
    assert (only_fp.dice, only_fp.hd95, only_fp.n_fp) == (0.0, 373.13, 1)
    with pytest.raises(MbenchError, match="3D"):
        F.lesion_wise(ref[0], ref[0])
