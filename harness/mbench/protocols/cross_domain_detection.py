"""Cross-domain detection over tiled large images (paper 11: train on one scanner, test on each other scanner).

Jobs: ``seed<s>-<source>`` per seed and source domain, then ``seed<s>-mean`` (after all of that seed's sources).

* A source job tiles the images of its domain (manifest split ``<source>``; a seeded ``val_fraction`` of them is
  held out for checkpoint selection) into ``tiling.size`` tiles (``tiling.train_overlap``), with each tile's
  boxes of the ``detect`` labels (boxes whose centre lies in the tile, clipped), and fits the run's detector.
  Tiles are cut lazily from memory-mapped images, so memory stays bounded by a batch.
* It then scores every other domain: each image is tiled with ``tiling.overlap``, detected tile by tile, the
  detections mapped back to image coordinates and duplicates across overlaps merged by NMS (``merge_iou``). The
  references are the image's boxes of the ``detect`` labels; other labels (MIDOG's hard negatives) are not
  references, so detections on them are false positives.
* Metrics per (source, target) pair, pooled over the target domain's images (dataset-level rows, case ``*``,
  region ``<source>_to_<target>``): COCO AP (0.50:0.95), AP50, AP75 by ``pycocotools``-compatible evaluation on the
  whole images, and the challenge's point F1 = 2 TP / (2 TP + FP + FN) with TP/FP/FN summed over all images of the
  target domain (MIDOG 2021's aggregation), box centres matched one-to-one within ``f1_radius`` px among detections
  with score >= ``f1_threshold``.
* The ``mean`` job adds rows (region ``mean``) averaging each metric over the seed's pairs (a harness addition).
* ``train_images`` / ``test_images`` (quick settings) keep a seeded subset of each source / target domain's images
  (:func:`image_subset`: the same for every run seed and source); the job records the counts and the image ids.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence

import numpy as np

from mbench.config.schema import CrossDomainDetectionSpec
from mbench.errors import MbenchError
from mbench.metrics.functional.detection import coco_detection, point_detection_counts
from mbench.models.capabilities import Progress, check_detections
from mbench.models.registry import create_model, get_model_entry
from mbench.protocols.base import EvaluationProtocol, Job, RunContext, component_seed
from mbench.protocols.scoring import ALL_CASES
from mbench.protocols.tiling import boxes_in_tile, crop_tile, merge_detections, tile_origins

__all__ = ["CrossDomainDetectionProtocol", "TileSequence", "detect_image", "pair_scores", "box_centres", "image_subset"]

METRICS = ("coco_ap", "coco_ap50", "coco_ap75", "point_f1")


class TileSequence(Sequence):
    """Lazy tiles ``(3, size, size)`` float32 in [0, 1] of memory-mapped RGB images: ``(image, (x0, y0))`` items."""

    def __init__(self, images: dict[str, np.ndarray], items: list[tuple[str, tuple[int, int]]], size: int) -> None:
        self.images, self.items, self.size = images, items, size

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i):  # type: ignore[override]
        if isinstance(i, slice):
            return [self[k] for k in range(*i.indices(len(self)))]
        case, origin = self.items[i]
        tile = crop_tile(self.images[case], origin, self.size, fill=255)
        return np.moveaxis(np.asarray(tile, dtype=np.float32) / 255.0, -1, 0)


def image_subset(cases: list[str], n: int | None, domain: str) -> list[str]:
    """A seeded subset of ``n`` of a domain's images, in their manifest order (all of them when ``n`` is None or
    not smaller); the seed depends on the domain name only.

    Example:
        >>> image_subset(["001", "002", "003"], 2, "A") == image_subset(["001", "002", "003"], 2, "A")
        True
        >>> image_subset(["001", "002"], None, "A")
        ['001', '002']
    """
    if n is None or n >= len(cases):
        return list(cases)
    keep = np.random.default_rng(component_seed(0, f"images-{domain}")).choice(len(cases), n, replace=False)
    return [cases[i] for i in sorted(keep)]


def box_centres(boxes: np.ndarray) -> np.ndarray:
    """(n, 2) centres ``(x, y)`` of (n, 4) boxes."""
    boxes = np.asarray(boxes, dtype=float).reshape(-1, 4)
    return np.stack([(boxes[:, 0] + boxes[:, 2]) / 2, (boxes[:, 1] + boxes[:, 3]) / 2], axis=1)


def detect_image(detector, image: np.ndarray, *, size: int, overlap: int, merge_iou: float, chunk: int = 16) -> dict:
    """One large image's detections: tiles detected in chunks, mapped to image coordinates, merged by NMS."""
    origins = tile_origins(image.shape[1], image.shape[0], size=size, overlap=overlap)
    tiles = TileSequence({"x": image}, [("x", o) for o in origins], size)
    dets: list[dict] = []
    for start in range(0, len(origins), chunk):
        part = tiles[start:start + chunk]
        dets += check_detections(detector.detect(part), len(part))
    merged = merge_detections(dets, origins, iou_threshold=merge_iou)
    h, w = image.shape[:2]  # boxes of padded tile parts are clipped to the image
    merged["boxes"] = np.clip(merged["boxes"], 0, [w, h, w, h])
    return merged


