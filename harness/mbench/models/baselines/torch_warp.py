"""Warping with ``torch.nn.functional.grid_sample`` in voxel units: the differentiable twin of
:func:`mbench.metrics.functional.warp` (same convention: ``moving(x + u(x))``, border values outside).

Example:
    >>> import torch
    >>> labels = torch.tensor([[0.0, 1.0, 2.0, 3.0]])[None, None]      # a (1, 4) image as (B, C, H, W)
    >>> u = torch.stack([torch.zeros(1, 4), torch.ones(1, 4)])[None]  # sample one voxel to the right
    >>> warp_torch(labels, u, mode="nearest").flatten().tolist()
    [1.0, 2.0, 3.0, 3.0]
"""

from __future__ import annotations

__all__ = ["identity_grid", "warp_torch"]


def identity_grid(shape, device=None):
    """Voxel coordinates (ndim, *shape) as a float tensor (``numpy.indices`` in torch)."""
    import torch

    axes = [torch.arange(s, dtype=torch.float32, device=device) for s in shape]
    return torch.stack(torch.meshgrid(*axes, indexing="ij"))


def warp_torch(image, displacement, *, mode: str = "bilinear"):
    """Sample ``image`` (B, C, *spatial) at ``x + u(x)``; ``displacement`` (B, ndim, *spatial) in voxels.

    ``mode="bilinear"`` (linear / trilinear) for images and encodings, ``"nearest"`` for label maps;
    ``align_corners=True`` and border padding, so it equals ``scipy.ndimage.map_coordinates(order=1,
    mode="nearest")`` on the voxel grid.
    """
    import torch
    import torch.nn.functional as F

    spatial = image.shape[2:]
    ndim = len(spatial)
    coords = identity_grid(spatial, image.device)[None] + displacement
    scale = torch.tensor([2.0 / max(s - 1, 1) for s in spatial], device=image.device).view(1, ndim, *[1] * ndim)
    norm = coords * scale - 1.0
    grid = norm.permute(0, *range(2, ndim + 2), 1).flip(-1)  # grid_sample wants (x, y[, z]) = last axis first
    return F.grid_sample(image, grid.to(image.dtype), mode=mode, padding_mode="border", align_corners=True)
