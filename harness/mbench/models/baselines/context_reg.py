"""Contextual regularisation of a feature map (Wen, Wang et al., paper 11): a training-only auxiliary head.

A feature map x (B, C, H, W) is masked spatially, x~ = x * k, then N pre-norm transformer blocks (m heads) read the
H*W tokens of x~ and reconstruct x; the loss is the mean squared error over C x H*W (Eq. 9).

* ``scr`` (stochastic): k is a random binary mask per position with zero ratio ``q`` (0.5 in the paper).
* ``acr`` (adaptive): k = sigmoid(W2 (W1 GAP(x))) with W1: C -> C/r, W2: C/r -> H*W (r = 16), so the map size is
  fixed (the paper's fixed 512 x 512 patches). The paper's formula has no non-linearity between W1 and W2; so here.

Harness choices (the paper is silent): the target x is detached (the head cannot shrink it to lower the loss), the
FFN width is 4 C, and the regularised level is chosen by the detector (the coarsest FPN map by default).
The module is called only while training; the detector's inference path never touches it.

Example:
    >>> import torch
    >>> reg = ContextRegulariser(32, mode="acr", tokens=16, heads=8)
    >>> float(reg(torch.randn(2, 32, 4, 4)).detach()) > 0
    True
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["ContextRegulariser"]


class ContextRegulariser(nn.Module):
    """Mask (SCR or ACR), reconstruct with transformer blocks, return the MSE reconstruction loss."""

    def __init__(self, channels: int, *, mode: str = "acr", q: float = 0.5, reduction: int = 16, blocks: int = 2,
                 heads: int = 8, tokens: int | None = None) -> None:
        super().__init__()
        if mode not in ("scr", "acr"):
            raise ValueError(f"context regularisation mode must be 'scr' or 'acr', got {mode!r}")
        if mode == "acr" and not tokens:
            raise ValueError("acr needs the number of spatial positions (tokens = H * W of the regularised map)")
        self.mode, self.q, self.tokens = mode, q, tokens
        if mode == "acr":
            self.w1 = nn.Linear(channels, max(channels // reduction, 1))
            self.w2 = nn.Linear(max(channels // reduction, 1), int(tokens))
        layer = nn.TransformerEncoderLayer(channels, heads, dim_feedforward=4 * channels, dropout=0.0,
                                           batch_first=True, norm_first=True)
        self.blocks = nn.TransformerEncoder(layer, blocks, enable_nested_tensor=False)

    def mask(self, x: torch.Tensor) -> torch.Tensor:
        """The spatial weights k (B, 1, H, W)."""
        b, _, h, w = x.shape
        if self.mode == "scr":
            return (torch.rand(b, 1, h, w, device=x.device) >= self.q).to(x.dtype)
        if h * w != self.tokens:
            raise ValueError(f"acr was built for {self.tokens} positions, the feature map has {h} x {w}: "
                             "tiles must have the size the detector was built for")
        return torch.sigmoid(self.w2(self.w1(x.mean(dim=(2, 3))))).view(b, 1, h, w)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        tokens = (x * self.mask(x)).flatten(2).transpose(1, 2)  # (B, P, C)
        rebuilt = self.blocks(tokens)
        return nn.functional.mse_loss(rebuilt, x.detach().flatten(2).transpose(1, 2))
