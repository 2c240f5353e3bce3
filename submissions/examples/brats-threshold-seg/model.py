"""Whole-tumour segmentation by a learned intensity threshold and connected-component cleanup.

A deliberately small, CPU-cheap trainable model for ``brats18-wtseg``: ``fit`` searches the threshold on
the normalised T1ce intensities (candidates: quantiles of the training intensities, from
``weights/prior.json``) and the minimum connected-component size that maximise the mean Dice over the
training slices, and reports the validation Dice of the chosen pair. ``predict`` thresholds, drops
components smaller than the learned size and fills holes.

It runs inside the mbench sandbox: only numpy and scipy, no network, no files outside this package.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from scipy import ndimage


def mean_dice(pred: np.ndarray, ref: np.ndarray) -> float:
    """Mean Dice over slices (both empty: 1), as the task scores."""
    inter = np.logical_and(pred, ref).sum(axis=(1, 2))
    total = pred.sum(axis=(1, 2)) + ref.sum(axis=(1, 2))
    return float(np.mean(np.where(total == 0, 1.0, 2.0 * inter / np.maximum(total, 1))))


def clean(masks: np.ndarray, min_pixels: int) -> np.ndarray:
    """Drop connected components smaller than ``min_pixels`` and fill holes, slice by slice."""
    out = np.zeros_like(masks, dtype=bool)
    for i, mask in enumerate(masks):
        if min_pixels > 0 and mask.any():
            labels, n = ndimage.label(mask)
            sizes = ndimage.sum_labels(mask, labels, index=np.arange(1, n + 1))
            mask = np.isin(labels, 1 + np.flatnonzero(sizes >= min_pixels))
        out[i] = ndimage.binary_fill_holes(mask)
    return out


class ThresholdSegmenter:
    """Learns (threshold, minimum component size) on the training slices; see the module docstring."""

    def __init__(self, prior: str = "weights/prior.json", max_train_slices: int = 400) -> None:
        spec = json.loads((Path(__file__).parent / prior).read_text())
        lo, hi = spec["quantile_range"]
        self.quantiles = np.linspace(lo, hi, int(spec["candidates"]))
        self.min_sizes = [int(s) for s in spec["min_component_pixels"]]
        self.max_train_slices = max_train_slices
        self.threshold: float | None = None
        self.min_pixels = 0

    def fit(self, images, targets, val_images, val_targets, *, score=None, seed=0, progress=None) -> dict:
        rng = np.random.default_rng(seed)
        keep = np.sort(rng.choice(len(images), min(len(images), self.max_train_slices), replace=False))
        x, y = images[keep], targets[keep] > 0
        grid = np.quantile(x, self.quantiles)
        raw = [mean_dice(x > t, y) for t in grid]
        self.threshold = float(grid[int(np.argmax(raw))])
        cleaned = {m: mean_dice(clean(x > self.threshold, m), y) for m in self.min_sizes}
        self.min_pixels = max(cleaned, key=lambda m: (cleaned[m], -m))
        val = mean_dice(self.predict(val_images) > 0, val_targets > 0)
        return {"threshold": self.threshold, "min_component_pixels": self.min_pixels,
                "train_dice": cleaned[self.min_pixels], "val_dice": val, "train_slices_used": len(keep)}

    def predict(self, images: np.ndarray) -> np.ndarray:
        if self.threshold is None:
            raise RuntimeError("predict() before fit()")
        return clean(images > self.threshold, self.min_pixels).astype(np.uint8)
