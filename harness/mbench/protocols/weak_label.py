"""Iterative weak-label refinement (paper 3): pre-train on a source dataset, then refine warped weak masks.

Jobs per seed:

* ``seed<s>-pretrain``: the learner trained on the source domain (``protocol.source``: train, checkpoint on val)
  and scored on the source test split (``source_test`` in the result; not score rows).
* ``seed<s>-iter0``: masks(0) = the weak masks, the card's true masks warped by :func:`weak_masks` (seeded per
  sample id) for the target's train, val and test samples; rows score masks(0) on test against the truth.
* ``seed<s>-iter<k>``, k = 1..iterations: fine-tune a fresh copy of the pre-trained model (``reinit: pretrained``,
  the paper) or round k-1's model (``continue``) for ``finetune_epochs`` on the train images (plus the test images
  when ``transductive``) with masks(k-1) as labels, checkpoint selected on val against masks(k-1) (the truth is
  never used for training or selection); predict masks(k) on every split; rows score test masks(k) vs the truth.

Rows have ``round`` = k (0 = the weak masks) and ``n_labelled`` = the number of fine-tuning images. Each result
records the sha256 of the labels it trained on and of the masks it produced, so the chain can be audited.
"""

from __future__ import annotations

import base64
import time
import zlib

import numpy as np

from mbench.config.schema import WarpSpec, WeakLabelSpec
from mbench.models.capabilities import Progress
from mbench.models.registry import create_model, get_model_entry
from mbench.protocols.base import EvaluationProtocol, Job, RunContext, component_seed
from mbench.protocols.scoring import aggregate_primary, score_rows
from mbench.protocols.transfer import array_sha256, domain_config, state_from_text, state_to_text, train_learner

__all__ = ["SPLITS", "WeakLabelRefinementProtocol", "apply_warp", "warp_coordinates", "weak_masks"]

SPLITS = ("train", "val", "test")


def warp_coordinates(shape: tuple[int, int], warp: WarpSpec, rng: np.random.Generator) -> np.ndarray:
    """Sampling coordinates (2, H, W) of one random affine + elastic warp (output pixel -> source position)."""
    from scipy.ndimage import gaussian_filter

    h, w = shape
    angle = np.deg2rad(rng.uniform(-warp.rotate_deg, warp.rotate_deg))
    scale = rng.uniform(1 - warp.scale, 1 + warp.scale)
    shift = rng.uniform(-warp.translate, warp.translate, 2) * np.asarray([h, w])
    dy = gaussian_filter(rng.uniform(-1, 1, shape), warp.elastic_sigma, mode="constant") * warp.elastic_alpha
    dx = gaussian_filter(rng.uniform(-1, 1, shape), warp.elastic_sigma, mode="constant") * warp.elastic_alpha
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    cy, cx = (h - 1) / 2, (w - 1) / 2
    py, px = yy - cy - shift[0], xx - cx - shift[1]
    cos, sin = np.cos(angle) / scale, np.sin(angle) / scale
    return np.stack([cos * py - sin * px + cy + dy, sin * py + cos * px + cx + dx])


def apply_warp(mask: np.ndarray, coords: np.ndarray) -> np.ndarray:
    """A binary mask resampled at ``coords`` (bilinear, thresholded at 0.5), uint8."""
    from scipy.ndimage import map_coordinates

    return (map_coordinates(mask.astype(np.float32), coords, order=1, mode="constant") >= 0.5).astype(np.uint8)


def weak_masks(masks: np.ndarray, ids: list[str], warp: WarpSpec, seed: int) -> np.ndarray:
    """The weak mask of each (N, H, W) binary mask: a warp seeded by (seed, crc32 of the sample id)."""
    out = np.empty_like(masks, dtype=np.uint8)
    for i, (mask, sid) in enumerate(zip(masks, ids)):
        rng = np.random.default_rng([seed, zlib.crc32(sid.encode())])
        out[i] = apply_warp(mask > 0, warp_coordinates(mask.shape, warp, rng))
    return out


def _pack(masks: np.ndarray) -> dict:
    return {"shape": list(masks.shape), "bits": base64.b64encode(np.packbits(masks.astype(bool))).decode("ascii"),
            "sha256": array_sha256(masks.astype(np.uint8))}


def _unpack(packed: dict) -> np.ndarray:
    n = int(np.prod(packed["shape"]))
    bits = np.unpackbits(np.frombuffer(base64.b64decode(packed["bits"]), np.uint8))[:n]
    return bits.reshape(packed["shape"]).astype(np.uint8)


