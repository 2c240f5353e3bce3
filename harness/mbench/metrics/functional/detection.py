"""Detection metrics: COCO AP (through faster-coco-eval or pycocotools), point-detection F1 and FROC.

Boxes are ``(x0, y0, x1, y1)`` in pixels; points are ``(n, d)`` coordinates. Per-image inputs are mappings:
references ``{"boxes": (n, 4), "labels": (n,)}`` or ``{"points": (n, d)}``; predictions add ``"scores": (n,)``.

Example:
    >>> import numpy as np
    >>> refs = [{"points": np.array([[10.0, 10.0], [50.0, 50.0]])}]
    >>> preds = [{"points": np.array([[12.0, 10.0], [90.0, 90.0]])}]
    >>> point_detection_counts(preds, refs, radius=5.0), point_f1(preds, refs, radius=5.0)
    ((1, 1, 1), 0.5)
"""

from __future__ import annotations

import contextlib
import io
import math
from collections.abc import Mapping, Sequence

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.spatial.distance import cdist

from mbench.errors import MbenchError

__all__ = [
    "FROC_RATES",
    "coco_ap",
    "coco_ap50",
    "coco_ap75",
    "coco_detection",
    "froc",
    "froc_score",
    "point_detection_counts",
    "point_f1",
]

COCO_KEYS = ("AP", "AP50", "AP75", "APs", "APm", "APl", "AR1", "AR10", "AR100", "ARs", "ARm", "ARl")
FROC_RATES = (0.125, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0)  # false positives per image (LUNA16)


def _get(item: Mapping[str, object], key: str, shape_tail: tuple[int, ...] | None, index: int) -> np.ndarray:
    if key not in item:
        raise MbenchError(f"image {index} lacks {key!r}", expected=f"a mapping with {key!r}", found=repr(sorted(item)),
                          fix="see the mbench.metrics.functional.detection module docstring for the input layout")
    arr = np.asarray(item[key], dtype=float)
    if shape_tail is not None:
        if arr.size == 0:
            arr = arr.reshape((0,) + shape_tail)
        if arr.ndim != 1 + len(shape_tail) or (shape_tail and arr.shape[1:] != shape_tail):
            raise MbenchError(f"image {index}: {key!r} has the wrong shape", expected=f"(n, {shape_tail})",
                              found=f"{arr.shape}")
    return arr


def _coco_dicts(predictions: Sequence[Mapping[str, object]],
                references: Sequence[Mapping[str, object]]) -> tuple[dict, list[dict]]:
    if len(predictions) != len(references):
        raise MbenchError("predictions and references cover different numbers of images",
                          expected=f"{len(references)} prediction entries", found=f"{len(predictions)}")
    images, annotations, detections, categories = [], [], [], set()
    for i, (pred, ref) in enumerate(zip(predictions, references, strict=True)):
        images.append({"id": i + 1, "width": 0, "height": 0})
        boxes, labels = _get(ref, "boxes", (4,), i), _get(ref, "labels", (), i).astype(int)
        if len(boxes) != len(labels):
            raise MbenchError(f"image {i}: reference boxes and labels differ in length", expected="equal lengths",
                              found=f"{len(boxes)} and {len(labels)}")
        for b, c in zip(boxes, labels, strict=True):
            w, h = float(b[2] - b[0]), float(b[3] - b[1])
            annotations.append({"id": len(annotations) + 1, "image_id": i + 1, "category_id": int(c),
                                "bbox": [float(b[0]), float(b[1]), w, h], "area": w * h, "iscrowd": 0})
            categories.add(int(c))
        pb, pl, ps = (_get(pred, "boxes", (4,), i), _get(pred, "labels", (), i).astype(int),
                      _get(pred, "scores", (), i))
        if not len(pb) == len(pl) == len(ps):
            raise MbenchError(f"image {i}: boxes, labels and scores differ in length", expected="equal lengths",
                              found=f"{len(pb)}, {len(pl)}, {len(ps)}")
        for b, c, s in zip(pb, pl, ps, strict=True):
            detections.append({"image_id": i + 1, "category_id": int(c), "score": float(s),
                               "bbox": [float(b[0]), float(b[1]), float(b[2] - b[0]), float(b[3] - b[1])]})
            categories.add(int(c))
    gt = {"images": images, "annotations": annotations,
          "categories": [{"id": c, "name": str(c)} for c in sorted(categories)]}
    return gt, detections


