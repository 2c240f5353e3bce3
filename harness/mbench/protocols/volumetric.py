"""Volumetric protocols: 3D models trained on patches, test volumes scored whole in mm, one case in memory at a time.

``volumetric_holdout``: per seed, a model trains on ``train`` (checkpoint chosen on ``val``) and every ``test``
case is predicted with the sliding window and scored.

``fold_ensemble`` (paper 1's nnU-Net / Auto3DSeg setting): per seed and training fold, a model trains on the
other folds and selects its checkpoint on that fold; its weights are saved under the run folder
(``checkpoints/<job>.pt``). A final job per seed loads the fold models and averages their softmax
probabilities on every test case (argmax of the mean), then scores the ensemble.

Predictions are made on the model's grid (the card's ``volume.target_spacing``, or native) and the
probabilities resampled (linear) back to the native grid, where the reference is scored with its native
spacing (:mod:`mbench.protocols.volume_scoring`). Every job records the case attributes of the test cases
(e.g. stroke subtype) so that subgroup statistics can be computed from the results alone
(:func:`mbench.stats.subgroups.load_subgroup_scores`).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from mbench.config.schema import FoldEnsembleSpec, VolumetricHoldoutSpec
from mbench.data.volumes import VolumeSource, indices_to_labels, resample
from mbench.errors import MbenchError
from mbench.models.capabilities import Progress, VolumeSegmenter
from mbench.models.registry import create_model, get_model_entry
from mbench.protocols.base import EvaluationProtocol, Job, RunContext, SpecT, component_seed
from mbench.protocols.volume_scoring import volume_case_rows, volume_summary_rows
from mbench.results.store import ResultsStore
from mbench.tasks.volumes import class_names, split_volumes

__all__ = [
    "FoldEnsembleProtocol",
    "VolumetricHoldoutProtocol",
    "ensemble_probabilities",
    "evaluate_volumes",
    "validation_score",
]


def ensemble_probabilities(models: Sequence[VolumeSegmenter], image: np.ndarray) -> np.ndarray:
    """The mean of the models' softmax probabilities (classes, D, H, W) on one image (C, D, H, W).

    Example:
        >>> class Fixed:
        ...     def __init__(self, p): self.p = np.asarray(p, np.float32)
        ...     def predict_proba(self, image): return self.p
        >>> ensemble_probabilities([Fixed([[[[0.2]]], [[[0.8]]]]), Fixed([[[[0.6]]], [[[0.4]]]])], None).ravel().tolist()
        [0.4000000059604645, 0.6000000238418579]
    """
    total = None
    for model in models:
        p = np.asarray(model.predict_proba(image), dtype=np.float32)
        total = p.copy() if total is None else total + p
    if total is None:
        raise MbenchError("an ensemble needs at least one model")
    return total / len(models)


def validation_score(task) -> Callable[[np.ndarray, np.ndarray, tuple], float]:
    """Checkpoint selection: the primary metric averaged over the regions present in the reference (higher is better).

    Inputs are class-index maps of one case and its spacing.
    """
    from mbench.metrics.functional import region_scores
    from mbench.metrics.registry import get_metric

    metric = task.metrics.primary
    sign = 1.0 if get_metric(metric).higher_is_better else -1.0
    regions = task.region_codes()

    def score(prediction: np.ndarray, reference: np.ndarray, spacing: tuple) -> float:
        pred, ref = indices_to_labels(prediction, task.labels), indices_to_labels(reference, task.labels)
        present = {r: c for r, c in regions.items() if np.isin(ref, c).any()}
        if not present:
            return float("nan")
        values = [v[metric] for v in region_scores(pred, ref, regions=present, metrics=[metric],
                                                   spacing=spacing).values()]
        finite = [v for v in values if np.isfinite(v)]
        return sign * float(np.mean(finite)) if finite else -np.inf
    return score


def evaluate_volumes(task, source: VolumeSource, models: Sequence[VolumeSegmenter], context: dict[str, Any],
                     progress: Progress) -> tuple[list[dict], dict[str, dict[str, str]]]:
    """Score rows of every case of ``source`` (ensemble of ``models``) and the cases' attributes."""
    spec = task.spec
    rows: list[dict] = []
    groups = task.adapter.groups()
    attrs = {c: source.attrs(c) for c in source.ids}
    for k, case_id in enumerate(source.ids):
        case = source.load(case_id)
        probs = ensemble_probabilities(models, np.asarray(case.image))
        reference, spacing = source.native(case_id)
        if probs.shape[1:] != reference.shape:
            probs = resample(probs, case.spacing, spacing, order=1, shape=reference.shape)
        prediction = indices_to_labels(probs.argmax(0), spec.labels)
        del probs, case
        rows += volume_case_rows(spec, case_id, groups.get(case_id, case_id), prediction, reference, spacing, context)
        progress("test", k + 1, len(source))
    keys = sorted({key for a in attrs.values() for key in a})
    lists = {key: [attrs[c].get(key, "") for c in source.ids] for key in keys}
    rows += volume_summary_rows(spec, rows, source.ids, lists, context)
    return rows, attrs


