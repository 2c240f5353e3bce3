"""Surface metrics against MONAI (hd95, hd, assd), medpy (hd95_pooled, masd, connectivity) and DeepMind
surface-distance (hd95_surfel, nsd), on random masks, spheres, single voxels, shifts, anisotropic spacing, masks
touching the image border, 2D and 3D; the empty-mask conventions; and Hypothesis properties."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from medpy.metric import binary as medpy_binary
from monai.metrics import compute_average_surface_distance, compute_hausdorff_distance
from scipy import ndimage
from surface_distance import metrics as sd_metrics

from mbench.errors import MbenchError
from mbench.metrics import functional as F

pytestmark = pytest.mark.filterwarnings("ignore:Please import:DeprecationWarning")
np.Inf = np.inf  # surface-distance 0.1 still uses the alias that numpy 2 removed (only on its empty-mask path)
REL = 1e-6  # MONAI returns float32


def _monai(fn, pred, ref, spacing, **kw) -> float:
    p = torch.from_numpy(pred[None, None].astype(np.float32))
    r = torch.from_numpy(ref[None, None].astype(np.float32))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(fn(p, r, include_background=True, spacing=list(spacing), **kw))


def _deepmind(pred, ref, spacing):
    return sd_metrics.compute_surface_distances(ref.astype(bool), pred.astype(bool), list(spacing))


def _blobs(rng: np.random.Generator, shape: tuple[int, ...], sigma: float = 1.0) -> np.ndarray:
    return ndimage.gaussian_filter(rng.random(shape), sigma) > 0.5


def _sphere(shape, centre, radius, spacing):
    grid = np.indices(shape, dtype=float)
    return sum(((grid[i] - centre[i]) * spacing[i]) ** 2 for i in range(len(shape))) <= radius ** 2


def _cases():
    rng = np.random.default_rng(7)
    cases = []
    for i in range(6):  # random blobs, 2D and 3D, isotropic and anisotropic
        ndim = 2 if i % 2 else 3
        shape = tuple(int(s) for s in rng.integers(8, 18, ndim))
        spacing = tuple(float(s) for s in rng.uniform(0.4, 3.0, ndim)) if i >= 2 else (1.0,) * ndim
        cases.append((f"random{ndim}d-{i}", _blobs(rng, shape), _blobs(rng, shape), spacing))
    sp = (0.8, 1.1, 2.5)
    cases.append(("spheres-aniso", _sphere((20, 20, 12), (9, 10, 6), 6.0, sp),
                  _sphere((20, 20, 12), (10, 9, 6), 7.0, sp), sp))
    cube = np.zeros((10, 10, 10), bool)
    cube[2:7, 2:7, 2:7] = True
    cases.append(("one-voxel-shift", np.roll(cube, 1, axis=1), cube, (1.0, 2.0, 3.0)))
    single = np.zeros((7, 7), bool)
    single[3, 3] = True
    other = np.zeros((7, 7), bool)
    other[5, 1] = True
    cases.append(("single-voxels-2d", single, other, (1.5, 0.5)))
    border = np.zeros((9, 9, 9), bool)
    border[:5, :, 3:] = True  # touches five faces of the image
    cases.append(("touching-border", border, np.roll(border, -1, axis=2) | border, (1.0, 1.0, 1.0)))
    outlier = cube.copy()
    outlier[9, 9, 9] = True
    cases.append(("far-outlier", outlier, cube, (1.0, 1.0, 1.0)))
    return cases


CASES = _cases()


@pytest.mark.parametrize(("name", "pred", "ref", "spacing"), CASES, ids=[c[0] for c in CASES])
def test_against_monai(name, pred, ref, spacing):
    sd = F.surface_distances(pred, ref, spacing=spacing)
    assert sd.hd95() == pytest.approx(_monai(compute_hausdorff_distance, pred, ref, spacing, percentile=95), rel=REL)
    assert sd.hd() == pytest.approx(_monai(compute_hausdorff_distance, pred, ref, spacing), rel=REL)
    assert sd.assd() == pytest.approx(_monai(compute_average_surface_distance, pred, ref, spacing, symmetric=True),
                                      rel=REL)
    assert F.hd95(pred, ref, spacing=spacing) == sd.hd95()


@pytest.mark.parametrize(("name", "pred", "ref", "spacing"), CASES, ids=[c[0] for c in CASES])
def test_against_medpy(name, pred, ref, spacing):
    assert F.hd95_pooled(pred, ref, spacing=spacing) == pytest.approx(medpy_binary.hd95(pred, ref, spacing), rel=1e-12)
    assert F.hd(pred, ref, spacing=spacing) == pytest.approx(medpy_binary.hd(pred, ref, spacing), rel=1e-12)
    assert F.assd(pred, ref, spacing=spacing) == pytest.approx(medpy_binary.assd(pred, ref, spacing), rel=1e-12)
    masd = 0.5 * (medpy_binary.asd(pred, ref, spacing) + medpy_binary.asd(ref, pred, spacing))
    assert F.masd(pred, ref, spacing=spacing) == pytest.approx(masd, rel=1e-12)


@pytest.mark.parametrize(("name", "pred", "ref", "spacing"), CASES, ids=[c[0] for c in CASES])
def test_against_surface_distance(name, pred, ref, spacing):
    reference = _deepmind(pred, ref, spacing)
    sd = F.surface_distances(pred, ref, spacing=spacing)
    assert sd.hd95_surfel() == pytest.approx(sd_metrics.compute_robust_hausdorff(reference, 95), rel=1e-12)
    for tolerance in (0.0, 0.5, 1.0, 2.0, 3.7):
        expected = sd_metrics.compute_surface_dice_at_tolerance(reference, tolerance)
        assert sd.nsd(tolerance) == pytest.approx(expected, rel=1e-12), tolerance
        assert F.nsd(pred, ref, tolerance=tolerance, spacing=spacing) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("connectivity", [2, 3])
def test_connectivity_against_medpy(connectivity):
    rng = np.random.default_rng(3)
    pred, ref = _blobs(rng, (12, 11, 10)), _blobs(rng, (12, 11, 10))
    spacing = (0.7, 1.0, 1.9)
    assert F.hd95_pooled(pred, ref, spacing=spacing, connectivity=connectivity) == pytest.approx(
        medpy_binary.hd95(pred, ref, spacing, connectivity=connectivity), rel=1e-12)
    assert F.assd(pred, ref, spacing=spacing, connectivity=connectivity) == pytest.approx(
        medpy_binary.assd(pred, ref, spacing, connectivity=connectivity), rel=1e-12)


def test_the_three_hd95_definitions_differ_and_each_matches_its_reference():
    ref = _sphere((40, 40, 30), (20, 20, 15), 10.0, (1.0, 1.0, 1.0))
    pred = ref.copy()
    pred[2:6, 2:6, 2:6] = True  # a distant false positive
    spacing = (1.0, 1.0, 1.0)
    monai_value = _monai(compute_hausdorff_distance, pred, ref, spacing, percentile=95)
    medpy_value = medpy_binary.hd95(pred, ref, spacing)
    surfel_value = sd_metrics.compute_robust_hausdorff(_deepmind(pred, ref, spacing), 95)
    assert len({round(monai_value, 3), round(medpy_value, 3), round(surfel_value, 3)}) == 3
    assert F.hd95(pred, ref) == pytest.approx(monai_value, rel=REL)
    assert F.hd95_pooled(pred, ref) == pytest.approx(medpy_value, rel=1e-12)
    assert F.hd95_surfel(pred, ref) == pytest.approx(surfel_value, rel=1e-12)


def test_sphere_analytic():
    spacing = (1.0, 1.0, 1.0)
    inner = _sphere((41, 41, 41), (20, 20, 20), 10.0, spacing)
    outer = _sphere((41, 41, 41), (20, 20, 20), 14.0, spacing)
    # concentric spheres: every boundary distance is close to the 4 mm gap (voxelisation error < 1.5 mm)
    for value in (F.hd95(inner, outer), F.hd(inner, outer), F.assd(inner, outer), F.hd95_surfel(inner, outer)):
        assert 3.0 <= value <= 5.5
    assert F.nsd(inner, outer, tolerance=5.5) == 1.0
    assert F.nsd(inner, outer, tolerance=2.0) == 0.0


@pytest.mark.parametrize("metric", ["hd95", "hd95_surfel", "hd95_pooled", "hd", "assd", "masd"])
def test_empty_conventions_distances(metric):
    fn = getattr(F, metric)
    empty, mask = np.zeros((6, 6, 6), bool), np.zeros((6, 6, 6), bool)
    mask[2:4, 2:4, 2:4] = True
    assert fn(empty, empty) == 0.0
    assert math.isnan(fn(empty, empty, both_empty=float("nan")))
    assert fn(mask, empty) == math.inf
    assert fn(empty, mask) == math.inf


def test_empty_conventions_nsd_and_reference_behaviour():
    empty, mask = np.zeros((6, 6), bool), np.zeros((6, 6), bool)
    mask[2:4, 2:4] = True
    assert F.nsd(empty, empty, tolerance=1.0) == 1.0
    assert F.nsd(mask, empty, tolerance=1.0) == 0.0
    assert F.nsd(empty, mask, tolerance=1.0) == 0.0
    # the references disagree with each other on these cases, which is why mbench declares its own conventions
    with pytest.raises(RuntimeError):
        medpy_binary.hd95(mask, empty)
    one_empty = _deepmind(mask, empty, (1.0, 1.0))
    assert sd_metrics.compute_robust_hausdorff(one_empty, 95) == math.inf
    assert sd_metrics.compute_surface_dice_at_tolerance(one_empty, 1.0) == 0.0


def test_full_image_mask_and_1d():
    full = np.ones((5, 6, 4), bool)
    assert F.hd95(full, full) == 0.0 and F.nsd(full, full, tolerance=0.0) == 1.0
    a, b = np.zeros(10, bool), np.zeros(10, bool)
    a[2:5], b[4:8] = True, True
    assert F.hd(a, b, spacing=2.0) == 6.0  # boundary voxels {2, 4} and {4, 7}: 7 -> 4 is 3 voxels


def test_surface_metrics_share_one_computation():
    rng = np.random.default_rng(0)
    pred, ref = _blobs(rng, (10, 10, 10)), _blobs(rng, (10, 10, 10))
    out = F.surface_metrics(pred, ref, list(F.SURFACE_METRICS), spacing=(1, 2, 1), tolerance=1.5)
    assert out == {m: (getattr(F, m)(pred, ref, spacing=(1, 2, 1), tolerance=1.5) if m == "nsd"
                       else getattr(F, m)(pred, ref, spacing=(1, 2, 1))) for m in F.SURFACE_METRICS}


def test_clear_errors():
    a = np.zeros((4, 4), bool)
    with pytest.raises(MbenchError, match="differ in shape"):
        F.hd95(a, np.zeros((4, 5), bool))
    with pytest.raises(MbenchError, match="spacing"):
        F.hd95(a, a, spacing=(1.0, 1.0, 1.0))
    with pytest.raises(MbenchError, match="spacing"):
        F.hd95(a, a, spacing=(1.0, -1.0))
    with pytest.raises(MbenchError, match="connectivity"):
        F.hd95(a, a, connectivity=3)
    with pytest.raises(MbenchError, match="tolerance"):
        F.surface_metrics(a, a, ["nsd"])
    with pytest.raises(MbenchError, match="unknown surface metric"):
        F.surface_metrics(a, a, ["hd99"])
    with pytest.raises(MbenchError, match="2D or 3D"):
        F.hd95_surfel(np.ones((3, 3, 3, 3)), np.ones((3, 3, 3, 3)))


masks = st.integers(0, 2 ** 30).map(lambda seed: _blobs(np.random.default_rng(seed), (9, 8, 7), 0.8))
spacings = st.tuples(*[st.floats(0.3, 3.0, allow_nan=False)] * 3)


@settings(max_examples=25, deadline=None)
@given(a=masks, b=masks, spacing=spacings)
def test_property_symmetry_and_bounds(a, b, spacing):
    ab, ba = F.surface_distances(a, b, spacing=spacing), F.surface_distances(b, a, spacing=spacing)
    for m in ("hd95", "hd", "hd95_pooled", "assd", "masd", "hd95_surfel"):
        assert getattr(ab, m)() == pytest.approx(getattr(ba, m)(), rel=1e-12)
    assert ab.nsd(1.0) == pytest.approx(ba.nsd(1.0), rel=1e-12)
    if a.any() and b.any():
        assert 0.0 <= ab.assd() <= ab.hd() + 1e-12 and 0.0 <= ab.masd() <= ab.hd() + 1e-12
        assert ab.hd95() <= ab.hd() + 1e-12 and ab.hd95_pooled() <= ab.hd() + 1e-12
        assert 0.0 <= ab.nsd(0.5) <= ab.nsd(2.0) <= 1.0


@settings(max_examples=15, deadline=None)
@given(a=masks, spacing=spacings)
def test_property_identity(a, spacing):
    sd = F.surface_distances(a, a, spacing=spacing)
    assert sd.hd95() == sd.hd() == sd.assd() == sd.hd95_surfel() == 0.0
    assert sd.nsd(0.0) == 1.0


@settings(max_examples=30, deadline=None)
@given(k=st.integers(1, 3), axis=st.integers(0, 2), side=st.integers(7, 9), spacing=spacings)
def test_property_shift_by_k_voxels_is_k_spacing(k, axis, side, spacing):
    cube = np.zeros((side + 2 * k + 2,) * 3, bool)
    cube[k + 1:k + 1 + side, k + 1:k + 1 + side, k + 1:k + 1 + side] = True
    shifted = np.roll(cube, k, axis=axis)
    expected = k * spacing[axis]
    assert F.hd(shifted, cube, spacing=spacing) == pytest.approx(expected, rel=1e-12)
    assert F.hd95_surfel(shifted, cube, spacing=spacing) <= expected + 1e-12
    assert F.hd95(shifted, cube, spacing=spacing) <= expected + 1e-12
