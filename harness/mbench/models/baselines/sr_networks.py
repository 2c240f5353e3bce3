"""Super-resolution networks: SRResNet / ESRNet-style generator, BliMSR generator (RMHAB), SN ResNet discriminator.

* :class:`SRResNet` (Ledig et al. 2017): 9x9 head, residual blocks (batch norm optional: ESRGAN removes it),
  long skip, pixel-shuffle x2 upsampling stages, 9x9 tail.
* :class:`BliMSRGenerator` (Dey et al., paper 5): MedSRGAN's backbone with its attention blocks replaced by
  Residual Multi-Head Attention Blocks (:class:`RMHAB`): a conv body whose features are gated by the sigmoid of
  the sum of 1x1, 3x3 and 5x5 conv/deconv attention heads (as MMHCA), with a residual connection; a long
  residual over the body; pixel-shuffle x2 upsampling.
* :class:`SNResNetDiscriminator`: ResNet-18-like (four stages of two basic blocks, no batch norm) with spectral
  normalisation (``torch.nn.utils.spectral_norm``) on every conv and the linear head; one logit per image.

Example:
    >>> import torch
    >>> g = BliMSRGenerator(channels=8, n_blocks=1, scale=4)
    >>> g(torch.zeros(2, 1, 8, 8)).shape
    torch.Size([2, 1, 32, 32])
    >>> SNResNetDiscriminator(channels=8)(torch.zeros(2, 1, 32, 32)).shape
    torch.Size([2, 1])
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn.utils import spectral_norm

__all__ = ["RMHAB", "BliMSRGenerator", "SNResNetDiscriminator", "SRResNet", "upsampler"]


def upsampler(channels: int, scale: int) -> nn.Sequential:
    """log2(scale) stages of conv (x4 channels) + PixelShuffle(2) + PReLU."""
    if scale < 1 or scale & (scale - 1):
        raise ValueError(f"scale must be a power of two, got {scale}")
    layers: list[nn.Module] = []
    for _ in range(int(math.log2(scale))):
        layers += [nn.Conv2d(channels, 4 * channels, 3, padding=1), nn.PixelShuffle(2), nn.PReLU(channels)]
    return nn.Sequential(*layers)


class _ResBlock(nn.Module):
    def __init__(self, channels: int, batch_norm: bool) -> None:
        super().__init__()
        norm = (lambda: nn.BatchNorm2d(channels)) if batch_norm else nn.Identity
        self.body = nn.Sequential(nn.Conv2d(channels, channels, 3, padding=1), norm(), nn.PReLU(channels),
                                  nn.Conv2d(channels, channels, 3, padding=1), norm())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class _LongResidualSR(nn.Module):
    """``tail(up(h + body(h)))`` with ``h = head(x)``: the generator shape SRResNet and BliMSR share."""

    head: nn.Module
    body: nn.Module
    up: nn.Module
    tail: nn.Module

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.head(x)
        return self.tail(self.up(h + self.body(h)))


class SRResNet(_LongResidualSR):
    """SRResNet generator (one input and output channel)."""

    def __init__(self, channels: int = 64, n_blocks: int = 16, scale: int = 4, batch_norm: bool = False) -> None:
        super().__init__()
        self.head = nn.Sequential(nn.Conv2d(1, channels, 9, padding=4), nn.PReLU(channels))
        self.body = nn.Sequential(*[_ResBlock(channels, batch_norm) for _ in range(n_blocks)],
                                  nn.Conv2d(channels, channels, 3, padding=1),
                                  nn.BatchNorm2d(channels) if batch_norm else nn.Identity())
        self.up = upsampler(channels, scale)
        self.tail = nn.Conv2d(channels, 1, 9, padding=4)


class RMHAB(nn.Module):
    """Residual multi-head attention block: ``x + f(x) * sigmoid(sum_k head_k(f(x)))``, heads of kernel 1, 3, 5."""

    def __init__(self, channels: int, reduction: int = 4, kernels: tuple[int, ...] = (1, 3, 5)) -> None:
        super().__init__()
        mid = max(channels // reduction, 1)
        self.body = nn.Sequential(nn.Conv2d(channels, channels, 3, padding=1), nn.ReLU(inplace=True),
                                  nn.Conv2d(channels, channels, 3, padding=1))
        self.heads = nn.ModuleList(nn.Sequential(nn.Conv2d(channels, mid, k, padding=k // 2), nn.ReLU(inplace=True),
                                                 nn.ConvTranspose2d(mid, channels, k, padding=k // 2))
                                   for k in kernels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f = self.body(x)
        attention = torch.sigmoid(torch.stack([h(f) for h in self.heads]).sum(0))
        return x + f * attention


class BliMSRGenerator(_LongResidualSR):
    """BliMSR generator: head conv, ``n_blocks`` RMHABs with a long residual, pixel-shuffle upsampling, tail conv."""

    def __init__(self, channels: int = 64, n_blocks: int = 16, scale: int = 4, reduction: int = 4) -> None:
        super().__init__()
        self.head = nn.Conv2d(1, channels, 3, padding=1)
        self.body = nn.Sequential(*[RMHAB(channels, reduction) for _ in range(n_blocks)],
                                  nn.Conv2d(channels, channels, 3, padding=1))
        self.up = upsampler(channels, scale)
        self.tail = nn.Conv2d(channels, 1, 3, padding=1)


class _SNBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.conv1 = spectral_norm(nn.Conv2d(cin, cout, 3, stride, 1))
        self.conv2 = spectral_norm(nn.Conv2d(cout, cout, 3, 1, 1))
        self.skip = spectral_norm(nn.Conv2d(cin, cout, 1, stride)) if (stride != 1 or cin != cout) else nn.Identity()
        self.act = nn.LeakyReLU(0.2, inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.skip(x) + self.conv2(self.act(self.conv1(x))))


class SNResNetDiscriminator(nn.Module):
    """ResNet-18-like discriminator with spectral normalisation; widths c, 2c, 4c, 8c; one logit per image."""

    def __init__(self, channels: int = 64, blocks_per_stage: int = 2) -> None:
        super().__init__()
        self.stem = nn.Sequential(spectral_norm(nn.Conv2d(1, channels, 3, 1, 1)), nn.LeakyReLU(0.2, inplace=True))
        stages, cin = [], channels
        for i, cout in enumerate([channels, 2 * channels, 4 * channels, 8 * channels]):
            for b in range(blocks_per_stage):
                stages.append(_SNBlock(cin, cout, 2 if (b == 0 and i > 0) else 1))
                cin = cout
        self.stages = nn.Sequential(*stages)
        self.head = spectral_norm(nn.Linear(cin, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.stages(self.stem(x)).mean(dim=(2, 3)))
