"""Interpolation upscalers (no training, no torch): the bicubic baseline of super-resolution papers, and nearest.

Example:
    >>> import numpy as np
    >>> up = InterpolationUpscaler(mode="bicubic", scale=4)
    >>> up.fit(None, None, score=None, seed=0, progress=None)["n_parameters"]
    0
    >>> up.predict(np.zeros((1, 8, 8), np.float32)).shape
    (32, 32)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mbench.data.degradation import resize
from mbench.errors import MbenchError

__all__ = ["InterpolationUpscaler"]


class InterpolationUpscaler:
    """Upsample a one-channel low-resolution image by ``scale`` with Pillow's ``mode`` filter (bicubic: Keys a=-0.5)."""

    def __init__(self, mode: str = "bicubic", scale: int = 4) -> None:
        if mode not in ("bicubic", "bilinear", "nearest"):
            raise MbenchError(f"unknown interpolation {mode!r}", expected="bicubic, bilinear or nearest", found=mode)
        self.mode, self.scale = mode, int(scale)

    def fit(self, train: Any, val: Any, *, score: Any, seed: int, progress: Any) -> dict:
        """Nothing to learn."""
        return {"n_parameters": 0, "note": f"{self.mode} interpolation x{self.scale}, no training"}

    def predict(self, inputs: np.ndarray) -> np.ndarray:
        """``(1, h, w)`` -> ``(h * scale, w * scale)``, clipped to [0, 1]."""
        x = np.asarray(inputs, dtype=np.float32)
        if x.ndim != 3 or x.shape[0] != 1:
            raise MbenchError("interpolation upscaling takes one 2D channel", expected="(1, h, w)", found=x.shape)
        out = resize(x[0], (x.shape[1] * self.scale, x.shape[2] * self.scale), self.mode)
        return np.clip(out, 0.0, 1.0)
