"""Attention U-Net (Oktay et al., MIDL 2018) in 2D: a U-Net whose skip connections pass through attention gates.

Gate (additive attention, Oktay et al. Fig. 2): the skip features x go through a 2x2 stride-2 conv (W_x) and the
coarser gating signal g through a 1x1 conv (W_g); their sum -> ReLU -> 1x1 conv to one channel -> sigmoid gives
attention coefficients at half the skip resolution, upsampled bilinearly (the 2D form of Oktay's trilinear) and
multiplied into x. Encoder / decoder blocks are two 3x3 conv + batch norm + ReLU per level, max-pool down,
transposed-conv up, as :class:`~mbench.models.baselines.unet_classic.ClassicUNet`. Inputs whose size is not a
multiple of ``2 ** (levels - 1)`` are padded and the output cropped back.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as nnf
from torch import nn

from mbench.models.baselines.unet_classic import ClassicUNet, ClassicUNetSegmenter

__all__ = ["AttentionGate", "AttentionUNet", "AttentionUNetSegmenter", "soft_dice_loss"]


class AttentionGate(nn.Module):
    """Additive attention gate: ``x * sigmoid(psi(relu(W_x x + W_g g)))`` with the map upsampled to x's size."""

    def __init__(self, x_channels: int, g_channels: int, inter_channels: int) -> None:
        super().__init__()
        self.theta = nn.Conv2d(x_channels, inter_channels, 2, stride=2, bias=False)
        self.phi = nn.Conv2d(g_channels, inter_channels, 1)
        self.psi = nn.Conv2d(inter_channels, 1, 1)

    def coefficients(self, x: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
        """Attention coefficients in [0, 1] at x's resolution, shape (N, 1, H, W)."""
        theta = self.theta(x)
        phi = nnf.interpolate(self.phi(g), size=theta.shape[-2:], mode="bilinear", align_corners=False)
        alpha = torch.sigmoid(self.psi(nnf.relu(theta + phi)))
        return nnf.interpolate(alpha, size=x.shape[-2:], mode="bilinear", align_corners=False)

    def forward(self, x: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
        return x * self.coefficients(x, g)


class AttentionUNet(ClassicUNet):
    """2D Attention U-Net with ``len(widths) - 1`` pooling steps: :class:`ClassicUNet` with gated skips.

    Example:
        >>> net = AttentionUNet(1, 2, [4, 8, 16])
        >>> tuple(net(torch.zeros(1, 1, 10, 12)).shape)
        (1, 2, 10, 12)
    """

    def _build_skip_modules(self, widths: list[int]) -> None:
        self.gates = nn.ModuleList([AttentionGate(a, b, max(a // 2, 1)) for a, b in zip(widths[:-1], widths[1:])])

    def _skip(self, level: int, skip: torch.Tensor, coarser: torch.Tensor) -> torch.Tensor:
        return self.gates[level](skip, coarser)


def soft_dice_loss(logits: torch.Tensor, target: torch.Tensor, eps: float = 1.0) -> torch.Tensor:
    """1 - soft Dice of the foreground classes (softmax probabilities, batch-level), the paper's "Dice loss"."""
    target = target.long()
    probs = logits.softmax(dim=1)[:, 1:]
    onehot = nnf.one_hot(target, logits.shape[1]).permute(0, 3, 1, 2)[:, 1:].float()
    inter, denom = (probs * onehot).sum(dim=(0, 2, 3)), (probs + onehot).sum(dim=(0, 2, 3))
    return 1 - ((2 * inter + eps) / (denom + eps)).mean()


class AttentionUNetSegmenter(ClassicUNetSegmenter):
    """A learner around :class:`AttentionUNet`; ``loss`` is ``dice`` (soft Dice), ``ce``, ``ce_dice`` or
    ``ce_dice_mean``. Other arguments as :class:`~mbench.models.baselines.unet_classic.ClassicUNetSegmenter`."""

    def __init__(self, widths: list[int] | tuple[int, ...] = (32, 64, 128, 256, 512), in_channels: int = 1,
                 classes: int = 2, loss: str = "dice", optimizer: str = "adam", lr: float = 1e-4, epochs: int = 60,
                 batch_size: int = 16, image_size: int | None = None, device: str = "auto") -> None:
        super().__init__(widths, in_channels, classes, loss, optimizer, lr, epochs, batch_size, image_size, device)

    def build(self, targets: np.ndarray | None = None) -> torch.nn.Module:
        return AttentionUNet(self.in_channels, self.classes, self.widths).to(self.device)

    def _loss(self, logits: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
        if self.loss != "dice":
            return super()._loss(logits, masks)
        from mbench.models.baselines.torch_utils import resize

        target = resize(masks.unsqueeze(1).float(), self.image_size, "nearest")[:, 0]
        return soft_dice_loss(logits, target)