def coco_detection(predictions: Sequence[Mapping[str, object]], references: Sequence[Mapping[str, object]], *,
                   backend: str = "auto", per_class: bool = False) -> dict[str, float]:
    """COCO box detection metrics, computed by the official algorithm (``faster-coco-eval`` or ``pycocotools``).

    ``AP`` is the mean over classes and over IoU thresholds 0.50:0.05:0.95 of the 101-point interpolated
    precision (COCO's mAP); ``AP50`` / ``AP75`` at one IoU; ``APs/APm/APl`` by object area; ``AR1/AR10/AR100``
    the recall with at most 1/10/100 detections per image. With ``per_class=True`` also ``AP/<label>``.

    Args:
        backend: ``"faster_coco_eval"``, ``"pycocotools"`` or ``"auto"`` (the first one installed).

    Empty inputs:
        Values COCO reports as -1 (no reference object of that kind) become ``nan``. No detections at all: AP 0.0
        where references exist.

    Example:
        >>> import numpy as np
        >>> refs = [{"boxes": np.array([[0, 0, 10, 10]]), "labels": np.array([1])}]
        >>> preds = [{"boxes": np.array([[0, 0, 10, 10]]), "labels": np.array([1]), "scores": np.array([0.9])}]
        >>> coco_detection(preds, refs)["AP"]
        1.0
    """
    gt, dets = _coco_dicts(predictions, references)
    cocoeval, coco_cls = _backend(backend)
    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = coco_cls()
        coco_gt.dataset = gt
        coco_gt.createIndex()
        if dets:
            coco_dt = coco_gt.loadRes(dets)
        else:
            coco_dt = coco_cls()
            coco_dt.dataset = {"images": gt["images"], "annotations": [], "categories": gt["categories"]}
            coco_dt.createIndex()
        ev = cocoeval(coco_gt, coco_dt, "bbox")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    stats = [float(x) for x in ev.stats[:12]]
    out = {k: (math.nan if v < 0 else v) for k, v in zip(COCO_KEYS, stats, strict=True)}
    if per_class:
        precision = np.asarray(ev.eval["precision"])  # [iou, recall, class, area, max_dets]
        for k, cat in enumerate(ev.params.catIds):
            p = precision[:, :, k, 0, -1]
            p = p[p > -1]
            out[f"AP/{cat}"] = float(p.mean()) if p.size else math.nan
    return out


def _backend(name: str) -> tuple[type, type]:
    if name not in ("auto", "faster_coco_eval", "pycocotools"):
        raise MbenchError(f"unknown COCO backend {name!r}", expected="'auto', 'faster_coco_eval' or 'pycocotools'",
                          found=repr(name))
    if name in ("auto", "faster_coco_eval"):
        try:
            from faster_coco_eval import COCO, COCOeval_faster

            return COCOeval_faster, COCO
        except ImportError:
            if name == "faster_coco_eval":
                raise MbenchError("faster-coco-eval is not installed", expected="the faster-coco-eval package",
                                  found="ImportError", fix="pip install faster-coco-eval") from None
    try:
        from pycocotools.coco import COCO
        from pycocotools.cocoeval import COCOeval
    except ImportError:
        raise MbenchError("no COCO evaluation backend installed", expected="faster-coco-eval or pycocotools",
                          found="neither imports", fix="pip install faster-coco-eval (or pycocotools)") from None
    return COCOeval, COCO


def coco_ap(predictions: Sequence[Mapping[str, object]], references: Sequence[Mapping[str, object]]) -> float:
    """COCO mAP: mean over classes and IoU 0.50:0.95 (see :func:`coco_detection`).

    Empty inputs:
        No reference objects: ``nan``.

    Example:
        >>> import numpy as np
        >>> refs = [{"boxes": np.array([[0, 0, 10, 10]]), "labels": np.array([1])}]
        >>> coco_ap([{"boxes": np.zeros((0, 4)), "labels": [], "scores": []}], refs)
        0.0
    """
    return coco_detection(predictions, references)["AP"]