def pair_scores(predictions: list[dict], references: list[dict], *, radius: float, threshold: float) -> dict:
    """COCO AP / AP50 / AP75 and pooled point F1 (with its TP / FP / FN) over the images of one target domain."""
    coco = coco_detection(predictions, references) if any(len(r["boxes"]) for r in references) else {}
    preds = [{"points": box_centres(p["boxes"]), "scores": p["scores"]} for p in predictions]
    refs = [{"points": box_centres(r["boxes"])} for r in references]
    tp, fp, fn = point_detection_counts(preds, refs, radius=radius, score_threshold=threshold)
    den = 2 * tp + fp + fn
    return {"coco_ap": coco.get("AP", math.nan), "coco_ap50": coco.get("AP50", math.nan),
            "coco_ap75": coco.get("AP75", math.nan), "point_f1": 2 * tp / den if den else math.nan,
            "tp": tp, "fp": fp, "fn": fn}


class CrossDomainDetectionProtocol(EvaluationProtocol[CrossDomainDetectionSpec]):
    """The ``cross_domain_detection`` protocol; the run's model is a :class:`~mbench.models.capabilities.Detector`."""

    def sources(self) -> list[str]:
        return list(self.spec.sources or self.spec.domains)

    def splits_to_load(self) -> list[str]:
        return []  # images are tiled lazily by the jobs; the runner still checks the manifest

    def jobs(self) -> list[Job]:
        out = []
        for s in self.spec.seeds:
            keys = []
            for k, src in enumerate(self.sources()):
                keys.append(f"seed{s}-{src}")
                out.append(Job(keys[-1], self.config.task.id, self.config.model, s))
            out.append(Job(f"seed{s}-mean", self.config.task.id, self.config.model, s, depends_on=tuple(keys)))
        return out

    # -- data ------------------------------------------------------------------------------------------------------
    def _label_codes(self) -> list[int]:
        labels = self.config.task.labels
        unknown = [n for n in self.spec.detect if n not in labels]
        if unknown:
            raise MbenchError(f"protocol.detect names labels {unknown} that the card does not define",
                              expected=str(list(labels)), found=str(unknown))
        return [labels[n] for n in self.spec.detect]

    def references(self, ctx: RunContext, case: str) -> dict:
        """Boxes of the ``detect`` labels, labels as detector classes 1..K."""
        codes = self._label_codes()
        ann = ctx.task.adapter.annotations(case, codes)
        return {"boxes": ann["boxes"], "labels": np.asarray([codes.index(c) + 1 for c in ann["labels"]], dtype=int)}

    def _domain_cases(self, ctx: RunContext, domain: str, n: int | None = None) -> list[str]:
        """The domain's images (``--limit`` first), then a seeded subset of ``n`` (``train_images`` / ``test_images``)."""
        return image_subset(ctx.task.split_ids(domain), n, domain)

    def training_tiles(self, ctx: RunContext, cases: list[str]) -> tuple[TileSequence, list[dict]]:
        t = self.spec.tiling
        images = {c: ctx.task.adapter.open_image(c) for c in cases}
        items, targets = [], []
        for c in cases:
            ref = self.references(ctx, c)
            for origin in tile_origins(images[c].shape[1], images[c].shape[0], size=t.size, overlap=t.train_overlap):
                boxes, labels = boxes_in_tile(ref["boxes"], ref["labels"], origin, t.size)
                items.append((c, origin))
                targets.append({"boxes": boxes, "labels": labels})
        return TileSequence(images, items, t.size), targets

    def split_source(self, cases: list[str], seed: int) -> tuple[list[str], list[str]]:
        """(train, val) images of the source domain: a seeded ``val_fraction`` held out (none when 0)."""
        n_val = int(round(self.spec.val_fraction * len(cases)))
        if n_val == 0:
            return list(cases), []
        order = np.random.default_rng(component_seed(seed, "val")).permutation(len(cases))
        val = sorted(cases[i] for i in order[:n_val])
        return [c for c in cases if c not in val], val

    # -- jobs ------------------------------------------------------------------------------------------------------
    def run_job(self, job: Job, ctx: RunContext, deps: dict[str, dict], progress: Progress) -> dict:
        source = job.key.split("-", 1)[1]
        if source == "mean":
            return self._mean_job(job, deps)
        cfg, spec, t = self.config, self.spec, self.spec.tiling
        t0 = time.perf_counter()
        train_cases, val_cases = self.split_source(self._domain_cases(ctx, source, spec.train_images), job.seed)
        x, y = self.training_tiles(ctx, train_cases)
        vx, vy = self.training_tiles(ctx, val_cases) if val_cases else ([], [])
        detector = create_model(get_model_entry(cfg.model), cfg.model_params, cfg.run.device)

        def score(dets: list[dict], refs: Sequence[dict]) -> float:
            value = coco_detection(dets, refs)["AP"] if any(len(r["boxes"]) for r in refs) else math.nan
            return -math.inf if math.isnan(value) else value

        train_log = detector.fit(x, y, vx, vy, score=score, seed=component_seed(job.seed, "learner"),
                                 progress=lambda s, d, n: progress(f"train {cfg.model} [{source}]", d, n))
        train_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        context = {**job.context(), "n_labelled": len(train_cases)}
        rows, pairs = [], {}
        codes = self._label_codes()
        for target in spec.domains:
            if target == source:
                continue
            cases = self._domain_cases(ctx, target, spec.test_images)
            preds, refs = [], []
            for k, case in enumerate(cases):
                preds.append(detect_image(detector, ctx.task.adapter.open_image(case), size=t.size,
                                          overlap=t.overlap, merge_iou=t.merge_iou))
                refs.append(self.references(ctx, case))
                progress(f"detect [{target}]", k + 1, len(cases))
            scores = pair_scores(preds, refs, radius=spec.f1_radius, threshold=spec.f1_threshold)
            region = f"{source}_to_{target}"
            pairs[region] = {**scores, "n_images": len(cases), "images": cases,
                             "n_detections": int(sum(len(p["boxes"]) for p in preds)),
                             "n_references": int(sum(len(r["boxes"]) for r in refs))}
            note = (f"pooled over {len(cases)} whole images of {target} (tiles {t.size} px, overlap {t.overlap}, "
                    f"NMS {t.merge_iou}); F1: TP {scores['tp']}, FP {scores['fp']}, FN {scores['fn']}")
            for metric in METRICS:
                rows.append({**context, "case": ALL_CASES, "group": "", "region": region, "metric": metric,
                             "value": float(scores[metric]), "note": note})
        return {"rows": rows, "train_log": train_log, "n_labelled": len(train_cases), "source": source,
                "train_images": train_cases, "val_images": val_cases, "n_train_tiles": len(x),
                "image_subsets": {"train_images": spec.train_images, "test_images": spec.test_images},
                "pairs": pairs, "labels": dict(zip(spec.detect, codes)),
                "evaluation": "whole images re-assembled from tiles (detections mapped back, merged by NMS)",
                "timings": {"train_s": train_s, "test_s": time.perf_counter() - t0}}

    def _mean_job(self, job: Job, deps: dict[str, dict]) -> dict:
        rows = []
        pairs = {k: v for d in deps.values() for k, v in d["pairs"].items()}
        for metric in METRICS:
            values = [float(p[metric]) for p in pairs.values() if not math.isnan(float(p[metric]))]
            rows.append({**job.context(), "n_labelled": max(d["n_labelled"] for d in deps.values()), "case": ALL_CASES, "group": "", "region": "mean",
                         "metric": metric, "value": float(np.mean(values)) if values else math.nan,
                         "note": f"unweighted mean over {len(values)} (source, target) pairs: {', '.join(pairs)} "
                                 "(harness addition; paper 11 reports no mean)"})
        return {"rows": rows, "pairs": sorted(pairs)}
