"""Image-quality metrics against scikit-image (SSIM, PSNR, MSE) and scikit-learn (MAE, RMSE); LPIPS through the
lpips package with locally made backbone weights (nothing can be downloaded here)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from skimage import metrics as skim
from sklearn import metrics as skm

from mbench.errors import MbenchError
from mbench.metrics import functional as F


def _images(seed: int, shape: tuple[int, ...], scale: float = 1.0):
    rng = np.random.default_rng(seed)
    ref = rng.random(shape) * scale
    pred = np.clip(ref + rng.normal(0, 0.1 * scale, shape), 0, scale)
    return pred, ref


@pytest.mark.parametrize(("shape", "scale"), [((32, 28), 1.0), ((24, 24), 255.0), ((12, 13, 11), 1.0)])
@pytest.mark.parametrize("options", [{}, {"gaussian_weights": True}, {"use_sample_covariance": False},
                                     {"win_size": 5, "K1": 0.02, "K2": 0.05}])
def test_ssim_against_skimage(shape, scale, options):
    pred, ref = _images(1, shape, scale)
    ours = {"k1" if k == "K1" else "k2" if k == "K2" else k: v for k, v in options.items()}
    expected = skim.structural_similarity(pred, ref, data_range=scale, **options)
    assert F.ssim(pred, ref, data_range=scale, **ours) == pytest.approx(expected, rel=1e-10, abs=1e-12)


def test_ssim_conventions_and_errors():
    img = np.linspace(0, 1, 100).reshape(10, 10)
    assert F.ssim(img, img, data_range=1.0) == 1.0
    with pytest.raises(MbenchError, match="data_range"):
        F.ssim(img, img, data_range=None)
    with pytest.raises(MbenchError, match="window"):
        F.ssim(img[:5], img[:5], data_range=1.0)
    with pytest.raises(MbenchError, match="window"):
        F.ssim(img, img, data_range=1.0, win_size=4)


@pytest.mark.parametrize("seed", range(3))
def test_psnr_mse_mae_rmse_against_references(seed):
    pred, ref = _images(seed, (16, 9), 255.0)
    assert F.psnr(pred, ref, data_range=255.0) == pytest.approx(
        skim.peak_signal_noise_ratio(ref, pred, data_range=255.0), rel=1e-12)
    assert F.mse(pred, ref) == pytest.approx(skim.mean_squared_error(ref, pred), rel=1e-12)
    assert F.mae(pred, ref) == pytest.approx(skm.mean_absolute_error(ref.ravel(), pred.ravel()), rel=1e-12)
    assert F.rmse(pred, ref) == pytest.approx(skm.root_mean_squared_error(ref.ravel(), pred.ravel()), rel=1e-12)


def test_psnr_conventions_and_errors():
    img = np.ones((4, 4))
    assert F.psnr(img, img, data_range=1.0) == math.inf
    with pytest.raises(MbenchError, match="needs data_range"):
        F.psnr(img, img * 0.5, data_range=None)
    with pytest.raises(MbenchError, match="invalid data_range"):
        F.psnr(img, img * 0.5, data_range=-1)
    with pytest.raises(MbenchError, match="differ in shape"):
        F.mae(img, np.ones((4, 5)))
    with pytest.raises(MbenchError, match="empty"):
        F.mse(np.zeros(0), np.zeros(0))


@pytest.fixture
def local_alexnet(tmp_path, monkeypatch):
    """Randomly initialised AlexNet weights where torchvision looks for the ImageNet checkpoint."""
    torch = pytest.importorskip("torch")
    torchvision = pytest.importorskip("torchvision")
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    path = F.lpips_backbone_path("alex")
    assert str(path).startswith(str(tmp_path))
    path.parent.mkdir(parents=True)
    torch.manual_seed(0)
    torch.save(torchvision.models.alexnet().state_dict(), path)
    return path


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_lpips_against_lpips_package(local_alexnet):
    import lpips
    import torch

    rng = np.random.default_rng(0)
    ref = rng.random((32, 40, 3)) * 255.0
    pred = np.clip(ref + rng.normal(0, 20, ref.shape), 0, 255)
    model = lpips.LPIPS(net="alex", verbose=False)

    def tensor(x):
        return torch.from_numpy((x / 255.0 * 2 - 1).astype(np.float32)).permute(2, 0, 1)[None]

    with torch.no_grad():
        expected = float(model(tensor(pred), tensor(ref)).item())
    value = F.lpips(pred, ref, data_range=255.0)
    assert value == pytest.approx(expected, rel=1e-5) and value > 0
    assert F.lpips(ref, ref, data_range=255.0) == 0.0
    grey = ref[..., 0]
    assert F.lpips(grey, grey * 0.5, data_range=255.0) > 0


def test_lpips_without_weights_says_what_to_put_where(tmp_path, monkeypatch):
    pytest.importorskip("torchvision")
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    img = np.zeros((32, 32))
    with pytest.raises(MbenchError) as err:
        F.lpips(img, img, data_range=1.0)
    text = str(err.value)
    assert "alexnet-owt-7be5be79.pth" in text and str(tmp_path / "hub" / "checkpoints") in text
    with pytest.raises(MbenchError, match="2D images"):
        F.lpips(np.zeros((4, 32, 32)), np.zeros((4, 32, 32)), data_range=1.0)
    with pytest.raises(MbenchError, match="unknown LPIPS backbone"):
        F.lpips_backbone_path("resnet")