def coco_ap50(predictions: Sequence[Mapping[str, object]], references: Sequence[Mapping[str, object]]) -> float:
    """COCO AP at IoU 0.5, mean over classes (see :func:`coco_detection`).

    Empty inputs:
        No reference objects: ``nan``.

    Example:
        >>> import numpy as np
        >>> refs = [{"boxes": np.array([[0, 0, 10, 10]]), "labels": np.array([1])}]
        >>> preds = [{"boxes": np.array([[0, 0, 10, 15]]), "labels": np.array([1]), "scores": np.array([0.9])}]
        >>> coco_ap50(preds, refs), coco_ap75(preds, refs)
        (1.0, 0.0)
    """
    return coco_detection(predictions, references)["AP50"]


def coco_ap75(predictions: Sequence[Mapping[str, object]], references: Sequence[Mapping[str, object]]) -> float:
    """COCO AP at IoU 0.75, mean over classes (see :func:`coco_detection`).

    Empty inputs:
        No reference objects: ``nan``.

    Example:
        >>> import numpy as np
        >>> refs = [{"boxes": np.array([[0, 0, 10, 10]]), "labels": np.array([1])}]
        >>> preds = [{"boxes": np.array([[0, 0, 10, 12]]), "labels": np.array([1]), "scores": np.array([0.9])}]
        >>> coco_ap75(preds, refs)
        1.0
    """
    return coco_detection(predictions, references)["AP75"]


def _points(item: Mapping[str, object], index: int) -> np.ndarray:
    arr = _get(item, "points", None, index)
    if arr.size == 0:
        return np.zeros((0, 0))
    if arr.ndim != 2:
        raise MbenchError(f"image {index}: 'points' has the wrong shape", expected="(n, d) coordinates",
                          found=f"{arr.shape}")
    return arr


def _match_count(pred: np.ndarray, ref: np.ndarray, radius: float) -> int:
    """Largest number of one-to-one (prediction, reference) pairs closer than ``radius``."""
    if len(pred) == 0 or len(ref) == 0:
        return 0
    dist = cdist(pred, ref)
    close = dist <= radius
    if not close.any():
        return 0
    # maximum cardinality first (a pair outside the radius costs more than all pairs inside), then least distance
    cost = np.where(close, dist, dist[close].sum() + 1.0 + radius * (len(pred) + len(ref)))
    rows, cols = linear_sum_assignment(cost)
    return int(close[rows, cols].sum())


def point_detection_counts(predictions: Sequence[Mapping[str, object]], references: Sequence[Mapping[str, object]],
                           *, radius: float, score_threshold: float | None = None) -> tuple[int, int, int]:
    """``(TP, FP, FN)`` of point detections summed over images; a TP is a one-to-one match within ``radius``.

    Matching per image is optimal: the largest possible number of prediction-reference pairs at distance
    ``<= radius`` (MIDOG: radius 7.5 µm, i.e. 30 px at 0.25 µm/px). Predictions with ``"scores"`` below
    ``score_threshold`` are dropped first.

    Empty inputs:
        Images without predictions or references are ordinary (they add FN or FP only).

    Example:
        >>> import numpy as np
        >>> refs = [{"points": np.array([[0.0, 0.0], [3.0, 0.0]])}]
        >>> preds = [{"points": np.array([[1.5, 0.0], [4.0, 0.0]])}]
        >>> point_detection_counts(preds, refs, radius=1.6)
        (2, 0, 0)
    """
    if len(predictions) != len(references):
        raise MbenchError("predictions and references cover different numbers of images",
                          expected=f"{len(references)} prediction entries", found=f"{len(predictions)}")
    if not radius > 0:
        raise MbenchError("invalid matching radius", expected="radius > 0", found=repr(radius))
    tp = fp = fn = 0
    for i, (pred, ref) in enumerate(zip(predictions, references, strict=True)):
        r, p = _points(ref, i), _points(pred, i)
        if score_threshold is not None and len(p):
            p = p[_get(pred, "scores", (), i) >= score_threshold]
        if len(p) and len(r) and p.shape[1] != r.shape[1]:
            raise MbenchError(f"image {i}: points differ in dimension", expected=f"{r.shape[1]}-D points",
                              found=f"{p.shape[1]}-D")
        m = _match_count(p, r, float(radius))
        tp, fp, fn = tp + m, fp + len(p) - m, fn + len(r) - m
    return tp, fp, fn


