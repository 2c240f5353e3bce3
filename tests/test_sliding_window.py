"""Sliding-window inference agrees with MONAI's and keeps only one batch of patches on the device."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
monai_inferers = pytest.importorskip("monai.inferers")

from mbench.errors import MbenchError  # noqa: E402
from mbench.inference.sliding_window import gaussian_importance, sliding_window_predict, window_starts  # noqa: E402


def _conv(channels_in: int, channels_out: int, ndim: int):
    torch.manual_seed(0)
    conv = (torch.nn.Conv3d if ndim == 3 else torch.nn.Conv2d)(channels_in, channels_out, 3, padding=1)
    return conv.eval()


@pytest.mark.parametrize("shape,patch,overlap", [
    ((2, 19, 33, 27), (8, 16, 16), 0.5),
    ((1, 5, 12, 40), (8, 16, 16), 0.25),   # smaller than the patch along two axes: padded
    ((3, 37, 29), (16, 16), 0.6),           # 2D
])
def test_constant_blend_matches_monai(shape, patch, overlap):
    vol = np.random.default_rng(1).standard_normal(shape).astype(np.float32)
    net = _conv(shape[0], 3, len(shape) - 1)
    ours = sliding_window_predict(vol, net, patch_size=patch, out_channels=3, overlap=overlap, batch_size=3,
                                  blend="constant")
    with torch.inference_mode():
        ref = monai_inferers.sliding_window_inference(torch.from_numpy(vol)[None], patch, 3, net,
                                                      overlap=overlap, mode="constant")[0].numpy()
    assert ours.shape == (3, *shape[1:])
    np.testing.assert_allclose(ours, ref, atol=1e-5)


def test_gaussian_weights_are_monais_up_to_scale():
    from monai.data.utils import compute_importance_map

    ref = compute_importance_map((8, 16, 12), mode="gaussian", sigma_scale=0.125).numpy().astype(np.float64)
    ours = gaussian_importance((8, 16, 12)).astype(np.float64)
    above = ref > 2e-3  # MONAI floors at 1e-3 of its own scale
    np.testing.assert_allclose(ours[above], ref[above] / ref.max(), rtol=1e-4)


def test_gaussian_blend_is_exact_for_a_pointwise_predictor_and_equals_monai_with_the_same_weights():
    vol = np.random.default_rng(2).random((1, 21, 30, 26), dtype=np.float32)
    ours = sliding_window_predict(vol, lambda x: torch.cat([x * 3 - 1, x ** 2], 1), patch_size=(8, 16, 16),
                                  out_channels=2)
    np.testing.assert_allclose(ours, np.concatenate([vol * 3 - 1, vol ** 2]), atol=1e-5)
    net = _conv(1, 2, 3)
    ours = sliding_window_predict(vol, net, patch_size=(8, 16, 16), out_channels=2, overlap=0.5)
    with torch.inference_mode():
        ref = monai_inferers.sliding_window_inference(torch.from_numpy(vol)[None], (8, 16, 16), 4, net,
                                                      overlap=0.5, mode="gaussian",
                                                      roi_weight_map=torch.from_numpy(gaussian_importance(
                                                          (8, 16, 16))))[0].numpy()
    np.testing.assert_allclose(ours, ref, atol=1e-5)


def test_only_batch_size_patches_reach_the_predictor():
    seen = []

    def spy(x):
        seen.append(x.shape[0])
        return x

    vol = np.zeros((1, 32, 32, 32), np.float32)
    sliding_window_predict(vol, spy, patch_size=(16, 16, 16), out_channels=1, overlap=0.5, batch_size=2)
    assert max(seen) == 2 and sum(seen) == len(window_starts(32, 16, 0.5)) ** 3


def test_bad_shapes_are_explained():
    with pytest.raises(MbenchError, match="patch_size"):
        sliding_window_predict(np.zeros((1, 8, 8, 8), np.float32), lambda x: x, patch_size=(4, 4), out_channels=1)
    with pytest.raises(MbenchError, match="unexpected shape"):
        sliding_window_predict(np.zeros((1, 8, 8), np.float32), lambda x: x[:, :, :2], patch_size=(4, 4),
                               out_channels=1)
