"""Image similarity for multimodal registration: mutual information, and paper 13's distance-transform metric.

``mutual_information`` is the plug-in estimate from a joint histogram with a fixed, documented number of equal-width
bins per image (over each image's own min..max), in **bits**. ``distance_map`` is the Euclidean distance transform
inside an object (distance of each object pixel to the nearest background pixel; 0 outside), the map of paper 13's
UDT-SSD; ``distance_transform_ssd`` is the mean squared difference of the distance maps of two binary masks: the
UDT-SSD similarity evaluated on the final (warped) mask, whose distance map is recomputed after warping.

Example:
    >>> import numpy as np
    >>> a = np.repeat(np.arange(4.0), 4)
    >>> mutual_information(a, a, bins=4)   # a 4-level uniform image shares log2(4) bits with itself
    2.0
    >>> m = np.zeros((5, 5), bool); m[1:4, 1:4] = True
    >>> distance_transform_ssd(m, m)
    0.0
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from mbench.errors import MbenchError

__all__ = ["distance_map", "distance_transform_ssd", "joint_histogram", "mutual_information"]


def _same_shape(a: np.ndarray, b: np.ndarray, what: str) -> None:
    if a.shape != b.shape:
        raise MbenchError(f"{what}: the two images differ in shape", expected=f"{a.shape}", found=f"{b.shape}",
                          fix="warp the moving image onto the fixed grid first")


def joint_histogram(a: np.ndarray, b: np.ndarray, *, bins: int = 32) -> np.ndarray:
    """Counts of (bin of ``a``, bin of ``b``): ``bins`` equal-width bins over each image's own [min, max].

    A constant image falls into one bin.

    Example:
        >>> joint_histogram(np.array([0.0, 1.0]), np.array([5.0, 5.0]), bins=2).tolist()
        [[1.0, 0.0], [1.0, 0.0]]
    """
    x, y = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    _same_shape(x, y, "joint histogram")
    if bins < 2:
        raise MbenchError("mutual information needs at least 2 bins", expected=">= 2", found=str(bins))

    def codes(v: np.ndarray) -> np.ndarray:
        lo, hi = float(v.min()), float(v.max())
        if hi <= lo:
            return np.zeros(v.size, dtype=np.int64)
        return np.minimum(((v.ravel() - lo) / (hi - lo) * bins).astype(np.int64), bins - 1)

    hist = np.zeros((bins, bins))
    np.add.at(hist, (codes(x), codes(y)), 1.0)
    return hist


def mutual_information(a: np.ndarray, b: np.ndarray, *, bins: int = 32) -> float:
    """Mutual information in bits between two images of the same shape (histogram estimate).

    ``I = sum p(i, j) log2(p(i, j) / (p(i) p(j)))`` over the joint histogram of :func:`joint_histogram`.

    Empty inputs:
        An empty image gives ``nan``; a constant image gives 0.0.

    Example:
        >>> import numpy as np
        >>> mutual_information(np.array([0, 0, 1, 1.0]), np.array([0, 1, 0, 1.0]), bins=2)
        0.0
    """
    if np.asarray(a).size == 0:
        return float("nan")
    joint = joint_histogram(a, b, bins=bins)
    if (joint.sum(axis=1) > 0).sum() < 2 or (joint.sum(axis=0) > 0).sum() < 2:
        return 0.0  # one image has a single occupied bin: it carries no information
    p = joint / joint.sum()
    pa, pb = p.sum(axis=1, keepdims=True), p.sum(axis=0, keepdims=True)
    nz = p > 0
    return float(max(0.0, np.sum(p[nz] * np.log2(p[nz] / (pa @ pb)[nz]))))


def distance_map(mask: np.ndarray) -> np.ndarray:
    """Euclidean distance (pixels) of every object pixel to the nearest background pixel; 0 on the background.

    Exact EDT (``scipy.ndimage.distance_transform_edt``, the linear-time exact transform, as Maurer's); a mask with
    no background pixel at all is measured to the nearest pixel outside the image.

    Example:
        >>> distance_map(np.array([0, 1, 1, 1, 0])).tolist()
        [0.0, 1.0, 2.0, 1.0, 0.0]
    """
    m = np.asarray(mask, dtype=bool)
    if m.size and m.all():
        return ndimage.distance_transform_edt(np.pad(m, 1))[tuple(slice(1, -1) for _ in m.shape)]
    return ndimage.distance_transform_edt(m)


def distance_transform_ssd(prediction: np.ndarray, reference: np.ndarray) -> float:
    """Mean squared difference of the distance maps of two binary masks (paper 13's UDT-SSD, per pixel).

    ``mean((DT(reference) - DT(prediction))^2)`` in pixels², with :func:`distance_map`; the prediction is the
    warped target mask, whose map is computed after warping (the "updated" distance transform).

    Empty inputs:
        Two empty masks give 0.0; an empty image gives ``nan``.

    Example:
        >>> import numpy as np
        >>> distance_transform_ssd(np.array([0, 1, 1, 1, 0]), np.array([0, 1, 1, 0, 0]))
        0.4
    """
    p, r = np.asarray(prediction, dtype=bool), np.asarray(reference, dtype=bool)
    _same_shape(p, r, "distance-transform SSD")
    if p.size == 0:
        return float("nan")
    return float(np.mean((distance_map(r) - distance_map(p)) ** 2))