def point_f1(predictions: Sequence[Mapping[str, object]], references: Sequence[Mapping[str, object]], *,
             radius: float, score_threshold: float | None = None, both_empty: float = 1.0) -> float:
    """Point-detection F1 ``2 TP / (2 TP + FP + FN)`` over all images (MIDOG style; see
    :func:`point_detection_counts`).

    Empty inputs:
        No predictions and no references anywhere: ``both_empty`` (default 1.0).

    Example:
        >>> import numpy as np
        >>> refs = [{"points": np.array([[0.0, 0.0]])}, {"points": np.zeros((0, 2))}]
        >>> preds = [{"points": np.array([[1.0, 1.0]])}, {"points": np.array([[5.0, 5.0]])}]
        >>> round(point_f1(preds, refs, radius=2.0), 4)
        0.6667
    """
    tp, fp, fn = point_detection_counts(predictions, references, radius=radius, score_threshold=score_threshold)
    den = 2 * tp + fp + fn
    return float(both_empty) if den == 0 else 2 * tp / den


def froc(predictions: Sequence[Mapping[str, object]], references: Sequence[Mapping[str, object]], *,
         radius: float, rates: Sequence[float] = FROC_RATES) -> dict[float, float]:
    """Sensitivity at stated average false positives per image (free-response ROC).

    A reference lesion is detected at threshold ``t`` when a prediction with score ``>= t`` lies within ``radius``
    of it; a prediction within ``radius`` of no lesion is a false positive; further predictions on an already
    detected lesion count as neither (LUNA16 / CAMELYON16). The sensitivity at rate ``f`` is the highest
    sensitivity over thresholds whose false positives per image are ``<= f``.

    Empty inputs:
        No reference lesion in any image: ``nan`` for every rate. No images raise.

    Example:
        >>> import numpy as np
        >>> refs = [{"points": np.array([[0.0, 0.0], [10.0, 10.0]])}]
        >>> preds = [{"points": np.array([[0.0, 1.0], [30.0, 30.0], [10.0, 9.0]]), "scores": np.array([0.9, 0.8, 0.7])}]
        >>> froc(preds, refs, radius=2.0, rates=(0.5, 1.0))
        {0.5: 0.5, 1.0: 1.0}
    """
    if len(predictions) != len(references) or not references:
        raise MbenchError("FROC needs one prediction entry per image", expected=f"{len(references)} > 0 entries",
                          found=f"{len(predictions)}")
    lesion_best, fp_scores = [], []
    for i, (pred, ref) in enumerate(zip(predictions, references, strict=True)):
        r, p, s = _points(ref, i), _points(pred, i), _get(pred, "scores", (), i)
        if len(p) != len(s):
            raise MbenchError(f"image {i}: points and scores differ in length", expected="equal lengths",
                              found=f"{len(p)} and {len(s)}")
        if len(r) and len(p):
            close = cdist(p, r) <= radius
            lesion_best += [float(s[close[:, j]].max()) if close[:, j].any() else -math.inf for j in range(len(r))]
            fp_scores += list(s[~close.any(axis=1)])
        else:
            lesion_best += [-math.inf] * len(r)
            fp_scores += list(s)
    if not lesion_best:
        return {float(f): math.nan for f in rates}
    best = np.asarray(lesion_best)
    fps = np.sort(np.asarray(fp_scores, dtype=float))
    thresholds = np.unique(np.concatenate([best[np.isfinite(best)], fps]))[::-1]
    sens = np.array([0.0] + [float(np.mean(best >= t)) for t in thresholds])
    fp_rate = np.array([0.0] + [float(fps.size - np.searchsorted(fps, t, side="left")) for t in thresholds])
    fp_rate /= len(references)
    return {float(f): float(sens[fp_rate <= f].max()) for f in rates}


def froc_score(predictions: Sequence[Mapping[str, object]], references: Sequence[Mapping[str, object]], *,
               radius: float, rates: Sequence[float] = FROC_RATES) -> float:
    """Mean FROC sensitivity over the stated false-positive rates (LUNA16 CPM with the default rates).

    Empty inputs:
        No reference lesion: ``nan``.

    Example:
        >>> import numpy as np
        >>> refs = [{"points": np.array([[0.0, 0.0]])}]
        >>> froc_score([{"points": np.array([[0.0, 0.5]]), "scores": np.array([0.5])}], refs, radius=1.0)
        1.0
    """
    return float(np.mean(list(froc(predictions, references, radius=radius, rates=rates).values())))
