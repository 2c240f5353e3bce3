"""Mixup augmentations of paper 10 (Campbell et al. 2023): input mixup and keypoint-guided mixup.

Input mixup (Zhang et al. 2018): x = lam x_i + (1 - lam) x_j, y = lam y_i + (1 - lam) y_j, one lam ~ U(0, 1) per
batch. Keypoint-guided mixup aligns the two faces first: the warp target is the lam-weighted mean of their facial
keypoints; each image is warped piecewise-affinely (one affine map per Delaunay triangle of the target keypoints,
image corners and edge midpoints anchored, cubic interpolation) so its keypoints land on the target, then the
warped images are blended with the same lam. Keypoints are (K, 2) arrays of (x, y) = (column, row) pixels.

Deviation (recorded): the paper triangulates the dataset-mean keypoints; here the triangulation is that of the
target keypoints (skimage's ``PiecewiseAffineTransform``), which has the same topology unless faces differ wildly.

Example:
    >>> import numpy as np
    >>> a, b = np.zeros((1, 32, 32), np.float32), np.ones((1, 32, 32), np.float32)
    >>> kp = np.array([[10.0, 12.0], [22.0, 12.0], [16.0, 22.0]])
    >>> mixed, target = keypoint_mixup(a, b, kp, kp, 0.25)
    >>> round(float(mixed.mean()), 3), bool(np.allclose(target, kp))
    (0.75, True)
"""

from __future__ import annotations

import numpy as np

__all__ = ["input_mixup", "keypoint_mixup", "warp_to_keypoints"]


def input_mixup(images: np.ndarray, soft_labels: np.ndarray, lam: float,
                perm: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Blend each sample with sample ``perm[i]``: images and (one-hot or soft) labels, weight ``lam`` on the first."""
    return (lam * images + (1 - lam) * images[perm]).astype(np.float32), lam * soft_labels + (1 - lam) * soft_labels[perm]


def _anchors(height: int, width: int) -> np.ndarray:
    xs, ys = (0.0, (width - 1) / 2, width - 1.0), (0.0, (height - 1) / 2, height - 1.0)
    return np.asarray([(x, y) for x in xs for y in ys if not (x == xs[1] and y == ys[1])], dtype=float)


def warp_to_keypoints(image: np.ndarray, keypoints: np.ndarray, target: np.ndarray, order: int = 3) -> np.ndarray:
    """Warp a (C, H, W) image piecewise-affinely so that its ``keypoints`` move to ``target`` (both (K, 2) x, y)."""
    from skimage.transform import PiecewiseAffineTransform, warp

    c, h, w = image.shape
    anchors = _anchors(h, w)
    # warp() needs the inverse map: output (target) coordinates -> input (source) coordinates
    src, dst = np.vstack([target, anchors]), np.vstack([keypoints, anchors])
    if hasattr(PiecewiseAffineTransform, "from_estimate"):  # skimage >= 0.26
        tform = PiecewiseAffineTransform.from_estimate(src, dst)
        if not tform:
            return image.copy()
    else:
        tform = PiecewiseAffineTransform()
        if not tform.estimate(src, dst):
            return image.copy()
    moved = warp(np.moveaxis(image, 0, -1).astype(np.float64), tform, order=order, mode="edge", preserve_range=True)
    return np.moveaxis(moved, -1, 0).astype(np.float32)


def keypoint_mixup(image_a: np.ndarray, image_b: np.ndarray, keypoints_a: np.ndarray, keypoints_b: np.ndarray,
                   lam: float, order: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """The keypoint-aligned blend of two (C, H, W) faces and its keypoints (lam-weighted mean of both)."""
    kp_a, kp_b = np.asarray(keypoints_a, float), np.asarray(keypoints_b, float)
    target = lam * kp_a + (1 - lam) * kp_b
    warped_a = warp_to_keypoints(image_a, kp_a, target, order)
    warped_b = warp_to_keypoints(image_b, kp_b, target, order)
    return (lam * warped_a + (1 - lam) * warped_b).astype(np.float32), target
