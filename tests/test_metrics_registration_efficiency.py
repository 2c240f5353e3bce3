"""Registration metrics on analytic displacement fields; efficiency metrics on layers with known costs."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mbench.errors import MbenchError
from mbench.metrics import functional as F


def test_affine_field_jacobian_is_exact():
    a = np.array([[1.2, 0.1, 0.0], [0.0, 0.9, 0.2], [0.1, 0.0, 1.1]])
    x = np.indices((6, 7, 5), dtype=float)
    u = np.einsum("ij,j...->i...", a - np.eye(3), x)
    det = F.jacobian_determinant(u)
    assert det == pytest.approx(np.full(det.shape, np.linalg.det(a)), rel=1e-12)
    assert F.folding_fraction(u) == 0.0
    assert F.log_jacobian_std(u) == pytest.approx(0.0, abs=1e-12)


def test_folding_and_log_jacobian_of_a_fold():
    x = np.indices((8, 8), dtype=float)
    u = np.zeros_like(x)
    u[0] = -1.6 * x[0] * (x[0] >= 4) + 1.6 * 4 * (x[0] >= 4)  # slope 1 - 1.6 < 0 beyond row 4: a fold
    det = F.jacobian_determinant(u)
    assert F.folding_fraction(u) == pytest.approx(np.mean(det <= 0)) and 0 < F.folding_fraction(u) < 1
    expected = np.std(np.log(np.clip(det, 1e-9, 1e9)))
    assert F.log_jacobian_std(u) == pytest.approx(expected) and expected > 1
    mask = np.zeros((8, 8), bool)
    mask[:3] = True
    assert F.folding_fraction(u, mask=mask) == 0.0
    assert math.isnan(F.folding_fraction(u, mask=np.zeros((8, 8), bool)))


def test_registration_dice_and_hd95_with_integer_translation():
    rng = np.random.default_rng(0)
    fixed = np.zeros((16, 16, 12), int)
    fixed[3:9, 4:10, 2:8] = 1
    fixed[9:13, 6:12, 4:9] = 2
    moving = np.roll(fixed, (2, -1, 1), axis=(0, 1, 2))
    u = np.stack([np.full(fixed.shape, v, float) for v in (2, -1, 1)])
    assert F.registration_dice(moving, fixed, u) == 1.0
    assert F.registration_hd95(moving, fixed, u, spacing=(1, 1, 2)) == 0.0
    zero = np.zeros_like(u)
    expected = np.mean([F.dice(moving == k, fixed == k) for k in (1, 2)])
    assert F.registration_dice(moving, fixed, zero) == pytest.approx(expected) and expected < 1
    assert F.registration_hd95(moving, fixed, zero, labels=[1]) == F.hd95(moving == 1, fixed == 1)
    noise = rng.normal(0, 0.2, u.shape)  # sub-half-voxel noise does not change nearest-neighbour warping
    assert F.registration_dice(moving, fixed, u + np.clip(noise, -0.45, 0.45)) == 1.0


def test_registration_errors():
    with pytest.raises(MbenchError, match="displacement field"):
        F.warp(np.zeros((4, 4)), np.zeros((3, 4, 4)))
    with pytest.raises(MbenchError, match="displacement field"):
        F.warp(np.zeros((4, 4)), np.zeros((2, 4, 5)))
    with pytest.raises(MbenchError, match="at least 2 voxels"):
        F.jacobian_determinant(np.zeros((2, 1, 4)))


def test_efficiency_counts():
    torch = pytest.importorskip("torch")
    lin = torch.nn.Linear(10, 5)
    assert F.count_parameters(lin) == 55
    assert F.count_parameters(torch.nn.Sequential(lin, lin)) == 55  # shared parameters counted once
    lin.bias.requires_grad_(False)
    assert F.count_parameters(lin, trainable_only=True) == 50
    conv = torch.nn.Conv2d(3, 8, kernel_size=3, padding=1, bias=False)
    assert F.flops(conv, torch.zeros(2, 3, 16, 16)) == 2 * 2 * 8 * 16 * 16 * 3 * 3 * 3
    assert F.flops(lin, [torch.zeros(4, 10)]) == 2 * 4 * 10 * 5
    conv.train()
    F.flops(conv, torch.zeros(1, 3, 8, 8))
    assert conv.training  # the mode is restored


def test_latency_median_after_warmup():
    calls = []
    ticks = iter([0.0, 1.0, 10.0, 12.0, 20.0, 27.0])  # durations 1, 2, 7
    value = F.latency(lambda: calls.append(1), warmup=4, repeats=3, timer=lambda: next(ticks))
    assert value == 2.0 and len(calls) == 7
    with pytest.raises(MbenchError, match="repeats"):
        F.latency(lambda: None, repeats=0)
