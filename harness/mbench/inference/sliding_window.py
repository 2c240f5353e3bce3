"""Sliding-window inference over 2D images or 3D volumes with a bounded memory footprint.

Only ``batch_size`` patches are on the device at a time; the blended output is accumulated on
the host in float32, so a volume of any size needs host memory for one input and one output
(plus one weight map), never the whole dataset. Window placement follows MONAI's
``sliding_window_inference`` (same positions, same edge handling, same padding), so results agree
with it (tested).

Example:
    >>> import numpy as np
    >>> vol = np.random.default_rng(0).random((1, 20, 30, 30), dtype=np.float32)
    >>> out = sliding_window_predict(vol, lambda x: 2 * x, patch_size=(8, 16, 16), out_channels=1)
    >>> out.shape, bool(np.allclose(out, 2 * vol, atol=1e-6))
    ((1, 20, 30, 30), True)
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence

import numpy as np

from mbench.errors import MbenchError

__all__ = ["window_starts", "gaussian_importance", "sliding_window_predict"]


def window_starts(size: int, patch: int, overlap: float) -> list[int]:
    """Start offsets of windows of length ``patch`` covering ``size`` (MONAI's scan rule).

    The step is ``int(patch * (1 - overlap))`` (at least 1); the last window is shifted back so it
    ends at the border.

    Example:
        >>> window_starts(10, 4, 0.5)
        [0, 2, 4, 6]
        >>> window_starts(4, 4, 0.5)
        [0]
    """
    if patch >= size:
        return [0]
    step = max(int(patch * (1 - overlap)), 1)
    count = math.ceil((size - patch) / step) + 1
    return sorted({min(i * step, size - patch) for i in range(count)})


def gaussian_importance(patch_size: Sequence[int], sigma_scale: float = 0.125, floor: float = 1e-3) -> np.ndarray:
    """A separable Gaussian weight map peaking at the patch centre (sigma = ``sigma_scale`` * size), max 1.

    Weights below ``floor`` are raised to it (as MONAI does), so patch corners never get a weight of ~0.

    Example:
        >>> w = gaussian_importance((5, 5))
        >>> float(w.max()), bool(w[2, 2] == w.max())
        (1.0, True)
    """
    weights = np.ones(tuple(patch_size), np.float64)
    for axis, n in enumerate(patch_size):
        sigma = max(sigma_scale * n, 1e-3)
        x = np.arange(n) - (n - 1) / 2
        shape = [1] * len(patch_size)
        shape[axis] = n
        weights = weights * np.exp(-0.5 * (x / sigma) ** 2).reshape(shape)
    weights /= weights.max()
    return np.maximum(weights, floor).astype(np.float32)


def sliding_window_predict(volume: np.ndarray, predictor: Callable, *, patch_size: Sequence[int], out_channels: int,
                           overlap: float = 0.5, batch_size: int = 4, device: str = "cpu", blend: str = "gaussian",
                           autocast: str | None = None) -> np.ndarray:
    """Apply ``predictor`` to overlapping patches of ``volume`` and blend the outputs.

    Args:
        volume: ``(C, *spatial)`` float array, 2 or 3 spatial axes.
        predictor: maps a torch tensor ``(B, C, *patch_size)`` on ``device`` to ``(B, out_channels, *patch_size)``
            (logits or probabilities; they are averaged as given).
        patch_size: window size per spatial axis; a volume smaller than it is zero-padded (centred) and the
            output cropped back.
        out_channels: channels of the predictor's output.
        overlap: fraction of a window shared with its neighbour along each axis, in [0, 1).
        batch_size: patches per forward call (the device holds only these).
        device: torch device of the forward passes; blending happens on the host.
        blend: ``gaussian`` (centre-weighted, as nnU-Net / MONAI) or ``constant`` (plain mean).
        autocast: ``None``, ``"bf16"`` or ``"fp16"``: run the predictor under ``torch.autocast``.

    Returns:
        ``(out_channels, *spatial)`` float32 array.
    """
    import torch

    volume = np.asarray(volume, dtype=np.float32)
    spatial = volume.shape[1:]
    if len(patch_size) != len(spatial) or volume.ndim not in (3, 4):
        raise MbenchError("sliding-window inference got mismatched shapes",
                          expected="volume (C, *spatial) with 2 or 3 spatial axes and one patch size per axis",
                          found=f"volume {volume.shape}, patch_size {tuple(patch_size)}",
                          fix="pass a channel-first volume and patch_size with len(patch_size) == volume.ndim - 1")
    if not 0 <= overlap < 1:
        raise MbenchError("sliding-window overlap out of range", expected="0 <= overlap < 1", found=overlap,
                          fix="use e.g. overlap=0.5")
    if blend not in ("gaussian", "constant"):
        raise MbenchError(f"unknown blend mode {blend!r}", expected="gaussian or constant", found=blend,
                          fix="use blend='gaussian'")
    pads = [max(p - s, 0) for p, s in zip(patch_size, spatial)]
    padded = np.pad(volume, [(0, 0)] + [(p // 2, p - p // 2) for p in pads])
    full = padded.shape[1:]
    weight = (gaussian_importance(patch_size) if blend == "gaussian"
              else np.ones(tuple(patch_size), np.float32))
    out = np.zeros((out_channels, *full), np.float32)
    norm = np.zeros(full, np.float32)
    corners = list(itertools.product(*[window_starts(s, p, overlap) for s, p in zip(full, patch_size)]))
    dtype = {None: None, "bf16": torch.bfloat16, "fp16": torch.float16}[autocast]
    dev = torch.device(device)
    with torch.inference_mode():
        for i in range(0, len(corners), batch_size):
            chunk = corners[i:i + batch_size]
            boxes = [tuple(slice(c, c + p) for c, p in zip(corner, patch_size)) for corner in chunk]
            batch = torch.from_numpy(np.stack([padded[(slice(None), *b)] for b in boxes])).to(dev)
            with torch.autocast(dev.type, dtype=dtype, enabled=dtype is not None):
                pred = predictor(batch)
            pred = pred.float().cpu().numpy()
            if pred.shape != (len(boxes), out_channels, *patch_size):
                raise MbenchError("the predictor returned an unexpected shape",
                                  expected=(len(boxes), out_channels, *patch_size), found=pred.shape,
                                  fix="return (B, out_channels, *patch) for a (B, C, *patch) input")
            for b, p in zip(boxes, pred):
                out[(slice(None), *b)] += p * weight
                norm[b] += weight
    out /= norm
    crop = tuple(slice(p // 2, p // 2 + s) for p, s in zip(pads, spatial))
    return out[(slice(None), *crop)]
