"""Post-processing of binary predicted masks, as a card declares it (``postprocessing:``), applied before scoring.

Gil et al. (paper 2) clean the ensemble's tumour mask with, in order: remove objects smaller than
5000 px, closing with a disk of radius 20 px, fill holes, keep the largest connected component. Each
op here is a pure numpy / scipy function of one 2D mask; :func:`apply_ops` runs a card's list on a
batch of masks (N, H, W) and returns uint8 0/1 masks. Components are 8-connected by default
(MATLAB's ``bwareaopen`` / ``bwconncomp`` in 2D; ``connectivity=1`` gives 4-connected); closing uses a disk
footprint with MATLAB's ``imclose`` / skimage's border rule (outside the image is background when dilating,
foreground when eroding).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from scipy import ndimage

from mbench.errors import MbenchError

__all__ = ["disk", "remove_small_objects", "binary_closing", "fill_holes", "keep_largest_component", "OPS",
           "apply_ops"]


def disk(radius: int) -> np.ndarray:
    """A (2r+1, 2r+1) boolean disk, the same as ``skimage.morphology.disk(radius)``.

    Example:
        >>> disk(1).astype(int).tolist()
        [[0, 1, 0], [1, 1, 1], [0, 1, 0]]
    """
    r = int(radius)
    yy, xx = np.mgrid[-r:r + 1, -r:r + 1]
    return (yy * yy + xx * xx) <= r * r


def _structure(connectivity: int) -> np.ndarray:
    return ndimage.generate_binary_structure(2, connectivity)


def remove_small_objects(mask: np.ndarray, min_size: int = 64, connectivity: int = 2) -> np.ndarray:
    """Drop connected components with fewer than ``min_size`` pixels (as ``skimage.morphology.remove_small_objects``).

    Example:
        >>> m = np.zeros((5, 5), bool); m[0, 0] = True; m[2:5, 2:5] = True
        >>> int(remove_small_objects(m, 2).sum())
        9
    """
    mask = np.asarray(mask, bool)
    labels, n = ndimage.label(mask, _structure(connectivity))
    if n == 0:
        return mask.copy()
    sizes = np.bincount(labels.ravel())
    keep = sizes >= int(min_size)
    keep[0] = False
    return keep[labels]


def binary_closing(mask: np.ndarray, radius: int = 1) -> np.ndarray:
    """Dilation then erosion with a disk of ``radius``; outside the image is background for the dilation and
    foreground for the erosion (MATLAB ``imclose``; ``skimage.morphology.binary_closing(mask, disk(radius))``)."""
    mask = np.asarray(mask, bool)
    if int(radius) <= 0:
        return mask.copy()
    fp = disk(int(radius))
    return ndimage.binary_erosion(ndimage.binary_dilation(mask, fp, border_value=0), fp, border_value=1)


def fill_holes(mask: np.ndarray, connectivity: int = 1) -> np.ndarray:
    """Fill background regions not connected to the image border (``scipy.ndimage.binary_fill_holes``)."""
    return ndimage.binary_fill_holes(np.asarray(mask, bool), _structure(connectivity))


def keep_largest_component(mask: np.ndarray, connectivity: int = 2) -> np.ndarray:
    """Only the largest connected component (the first in scan order on a tie); an empty mask stays empty.

    Example:
        >>> m = np.zeros((4, 6), bool); m[0, 0] = True; m[1:4, 3:6] = True
        >>> int(keep_largest_component(m).sum())
        9
    """
    mask = np.asarray(mask, bool)
    labels, n = ndimage.label(mask, _structure(connectivity))
    if n == 0:
        return mask.copy()
    sizes = np.bincount(labels.ravel())
    sizes[0] = 0
    return labels == int(np.argmax(sizes))


OPS: dict[str, Callable[..., np.ndarray]] = {
    "remove_small_objects": remove_small_objects,
    "closing": binary_closing,
    "fill_holes": fill_holes,
    "keep_largest_component": keep_largest_component,
}


def apply_ops(masks: np.ndarray, ops: Sequence[Any]) -> np.ndarray:
    """Apply ``ops`` (card entries: objects with ``op`` and parameters, or dicts) in order to each mask of (N, H, W)
    or to one (H, W) mask; returns uint8 0/1 of the same shape.

    Example:
        >>> m = np.zeros((1, 6, 6), np.uint8); m[0, 1:5, 1:5] = 1; m[0, 2, 2] = 0
        >>> int(apply_ops(m, [{"op": "fill_holes"}]).sum())
        16
    """
    masks = np.asarray(masks)
    if not ops:
        return masks
    steps = []
    for entry in ops:
        kwargs = dict(entry) if isinstance(entry, dict) else entry.model_dump(exclude_none=True)
        name = kwargs.pop("op")
        if name not in OPS:
            raise MbenchError(f"unknown post-processing op {name!r}", expected=", ".join(OPS), found=name)
        steps.append((OPS[name], kwargs))
    single = masks.ndim == 2
    batch = masks[None] if single else masks
    if np.any(batch > 1):
        raise MbenchError("post-processing applies to binary masks", expected="values 0/1",
                          found=f"max {int(batch.max())}", fix="declare postprocessing on binary tasks only")
    out = np.empty(batch.shape, np.uint8)
    for k, mask in enumerate(batch):
        m = mask.astype(bool)
        for fn, kwargs in steps:
            m = fn(m, **kwargs)
        out[k] = m
    return out[0] if single else out
