"""Image-quality metrics for reconstruction, synthesis and inpainting: MAE, MSE, RMSE, PSNR, SSIM and LPIPS.

PSNR and SSIM need the *data range* of the intensity scale; it is a required argument, because inferring it from
the images (as several tools do) makes scores incomparable between cases and papers.

Example:
    >>> import numpy as np
    >>> ref = np.linspace(0, 1, 64).reshape(8, 8)
    >>> mae(ref + 0.1, ref), round(rmse(ref + 0.1, ref), 6), round(psnr(ref + 0.1, ref, data_range=1.0), 6)
    (0.1, 0.1, 20.0)
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
from scipy import ndimage

from mbench.errors import MbenchError
from mbench.metrics.functional._checks import require_range, same_shape

__all__ = ["lpips", "lpips_backbone_path", "mae", "mse", "psnr", "rmse", "ssim"]


def _float_pair(prediction: np.ndarray, reference: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    pred, ref = same_shape(prediction, reference)
    if pred.size == 0:
        raise MbenchError("image metric of an empty image", expected="at least one pixel", found=f"shape {pred.shape}")
    return pred.astype(np.float64, copy=False), ref.astype(np.float64, copy=False)


def mae(prediction: np.ndarray, reference: np.ndarray) -> float:
    """Mean absolute error ``mean(|P - R|)``.

    Empty inputs:
        Zero-size images raise :class:`~mbench.errors.MbenchError`.

    Example:
        >>> import numpy as np
        >>> mae(np.array([1.0, 2.0]), np.array([1.5, 1.0]))
        0.75
    """
    pred, ref = _float_pair(prediction, reference)
    return float(np.mean(np.abs(pred - ref)))


def mse(prediction: np.ndarray, reference: np.ndarray) -> float:
    """Mean squared error ``mean((P - R)^2)``.

    Empty inputs:
        Zero-size images raise :class:`~mbench.errors.MbenchError`.

    Example:
        >>> import numpy as np
        >>> mse(np.array([1.0, 2.0]), np.array([1.5, 1.0]))
        0.625
    """
    pred, ref = _float_pair(prediction, reference)
    diff = pred - ref
    return float(np.mean(diff * diff))


def rmse(prediction: np.ndarray, reference: np.ndarray) -> float:
    """Root mean squared error ``sqrt(mean((P - R)^2))``.

    Empty inputs:
        Zero-size images raise :class:`~mbench.errors.MbenchError`.

    Example:
        >>> import numpy as np
        >>> rmse(np.array([0.0, 0.0]), np.array([3.0, 4.0]))
        3.5355339059327378
    """
    return math.sqrt(mse(prediction, reference))


def psnr(prediction: np.ndarray, reference: np.ndarray, *, data_range: float | None) -> float:
    """Peak signal-to-noise ratio in dB, ``10 log10(data_range^2 / MSE)``; scikit-image's definition.

    Args:
        data_range: width of the intensity scale (e.g. 1.0 or 255.0); required.

    Empty inputs:
        Identical images (MSE 0): ``inf``. Zero-size images raise :class:`~mbench.errors.MbenchError`.

    Example:
        >>> import numpy as np
        >>> round(psnr(np.full(4, 0.5), np.full(4, 0.6), data_range=1.0), 9)
        20.0
    """
    rng = require_range(data_range, "psnr")
    err = mse(prediction, reference)
    if err == 0:
        return math.inf
    return float(10.0 * np.log10(rng * rng / err))


def ssim(prediction: np.ndarray, reference: np.ndarray, *, data_range: float | None, win_size: int = 7,
         gaussian_weights: bool = False, sigma: float = 1.5, k1: float = 0.01, k2: float = 0.03,
         use_sample_covariance: bool = True) -> float:
    """Mean structural similarity (Wang et al. 2004), scikit-image's ``structural_similarity`` definition.

    Local means, variances and covariance over a ``win_size``-wide uniform window in every axis (or a Gaussian of
    ``sigma`` truncated at 3.5 sigma, window 11, with ``gaussian_weights=True``; reflective borders); variances
    use the sample normalisation ``N / (N - 1)`` unless ``use_sample_covariance=False``;
    ``C1 = (k1 L)^2``, ``C2 = (k2 L)^2`` with ``L = data_range``; the SSIM map is averaged after cropping
    ``(win_size - 1) / 2`` pixels from every border. Works for 2D and 3D (any dimension); multichannel images:
    call per channel and average. The defaults equal scikit-image's defaults; Wang et al.'s published setting is
    ``gaussian_weights=True, use_sample_covariance=False``.

    Empty inputs:
        Images smaller than the window in any axis raise :class:`~mbench.errors.MbenchError`. Constant identical
        images give 1.0.

    Example:
        >>> import numpy as np
        >>> ref = np.add.outer(np.arange(16.0), np.arange(16.0)) / 30
        >>> ssim(ref, ref, data_range=1.0), round(ssim(ref, 1 - ref, data_range=1.0), 4)
        (1.0, -0.7917)
    """
    rng = require_range(data_range, "ssim")
    pred, ref = _float_pair(prediction, reference)
    if gaussian_weights:
        truncate = 3.5
        win_size = 2 * int(truncate * sigma + 0.5) + 1

        def smooth(x: np.ndarray) -> np.ndarray:
            return ndimage.gaussian_filter(x, sigma=sigma, truncate=truncate, mode="reflect")
    else:
        def smooth(x: np.ndarray) -> np.ndarray:
            return ndimage.uniform_filter(x, size=win_size, mode="reflect")
    if win_size % 2 == 0 or win_size < 3 or any(s < win_size for s in pred.shape):
        raise MbenchError("ssim window does not fit", expected=f"an odd win_size >= 3, at most {min(pred.shape)}",
                          found=f"win_size={win_size} for image shape {pred.shape}",
                          fix="pass a smaller odd win_size, or compute SSIM on larger images")
    n = win_size ** pred.ndim
    cov_norm = n / (n - 1) if use_sample_covariance else 1.0
    ux, uy = smooth(pred), smooth(ref)
    uxx, uyy, uxy = smooth(pred * pred), smooth(ref * ref), smooth(pred * ref)
    vx = cov_norm * (uxx - ux * ux)
    vy = cov_norm * (uyy - uy * uy)
    vxy = cov_norm * (uxy - ux * uy)
    c1, c2 = (k1 * rng) ** 2, (k2 * rng) ** 2
    s = ((2 * ux * uy + c1) * (2 * vxy + c2)) / ((ux * ux + uy * uy + c1) * (vx + vy + c2))
    pad = (win_size - 1) // 2
    return float(s[tuple(slice(pad, dim - pad) for dim in s.shape)].mean(dtype=np.float64))


_LPIPS_BACKBONES = {"alex": "AlexNet_Weights", "vgg": "VGG16_Weights", "squeeze": "SqueezeNet1_1_Weights"}


def lpips_backbone_path(net: str = "alex") -> Path:
    """Where torchvision looks for the LPIPS backbone's ImageNet weights (the torch hub cache), for ``net``.

    Example:
        >>> lpips_backbone_path("alex").name
        'alexnet-owt-7be5be79.pth'
    """
    if net not in _LPIPS_BACKBONES:
        raise MbenchError(f"unknown LPIPS backbone {net!r}", expected=f"one of {sorted(_LPIPS_BACKBONES)}",
                          found=repr(net))
    import torch
    import torchvision.models as tvm

    url = getattr(tvm, _LPIPS_BACKBONES[net]).IMAGENET1K_V1.url
    return Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(url)


_LPIPS_MODELS: dict[tuple[str, str, str, float], object] = {}


def lpips(prediction: np.ndarray, reference: np.ndarray, *, data_range: float | None, net: str = "alex",
          version: str = "0.1") -> float:
    """Learned perceptual image patch similarity (Zhang et al. 2018) through the ``lpips`` package (lower is better).

    Images are ``(H, W)`` grey or ``(H, W, 3)`` RGB arrays on ``[0, data_range]``; they are scaled to ``[-1, 1]``
    (grey replicated to three channels) and passed to ``lpips.LPIPS(net=net, version=version)``, whose linear
    layers ship with the package. The backbone's ImageNet weights are read from the torch hub cache
    (:func:`lpips_backbone_path`); nothing is downloaded: without the file the error says what to place where.

    Empty inputs:
        Identical images give 0.0. Images need at least 16 pixels per side for the backbone.

    Example:
        >>> import numpy as np
        >>> img = np.random.default_rng(0).random((32, 32))
        >>> lpips(img, img, data_range=1.0)  # needs the backbone weights in the torch cache  # doctest: +SKIP
        0.0
    """
    rng = require_range(data_range, "lpips")
    pred, ref = _float_pair(prediction, reference)
    if pred.ndim == 3 and pred.shape[-1] == 3:
        pass
    elif pred.ndim == 2:
        pred, ref = np.repeat(pred[..., None], 3, axis=-1), np.repeat(ref[..., None], 3, axis=-1)
    else:
        raise MbenchError("lpips needs 2D images", expected="(H, W) or (H, W, 3)", found=f"shape {pred.shape}",
                          fix="score one slice (or one RGB image) at a time")
    weights = lpips_backbone_path(net)
    if not weights.is_file():
        raise MbenchError(f"LPIPS backbone weights for net={net!r} are not in the torch cache",
                          expected=f"the torchvision ImageNet checkpoint at {weights}", found="no such file",
                          fix=f"copy {weights.name} (from a machine with internet: torchvision's "
                              f"{_LPIPS_BACKBONES[net]}.IMAGENET1K_V1) to {weights.parent}/, or set TORCH_HOME "
                              "to a directory whose hub/checkpoints/ holds it")
    import torch

    key = (net, version, str(weights), weights.stat().st_mtime)
    if key not in _LPIPS_MODELS:
        import lpips as lpips_pkg

        _LPIPS_MODELS[key] = lpips_pkg.LPIPS(net=net, version=version, verbose=False).eval()
    model = _LPIPS_MODELS[key]

    def to_tensor(x: np.ndarray) -> torch.Tensor:
        return torch.from_numpy((x / rng * 2.0 - 1.0).astype(np.float32)).permute(2, 0, 1)[None]

    with torch.no_grad():
        value = model(to_tensor(pred), to_tensor(ref))  # type: ignore[operator]
    return float(value.reshape(-1)[0])
