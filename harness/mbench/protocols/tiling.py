"""Tiling large 2D images (whole-slide regions) for detection: tile origins, per-tile training boxes, mapping
tile detections back to image (slide) coordinates and merging duplicates across overlaps with NMS.

Coordinates are pixels, boxes ``(x1, y1, x2, y2)``; a tile origin is ``(x0, y0)`` (its top-left pixel).
Pure numpy (no torch), so it is importable by the core and testable on its own.

Example:
    >>> tile_origins(600, 400, size=256, overlap=32)
    [(0, 0), (224, 0), (344, 0), (0, 144), (224, 144), (344, 144)]
    >>> dets = [{"boxes": np.array([[10.0, 10, 60, 60]]), "scores": np.array([0.9]), "labels": np.array([1])}]
    >>> to_image_coordinates(dets, [(224, 144)])[0]["boxes"].tolist()
    [[234.0, 154.0, 284.0, 204.0]]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from mbench.errors import MbenchError

__all__ = ["tile_origins", "crop_tile", "boxes_in_tile", "to_image_coordinates", "nms", "merge_detections",
           "empty_detections"]


def _axis_starts(length: int, size: int, step: int) -> list[int]:
    if length <= size:
        return [0]
    starts = list(range(0, length - size, step))
    return starts + [length - size]  # the last tile ends flush with the border


def tile_origins(width: int, height: int, *, size: int, overlap: int = 0) -> list[tuple[int, int]]:
    """Top-left corners ``(x0, y0)`` of ``size`` x ``size`` tiles covering a ``width`` x ``height`` image.

    Tiles advance by ``size - overlap``; the last tile of a row / column is moved back to end at the border (so it
    may overlap its neighbour by more). An image smaller than a tile gets one tile at (0, 0) (padded by
    :func:`crop_tile`). Row-major order (y, then x).
    """
    if size <= 0 or not 0 <= overlap < size:
        raise MbenchError("invalid tiling", expected="size > 0 and 0 <= overlap < size",
                          found=f"size {size}, overlap {overlap}")
    step = size - overlap
    return [(x, y) for y in _axis_starts(height, size, step) for x in _axis_starts(width, size, step)]


def crop_tile(image: np.ndarray, origin: tuple[int, int], size: int, fill: float = 0.0) -> np.ndarray:
    """The ``size`` x ``size`` tile of an (H, W, C) or (H, W) image at ``origin``, padded with ``fill`` past the border.

    Example:
        >>> crop_tile(np.ones((3, 5)), (3, 1), 4).tolist()
        [[1.0, 1.0, 0.0, 0.0], [1.0, 1.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0]]
    """
    x0, y0 = origin
    part = np.asarray(image[y0:y0 + size, x0:x0 + size])
    if part.shape[0] == size and part.shape[1] == size:
        return part
    out = np.full((size, size, *part.shape[2:]), fill, dtype=part.dtype)
    out[:part.shape[0], :part.shape[1]] = part
    return out


def boxes_in_tile(boxes: np.ndarray, labels: np.ndarray, origin: tuple[int, int], size: int,
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Training targets of one tile: the boxes whose centre lies in the tile, in tile coordinates, clipped to it.

    Example:
        >>> b, l = boxes_in_tile(np.array([[90.0, 10, 140, 60], [300, 300, 350, 350]]), np.array([1, 1]), (100, 0), 128)
        >>> b.tolist(), l.tolist()
        ([[0.0, 10.0, 40.0, 60.0]], [1])
    """
    boxes = np.asarray(boxes, dtype=float).reshape(-1, 4)
    labels = np.asarray(labels, dtype=int).reshape(-1)
    x0, y0 = origin
    cx, cy = (boxes[:, 0] + boxes[:, 2]) / 2 - x0, (boxes[:, 1] + boxes[:, 3]) / 2 - y0
    keep = (cx >= 0) & (cx < size) & (cy >= 0) & (cy < size)
    local = boxes[keep] - np.array([x0, y0, x0, y0], dtype=float)
    return np.clip(local, 0, size), labels[keep]


def empty_detections() -> dict[str, np.ndarray]:
    return {"boxes": np.zeros((0, 4)), "scores": np.zeros(0), "labels": np.zeros(0, dtype=int)}


def to_image_coordinates(detections: Sequence[Mapping[str, np.ndarray]],
                         origins: Sequence[tuple[int, int]]) -> list[dict[str, np.ndarray]]:
    """Per-tile detections shifted by their tile's origin into image coordinates (scores and labels unchanged)."""
    if len(detections) != len(origins):
        raise MbenchError("one origin per tile is needed", expected=f"{len(detections)} origins",
                          found=f"{len(origins)}")
    out = []
    for det, (x0, y0) in zip(detections, origins, strict=True):
        boxes = np.asarray(det["boxes"], dtype=float).reshape(-1, 4)
        out.append({"boxes": boxes + np.array([x0, y0, x0, y0], dtype=float),
                    "scores": np.asarray(det["scores"], dtype=float).reshape(-1),
                    "labels": np.asarray(det["labels"], dtype=int).reshape(-1)})
    return out


def _iou(box: np.ndarray, others: np.ndarray) -> np.ndarray:
    ix1, iy1 = np.maximum(box[0], others[:, 0]), np.maximum(box[1], others[:, 1])
    ix2, iy2 = np.minimum(box[2], others[:, 2]), np.minimum(box[3], others[:, 3])
    inter = np.clip(ix2 - ix1, 0, None) * np.clip(iy2 - iy1, 0, None)
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (others[:, 2] - others[:, 0]) * (others[:, 3] - others[:, 1])
    union = area + areas - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)


def nms(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float) -> np.ndarray:
    """Greedy non-maximum suppression (as ``torchvision.ops.nms``): indices kept, by decreasing score.

    A box is dropped when its IoU with a kept, higher-scoring box is greater than ``iou_threshold``.

    Example:
        >>> nms(np.array([[0, 0, 10, 10], [1, 1, 11, 11], [50, 50, 60, 60]]), np.array([0.5, 0.9, 0.7]), 0.5).tolist()
        [1, 2]
    """
    boxes = np.asarray(boxes, dtype=float).reshape(-1, 4)
    order = np.argsort(-np.asarray(scores, dtype=float), kind="stable")
    keep = []
    while order.size:
        i = order[0]
        keep.append(int(i))
        rest = order[1:]
        order = rest[_iou(boxes[i], boxes[rest]) <= iou_threshold]
    return np.asarray(keep, dtype=int)


def merge_detections(detections: Sequence[Mapping[str, np.ndarray]], origins: Sequence[tuple[int, int]], *,
                     iou_threshold: float) -> dict[str, np.ndarray]:
    """One image's detections from its tiles: mapped to image coordinates, pooled, then NMS per label.

    Duplicates of one object found in two overlapping tiles collapse to the higher-scoring one.
    """
    mapped = to_image_coordinates(detections, origins)
    if not mapped:
        return empty_detections()
    boxes = np.concatenate([d["boxes"] for d in mapped])
    scores = np.concatenate([d["scores"] for d in mapped])
    labels = np.concatenate([d["labels"] for d in mapped])
    keep = np.concatenate([np.flatnonzero(labels == c)[nms(boxes[labels == c], scores[labels == c], iou_threshold)]
                           for c in np.unique(labels)]) if labels.size else np.zeros(0, dtype=int)
    keep = keep[np.argsort(-scores[keep], kind="stable")]
    return {"boxes": boxes[keep], "scores": scores[keep], "labels": labels[keep]}
