"""Shared torch helpers for the baselines: device choice, seeding, batching, resizing, normalising."""

from __future__ import annotations

import base64
import io

import numpy as np
import torch
import torch.nn.functional as nnf

__all__ = ["state_to_text", "state_from_text", "pick_device", "seed_torch", "to_tensor", "resize", "replicate_channels", "IMAGENET_MEAN", "IMAGENET_STD",
           "make_optimizer", "batches"]

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def pick_device(device: str = "auto") -> torch.device:
    """``auto`` -> CUDA when available, else CPU."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def seed_torch(seed: int) -> torch.Generator:
    """Seed torch's global RNG (weight init) and return a generator for shuffling."""
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def to_tensor(images: np.ndarray, device: torch.device) -> torch.Tensor:
    """(N, H, W) or (N, C, H, W) array -> float tensor (N, C, H, W) on ``device``."""
    t = torch.as_tensor(np.ascontiguousarray(images), dtype=torch.float32, device=device)
    return t.unsqueeze(1) if t.ndim == 3 else t


def resize(x: torch.Tensor, size: int | tuple[int, int] | None, mode: str = "bilinear") -> torch.Tensor:
    """Resize (N, C, H, W) to ``size`` (an int means square); ``None`` keeps the size."""
    if size is None:
        return x
    size = (size, size) if isinstance(size, int) else tuple(size)
    if tuple(x.shape[-2:]) == size:
        return x
    kwargs = {"align_corners": False} if mode in ("bilinear", "bicubic") else {}
    return nnf.interpolate(x, size=size, mode=mode, **kwargs)


def replicate_channels(x: torch.Tensor, channels: int) -> torch.Tensor:
    """Repeat a single-channel batch to ``channels`` channels."""
    return x if x.shape[1] == channels else x.repeat(1, channels, 1, 1)


def make_optimizer(name: str, params, lr: float) -> torch.optim.Optimizer:
    """``adam`` | ``adamw`` | ``rmsprop`` | ``sgd`` | ``adagrad`` | ``amsgrad`` (Adam, AMSGrad variant) |
    ``sgd_momentum`` (SGD, momentum 0.9, weight decay 5e-4: TSN's setting) with the given learning rate."""
    import functools

    table = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW, "rmsprop": torch.optim.RMSprop,
             "sgd": torch.optim.SGD, "adagrad": torch.optim.Adagrad,
             "amsgrad": functools.partial(torch.optim.Adam, amsgrad=True),
             "sgd_momentum": functools.partial(torch.optim.SGD, momentum=0.9, weight_decay=5e-4)}
    if name not in table:
        from mbench.errors import MbenchError

        raise MbenchError(f"unknown optimizer {name!r}", expected=", ".join(table), found=name)
    return table[name](params, lr=lr)


def batches(n: int, batch_size: int, generator: torch.Generator | None = None):
    """Index batches over ``n`` items, shuffled when a generator is given."""
    order = torch.randperm(n, generator=generator) if generator is not None else torch.arange(n)
    for start in range(0, n, batch_size):
        yield order[start:start + batch_size]


def state_to_text(state: dict) -> str:
    """A state dict as base64 text, so a job's JSON result can carry trained weights to dependent jobs."""
    buf = io.BytesIO()
    torch.save(state, buf)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def state_from_text(text: str) -> dict:
    """Inverse of :func:`state_to_text` (tensors only: ``weights_only=True``)."""
    return torch.load(io.BytesIO(base64.b64decode(text)), weights_only=True)