class _Volumetric(EvaluationProtocol[SpecT]):
    """Shared parts: lazy sources, model creation, checkpoint folder."""

    def splits_to_load(self) -> list[str]:
        return []  # volumes are read lazily, case by case (the manifest is still checked by the runner)

    def job_stages(self, job: Job) -> int:
        return 2

    def source(self, ctx: RunContext, *splits: str) -> VolumeSource:
        """The cases of one or several manifest splits (pooled) as a lazy source."""
        sources = [split_volumes(ctx.task, s) for s in splits]
        if len(sources) == 1:
            return sources[0]
        ids = [c for s in sources for c in s.ids]
        return VolumeSource(sources[0].adapter, ids, channels=sources[0].channels, labels=sources[0].labels,
                            normalise=sources[0].normalise, target_spacing=sources[0].target_spacing,
                            cache=sources[0].cache)

    def model(self) -> VolumeSegmenter:
        cfg = self.config
        model = create_model(get_model_entry(cfg.model), cfg.model_params, cfg.run.device)
        if not isinstance(model, VolumeSegmenter):
            raise MbenchError(f"model {cfg.model!r} is not a volume segmenter",
                              expected="fit(train, val, classes=..., ...), predict_proba(image), save(path), load(path)",
                              found=type(model).__name__, fix="pick one of the task's models (`mbench ls tasks`)")
        return model

    def checkpoint(self, job: Job) -> Path:
        folder = ResultsStore(self.config.run.out).folder(self.config.run_id).path / "checkpoints"
        folder.mkdir(parents=True, exist_ok=True)
        return folder / f"{job.key}.pt"

    def train(self, ctx: RunContext, job: Job, train: VolumeSource, val: VolumeSource | None, seed: int,
              progress: Progress) -> tuple[VolumeSegmenter, dict]:
        model = self.model()
        log = model.fit(train, val, classes=len(class_names(ctx.task)), score=validation_score(ctx.task.spec),
                        seed=seed, progress=lambda s, d, t: progress(f"train {self.config.model}", d, t))
        return model, log


class VolumetricHoldoutProtocol(_Volumetric[VolumetricHoldoutSpec]):
    """The ``volumetric_holdout`` protocol (one job per seed)."""

    def run_job(self, job: Job, ctx: RunContext, deps: dict[str, dict], progress: Progress) -> dict:
        train, val, test = self.source(ctx, "train"), self.source(ctx, "val"), self.source(ctx, "test")
        t0 = time.perf_counter()
        model, log = self.train(ctx, job, train, val, component_seed(job.seed, "learner"), progress)
        train_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        context = {**job.context(), "n_labelled": len(train)}
        rows, attrs = evaluate_volumes(ctx.task, test, [model], context, progress)
        return {"rows": rows, "train_log": log, "n_labelled": len(train), "case_attributes": attrs,
                "timings": {"train_s": train_s, "test_s": time.perf_counter() - t0}}


class FoldEnsembleProtocol(_Volumetric[FoldEnsembleSpec]):
    """The ``fold_ensemble`` protocol."""

    def jobs(self) -> list[Job]:
        out = []
        for seed in self.spec.seeds:
            folds = [Job(f"seed{seed}-{f}", self.config.task.id, self.config.model, seed, k)
                     for k, f in enumerate(self.spec.folds)]
            out += folds
            out.append(Job(f"seed{seed}-ensemble", self.config.task.id, self.config.model, seed,
                           depends_on=tuple(j.key for j in folds)))
        return out

    def run_job(self, job: Job, ctx: RunContext, deps: dict[str, dict], progress: Progress) -> dict:
        if job.fold is not None:
            return self._fold(job, ctx, progress)
        return self._ensemble(job, ctx, deps, progress)

    def _fold(self, job: Job, ctx: RunContext, progress: Progress) -> dict:
        fold = self.spec.folds[job.fold]
        train = self.source(ctx, *[f for f in self.spec.folds if f != fold])
        val = self.source(ctx, fold)
        model, log = self.train(ctx, job, train, val, component_seed(job.seed, "learner", job.fold), progress)
        path = self.checkpoint(job)
        model.save(path)
        return {"rows": [], "train_log": log, "fold": fold, "n_train": len(train), "n_val": len(val),
                "checkpoint": path.name, "checkpoint_sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
                "timings": {"train_s": log.get("seconds")}}

    def _ensemble(self, job: Job, ctx: RunContext, deps: dict[str, dict], progress: Progress) -> dict:
        models = []
        for key in job.depends_on:
            path = self.checkpoint(Job(key, job.task, job.model, job.seed))
            if not path.exists() or hashlib.sha256(path.read_bytes()).hexdigest() != deps[key]["checkpoint_sha256"]:
                raise MbenchError(f"fold model {key} is missing or changed", expected=str(path),
                                  fix="rerun with --fresh (the fold jobs write their checkpoints under the run folder)")
            model = self.model()
            model.load(path)
            models.append(model)
        test = self.source(ctx, self.spec.test)
        n_train = sum(len(self.source(ctx, f)) for f in self.spec.folds)
        context = {**job.context(), "n_labelled": n_train}
        t0 = time.perf_counter()
        rows, attrs = evaluate_volumes(ctx.task, test, models, context, progress)
        return {"rows": rows, "members": list(job.depends_on), "n_labelled": n_train, "case_attributes": attrs,
                "timings": {"test_s": time.perf_counter() - t0}}
