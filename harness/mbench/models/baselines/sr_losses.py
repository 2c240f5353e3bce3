"""BliMSR's generator losses (paper 5): content (L1), VGG19 perceptual, gradient, DSSIM and adversarial terms.

``L_G = w_perc L_perc + w_adv L_adv + w_cont L_cont + w_grad L_grad + w_dssim L_dssim`` with the paper's weights
1, 0.01, 0.1, 1, 1. ``L_perc`` is the L1 distance of VGG19 pre-activation features (the last conv of each of the
first five blocks, torchvision indices 2, 7, 16, 25, 34), averaged over the five; grey images are replicated to
three channels and ImageNet-normalised. The VGG19 ImageNet weights are read from the torch hub cache only
(:func:`vgg19_weights_path`); without them the error says which file to place where. ``L_dssim = (1 - SSIM) / 2``
with an 11 x 11 Gaussian window (sigma 1.5) on [0, 1] images; ``L_grad`` the L1 distance of horizontal and
vertical finite differences; ``L_adv`` the standard GAN log loss (BCE on logits).

Example:
    >>> import torch
    >>> x = torch.rand(2, 1, 32, 32)
    >>> float(dssim_loss(x, x)) < 1e-6, float(gradient_loss(x, x))
    (True, 0.0)
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
import torch.nn.functional as nnf
from torch import nn

from mbench.errors import MbenchError

__all__ = [
    "VGG_LAYERS",
    "VGGPerceptual",
    "adversarial_loss",
    "dssim_loss",
    "gradient_loss",
    "ssim_torch",
    "vgg19_weights_path",
]

VGG_LAYERS = (2, 7, 16, 25, 34)  # pre-activation outputs of the last conv of VGG19 blocks 1-5
_MEAN = (0.485, 0.456, 0.406)
_STD = (0.229, 0.224, 0.225)


def vgg19_weights_path() -> Path:
    """Where torchvision keeps VGG19's ImageNet weights (the torch hub cache)."""
    import torchvision.models as tvm

    url = tvm.VGG19_Weights.IMAGENET1K_V1.url
    return Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(url)


class VGGPerceptual(nn.Module):
    """Mean L1 distance of VGG19 pre-activation features at :data:`VGG_LAYERS` (frozen network).

    Args:
        features: a ``torchvision.models.vgg19().features`` module (tests pass one); None loads the ImageNet
            weights from the torch hub cache.
    """

    def __init__(self, features: nn.Module | None = None) -> None:
        super().__init__()
        if features is None:
            import torchvision

            path = vgg19_weights_path()
            if not path.is_file():
                raise MbenchError("VGG19 ImageNet weights (BliMSR's perceptual loss) are not in the torch cache",
                                  expected=f"the torchvision checkpoint at {path}", found="no such file",
                                  fix=f"copy {path.name} (torchvision VGG19_Weights.IMAGENET1K_V1, from a machine "
                                      f"with internet) to {path.parent}/ or set TORCH_HOME; or set "
                                      "model.perceptual_weight=0 (an unofficial run)")
            vgg = torchvision.models.vgg19()
            vgg.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
            features = vgg.features
        self.features = features[:VGG_LAYERS[-1] + 1].eval()
        for p in self.features.parameters():
            p.requires_grad_(False)
        self.register_buffer("mean", torch.tensor(_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(_STD).view(1, 3, 1, 1))

    def _feats(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = (x.expand(-1, 3, -1, -1) - self.mean) / self.std
        out = []
        for i, layer in enumerate(self.features):
            x = layer(x)
            if i in VGG_LAYERS:
                out.append(x)
        return out

    def forward(self, prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        pairs = zip(self._feats(prediction), self._feats(target))
        return torch.stack([nnf.l1_loss(p, t) for p, t in pairs]).mean()


def gradient_loss(prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """L1 between horizontal and between vertical finite differences."""
    def dx(t: torch.Tensor) -> torch.Tensor:
        return t[..., :, 1:] - t[..., :, :-1]

    def dy(t: torch.Tensor) -> torch.Tensor:
        return t[..., 1:, :] - t[..., :-1, :]

    return nnf.l1_loss(dx(prediction), dx(target)) + nnf.l1_loss(dy(prediction), dy(target))


def _gaussian_window(size: int = 11, sigma: float = 1.5) -> torch.Tensor:
    g = torch.exp(-0.5 * ((torch.arange(size, dtype=torch.float32) - (size - 1) / 2) / sigma) ** 2)
    g = g / g.sum()
    return (g[:, None] * g[None, :]).view(1, 1, size, size)


def ssim_torch(prediction: torch.Tensor, target: torch.Tensor, data_range: float = 1.0) -> torch.Tensor:
    """Mean SSIM of (N, 1, H, W) batches (Gaussian window 11 / 1.5, valid region, K1 0.01, K2 0.03)."""
    w = _gaussian_window().to(prediction)

    def f(t: torch.Tensor) -> torch.Tensor:
        return nnf.conv2d(t, w)

    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    mx, my = f(prediction), f(target)
    vx = f(prediction * prediction) - mx * mx
    vy = f(target * target) - my * my
    cxy = f(prediction * target) - mx * my
    s = ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2))
    return s.mean()


def dssim_loss(prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """``(1 - SSIM) / 2``."""
    return (1 - ssim_torch(prediction, target)) / 2


def adversarial_loss(logits: torch.Tensor, real: bool) -> torch.Tensor:
    """Standard GAN log loss: BCE of the logits against all-real (1) or all-fake (0) labels."""
    return nnf.binary_cross_entropy_with_logits(logits, torch.full_like(logits, 1.0 if real else 0.0))
