"""The original U-Net (Ronneberger et al. 2015) with configurable widths, as compared in Sourget et al. 2023.

Four 2× max-pool steps, two 3×3 conv + batch norm + ReLU per level, transposed-conv upsampling and
skip concatenation. Widths [64, 128, 256, 512, 1024] give the 31 M-parameter U-Net, [22, 44, 88, 176,
352] the 3.7 M-parameter "U-Net Lite". Inputs whose size is not a multiple of 16 are padded and the
output cropped back.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as nnf
from torch import nn

from mbench.models.baselines.torch_utils import replicate_channels, resize
from mbench.models.baselines.training import SupervisedLearner
from mbench.models.baselines.unet import segmentation_loss

__all__ = ["ClassicUNet", "ClassicUNetSegmenter"]


def _block(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
                         nn.Conv2d(cout, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class ClassicUNet(nn.Module):
    """Ronneberger U-Net with ``len(widths) - 1`` pooling steps.

    Example:
        >>> net = ClassicUNet(1, 2, [4, 8, 16])
        >>> tuple(net(torch.zeros(1, 1, 10, 12)).shape)
        (1, 2, 10, 12)
    """

    def __init__(self, in_channels: int, classes: int, widths: list[int] | tuple[int, ...]) -> None:
        super().__init__()
        widths = list(widths)
        self.down = nn.ModuleList([_block(in_channels, widths[0])]
                                  + [_block(a, b) for a, b in zip(widths[:-1], widths[1:])])
        self._build_skip_modules(widths)
        self.up = nn.ModuleList([nn.ConvTranspose2d(b, a, 2, stride=2) for a, b in zip(widths[:-1], widths[1:])])
        self.dec = nn.ModuleList([_block(2 * a, a) for a in widths[:-1]])
        self.head = nn.Conv2d(widths[0], classes, 1)
        self.factor = 2 ** (len(widths) - 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        ph, pw = (-h) % self.factor, (-w) % self.factor
        x = nnf.pad(x, (0, pw, 0, ph))
        skips = []
        for i, block in enumerate(self.down):
            x = block(x if i == 0 else nnf.max_pool2d(x, 2))
            skips.append(x)
        x = skips.pop()
        for level in reversed(range(len(self.up))):
            x = self.dec[level](torch.cat([self._skip(level, skips.pop(), x), self.up[level](x)], dim=1))
        return self.head(x)[..., :h, :w]

    def _build_skip_modules(self, widths: list[int]) -> None:
        """Modules acting on the skip connections (none here; built before the decoder, see AttentionUNet)."""

    def _skip(self, level: int, skip: torch.Tensor, coarser: torch.Tensor) -> torch.Tensor:
        """The skip features of ``level`` as the decoder receives them (``coarser``: the gating signal)."""
        return skip


class ClassicUNetSegmenter(SupervisedLearner):
    """A learner around :class:`ClassicUNet`, retrained from scratch at every ``fit``.

    Args:
        widths: feature channels per level (5 levels = 4 down / 4 up).
        in_channels: network input channels (a grey image is replicated).
        classes: output classes including background.
        loss: ``ce`` or ``ce_dice``.
        optimizer, lr, epochs, batch_size, image_size, device: as for the other learners.
    """

    def __init__(self, widths: list[int] | tuple[int, ...] = (64, 128, 256, 512, 1024), in_channels: int = 1,
                 classes: int = 2, loss: str = "ce", optimizer: str = "adam", lr: float = 1e-3, epochs: int = 50,
                 batch_size: int = 5, image_size: int | None = None, device: str = "auto") -> None:
        super().__init__(optimizer, lr, epochs, batch_size, image_size, device)
        self.widths, self.in_channels, self.classes, self.loss = list(widths), in_channels, classes, loss

    def build(self, targets: np.ndarray | None = None) -> torch.nn.Module:
        return ClassicUNet(self.in_channels, self.classes, self.widths).to(self.device)

    def _forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(replicate_channels(resize(x, self.image_size), self.in_channels))

    def _loss(self, logits: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
        target = resize(masks.unsqueeze(1).float(), self.image_size, "nearest")[:, 0]
        return segmentation_loss(self.loss, logits, target)

    def _to_prediction(self, logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return resize(logits, tuple(x.shape[-2:])).argmax(dim=1).to(torch.uint8)