class WeakLabelRefinementProtocol(EvaluationProtocol[WeakLabelSpec]):
    """The ``weak_label_refinement`` protocol; the run's model is the learner."""

    def jobs(self) -> list[Job]:
        out = []
        task, model = self.config.task.id, self.config.model
        for s in self.spec.seeds:
            pre = Job(f"seed{s}-pretrain", task, model, s)
            out += [pre, Job(f"seed{s}-iter0", task, model, s, round=0)]
            for k in range(1, self.spec.iterations + 1):
                out.append(Job(f"seed{s}-iter{k}", task, model, s, round=k, depends_on=(pre.key, f"seed{s}-iter{k - 1}")))
        return out

    def source(self) -> RunContext:
        if "_source" not in self.__dict__:
            self.__dict__["_source"] = RunContext(domain_config(self.config, self.spec.source))
        return self.__dict__["_source"]

    def _rows(self, job: Job, ctx: RunContext, pred: np.ndarray, n: int, note: str) -> list[dict]:
        rows = score_rows(self.config.task, ctx.test.ids, ctx.test.groups, pred, ctx.task.targets(ctx.test),
                          {**job.context(), "n_labelled": n}, ctx.test.labelmaps, ctx.test.spacing)
        for row in rows:
            row["note"] = f"{row['note']}; {note}" if row.get("note") else note
        return rows

    def run_job(self, job: Job, ctx: RunContext, deps: dict[str, dict], progress: Progress) -> dict:
        cfg, spec = self.config, self.spec
        score = lambda p, t: aggregate_primary(cfg.task, p, t)
        if job.key.endswith("-pretrain"):
            src = self.source()
            learner = create_model(get_model_entry(cfg.model), cfg.model_params, cfg.run.device)
            log = learner.fit(src.model_inputs(src.train), src.task.targets(src.train), src.model_inputs(src.val),
                              src.task.targets(src.val), score=score, seed=component_seed(job.seed, "learner"),
                              progress=lambda s, d, t: progress(f"pretrain {cfg.model}", d, t))
            test = float(score(learner.predict(src.model_inputs(src.test)), src.task.targets(src.test)))
            return {"rows": [], "train_log": log, "source_test": {cfg.task.metrics.primary: test},
                    "state": state_to_text(learner.net.state_dict())}
        k = int(job.round or 0)
        if k == 0:
            seed = component_seed(job.seed, "weak")
            masks = {n: weak_masks(ctx.task.targets(ctx.split(n)), ctx.split(n).ids, spec.warp, seed) for n in SPLITS}
            rows = self._rows(job, ctx, masks["test"], 0, "round=0; weak masks (warped truth)")
            return {"rows": rows, "masks": {n: _pack(m) for n, m in masks.items()},
                    "dice_vs_truth": float(score(masks["test"], ctx.task.targets(ctx.test)))}
        prev = deps[f"seed{job.seed}-iter{k - 1}"]
        labels = {n: _unpack(prev["masks"][n]) for n in SPLITS}
        fit_splits = ["train", "test"] if spec.transductive else ["train"]
        x = np.concatenate([ctx.model_inputs(ctx.split(n)) for n in fit_splits])
        y = np.concatenate([labels[n] for n in fit_splits])
        init_text = prev["state"] if spec.reinit == "continue" and k > 1 else deps[f"seed{job.seed}-pretrain"]["state"]
        learner = create_model(get_model_entry(cfg.model), cfg.model_params, cfg.run.device)
        t0 = time.perf_counter()
        log = train_learner(learner, x, y, ctx.model_inputs(ctx.val), labels["val"], score=score,
                            seed=component_seed(job.seed, "refine", k),
                            progress=lambda s, d, t: progress(f"refine round {k}", d, t),
                            init_state=state_from_text(init_text), freeze=spec.freeze, epochs=spec.finetune_epochs)
        masks = {n: learner.predict(ctx.model_inputs(ctx.split(n))).astype(np.uint8) for n in SPLITS}
        rows = self._rows(job, ctx, masks["test"], len(x),
                          f"round={k}; fine-tuned on masks({k - 1}) of {'+'.join(fit_splits)}")
        out = {"rows": rows, "train_log": log, "masks": {n: _pack(m) for n, m in masks.items()},
               "trained_on": {"splits": fit_splits, "labels_sha256": array_sha256(y),
                              "from_round": k - 1, "init": "continue" if init_text is prev.get("state") else "pretrained"},
               "transductive": spec.transductive, "n_labelled": len(x),
               "dice_vs_truth": float(score(masks["test"], ctx.task.targets(ctx.test))),
               "timings": {"train_s": time.perf_counter() - t0}}
        if spec.reinit == "continue":
            out["state"] = state_to_text(learner.net.state_dict())
        return out

    def job_stages(self, job: Job) -> int:
        return 1
