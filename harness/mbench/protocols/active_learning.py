"""Pool-based active learning (M-VAAL protocol).

For each seed: round 0 labels ``initial_size`` random training images; every round retrains the
learner from scratch on the labelled pool (checkpoint chosen on the validation set by the primary
metric), scores it on the test set, then asks the sampler for ``budget`` more ids. The sampler sees
a :class:`SamplerView`: pool images (main and auxiliary modality, cropped and resized as the card
says) and the labelled/unlabelled ids, never the targets of unlabelled images.

Jobs are (seed, round); round r depends on round r - 1 of the same seed, seeds are independent.
"""

from __future__ import annotations

import time

import numpy as np
from scipy import ndimage

from mbench.config.schema import ActiveLearningSpec, SamplerInputSpec
from mbench.errors import MbenchError
from mbench.models.capabilities import Progress, SamplerView
from mbench.models.registry import create_model, get_model_entry
from mbench.protocols.base import EvaluationProtocol, Job, RunContext, component_seed
from mbench.protocols.scoring import aggregate_primary, score_rows

__all__ = ["ActiveLearningProtocol", "sampler_images"]


def sampler_images(images: np.ndarray, spec: SamplerInputSpec) -> np.ndarray:
    """Centre-crop each (N, H, W) image to ``crop_fraction`` of its side and resize to ``image_size``."""
    if images.size == 0:
        return images
    h, w = images.shape[1:]
    ch, cw = int(round(h * spec.crop_fraction)), int(round(w * spec.crop_fraction))
    top, left = (h - ch) // 2, (w - cw) // 2
    crop = images[:, top:top + ch, left:left + cw]
    zoom = (1, spec.image_size / ch, spec.image_size / cw)
    return ndimage.zoom(crop, zoom, order=1, grid_mode=True, mode="nearest").astype(np.float32)


def _validate_selection(selected: list[str], unlabelled: tuple[str, ...], n: int, sampler: str) -> list[str]:
    selected = [str(s) for s in selected]
    pool = set(unlabelled)
    bad = [s for s in selected if s not in pool]
    expected_n = min(n, len(unlabelled))
    if bad or len(set(selected)) != len(selected) or len(selected) != expected_n:
        raise MbenchError(f"sampler {sampler!r} returned an invalid selection",
                          expected=f"{expected_n} distinct ids from the unlabelled pool",
                          found=f"{len(selected)} ids, {len(set(selected))} distinct, {len(bad)} not unlabelled "
                                f"(e.g. {bad[:3]})", fix="fix the sampler's query()")
    return sorted(selected)


class ActiveLearningProtocol(EvaluationProtocol[ActiveLearningSpec]):
    """The ``active_learning`` protocol; the run's model is the sampler."""

    def jobs(self) -> list[Job]:
        out = []
        for seed in self.spec.seeds:
            for r in range(self.spec.rounds + 1):
                deps = (self.key(seed, r - 1),) if r else ()
                out.append(Job(self.key(seed, r), self.config.task.id, self.config.model, seed, None, r, deps))
        return out

    @staticmethod
    def key(seed: int, round_: int) -> str:
        return f"seed{seed}-round{round_}"

    def job_stages(self, job: Job) -> int:
        return 2 if job.round < self.spec.rounds else 1

    def _initial(self, ctx: RunContext, seed: int) -> list[str]:
        ids = ctx.train.ids
        if self.spec.initial_size > len(ids):
            raise MbenchError(f"initial labelled set of {self.spec.initial_size} exceeds the training pool",
                              expected=f"at most {len(ids)} (the pool size)", found=str(self.spec.initial_size),
                              fix="lower protocol.initial_size or drop --limit")
        rng = np.random.default_rng(component_seed(seed, "initial"))
        return sorted(ids[i] for i in rng.choice(len(ids), self.spec.initial_size, replace=False))

    def run_job(self, job: Job, ctx: RunContext, deps: dict[str, dict], progress: Progress) -> dict:
        spec, cfg = self.spec, self.config
        timings: dict[str, float] = {}
        if job.round == 0:
            labelled = self._initial(ctx, job.seed)
        else:
            prev = deps[self.key(job.seed, job.round - 1)]
            labelled = sorted(set(prev["labelled_ids"]) | set(prev["selected_ids"]))
        train, pos = ctx.train, ctx.train.positions(labelled)
        inputs = ctx.model_inputs(train)
        targets = ctx.task.targets(train)
        val_targets = ctx.task.targets(ctx.val)

        t0 = time.perf_counter()
        learner = create_model(get_model_entry(cfg.learner), cfg.learner_params, cfg.run.device)
        train_log = learner.fit(inputs[pos], targets[pos], ctx.model_inputs(ctx.val), val_targets,
                                score=lambda p, t: aggregate_primary(cfg.task, p, t),
                                seed=component_seed(job.seed, "learner"),
                                progress=lambda s, d, t: progress(f"train {cfg.learner}", d, t))
        timings["train_s"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        test_pred = learner.predict(ctx.model_inputs(ctx.test))
        rows = score_rows(cfg.task, ctx.test.ids, ctx.test.groups, test_pred, ctx.task.targets(ctx.test),
                          {**job.context(), "n_labelled": len(labelled)}, ctx.test.labelmaps, ctx.test.spacing)
        timings["test_s"] = time.perf_counter() - t0

        selected: list[str] = []
        if job.round < spec.rounds:
            t0 = time.perf_counter()
            view = self.sampler_view(ctx, labelled, targets)
            sampler = create_model(get_model_entry(cfg.model), cfg.model_params, cfg.run.device)
            chosen = sampler.query(view, spec.budget, seed=component_seed(job.seed, "sampler", job.round),
                                   progress=lambda s, d, t: progress(f"sample {cfg.model}", d, t))
            selected = _validate_selection(chosen, view.unlabelled_ids, spec.budget, cfg.model)
            timings["sampler_s"] = time.perf_counter() - t0
        return {"rows": rows, "labelled_ids": labelled, "selected_ids": selected, "n_labelled": len(labelled),
                "train_log": train_log, "timings": timings,
                "predictions": test_pred.round(6).tolist() if test_pred.ndim == 2 else None}

    def sampler_view(self, ctx: RunContext, labelled: list[str], targets: np.ndarray) -> SamplerView:
        """The sampler's view of the pool: images, ids, and targets of labelled samples only."""
        train = ctx.train
        cache = ctx.__dict__.setdefault("_sampler_images", {})
        if "main" not in cache:
            cache["main"] = sampler_images(train.images, self.spec.sampler_input)
            cache["aux"] = None if train.aux is None else sampler_images(train.aux, self.spec.sampler_input)
        pos = train.positions(labelled)
        return SamplerView(tuple(train.ids), tuple(labelled), cache["main"], cache["aux"],
                           {i: targets[p] for i, p in zip(labelled, pos)})
