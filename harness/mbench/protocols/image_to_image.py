"""``image_to_image``: paired image-to-image holdout (MRI -> SPR maps, blind CT super-resolution).

One job per seed: an :class:`~mbench.models.capabilities.ImageTranslator` trains on the ``train`` pairs (its
checkpoint chosen on ``val``), predicts every ``test`` case in the target's units, one case at a time, and each
case is scored with the card's metrics (:mod:`mbench.protocols.image_scoring`). Cases are read lazily through
:class:`~mbench.data.paired.PairedCases`, so 3D volumes are never all in memory.

Targets: the adapter's reference, clipped and scaled by ``target_window`` when the card sets one, and zeroed
outside ``target_mask`` (e.g. the couch removed from SPR maps). Inputs: the adapter's channels named by
``inputs``, or, with a ``degradation`` chain, inputs synthesised from the targets: on the fly for training (a
fresh draw per sample, from the job's seed) and once for val and test, frozen to files
(:mod:`mbench.data.frozen`) under the cache, the test manifest checked against the card's pin. Every model
reads those same files.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from typing import Any

import numpy as np

from mbench.config.image_schema import ImageToImageSpec
from mbench.data.degradation import degrade, degrade_case
from mbench.data.frozen import FrozenInputs, freeze_inputs
from mbench.data.paired import PairedCases
from mbench.errors import MbenchError
from mbench.models.capabilities import Progress
from mbench.models.registry import create_model, get_model_entry
from mbench.protocols.base import EvaluationProtocol, Job, RunContext, component_seed
from mbench.protocols.image_scoring import image_case_rows, selection_score

__all__ = ["ImageToImageProtocol", "target_transform"]

log = logging.getLogger(__name__)


def target_transform(image: np.ndarray, window: tuple[float, float] | None) -> np.ndarray:
    """Clip to ``window`` and scale to [0, 1] (e.g. HU [-1024, 1024]); unchanged when ``window`` is None.

    Example:
        >>> target_transform(np.array([-2000.0, 0.0, 2000.0]), (-1024, 1024)).tolist()
        [0.0, 0.5, 1.0]
    """
    image = np.asarray(image, dtype=np.float32)
    if window is None:
        return image
    lo, hi = window
    return ((np.clip(image, lo, hi) - lo) / (hi - lo)).astype(np.float32)


class ImageToImageProtocol(EvaluationProtocol[ImageToImageSpec]):
    """The ``image_to_image`` protocol; the run's model is an ImageTranslator."""

    def splits_to_load(self) -> list[str]:
        return []  # cases are read lazily, one at a time

    # ---- data -------------------------------------------------------------------------------------------------
    def _target(self, ctx: RunContext, case: str) -> np.ndarray:
        spec = self.spec
        ref = target_transform(ctx.task.adapter.load_reference(case), spec.target_window)
        if spec.target_mask is not None:
            ref = np.where(self._mask(ctx, case, spec.target_mask), ref, 0).astype(np.float32)
        return ref

    @staticmethod
    def _mask(ctx: RunContext, case: str, name: str) -> np.ndarray:
        adapter = ctx.task.adapter
        if not hasattr(adapter, "load_mask"):
            raise MbenchError(f"adapter {ctx.config.task.data.adapter!r} provides no masks", found=name,
                              fix="remove the mask from the card's protocol block")
        return adapter.load_mask(case, name)

    def _stored_input(self, ctx: RunContext, case: str) -> np.ndarray:
        adapter = ctx.task.adapter
        if hasattr(adapter, "load_channels"):
            return adapter.load_channels(case, self.spec.inputs)
        channels = adapter.load_input(case)
        missing = [c for c in self.spec.inputs if c not in channels]
        if missing:
            raise MbenchError(f"case {case}: input channels {missing} not provided by the adapter",
                              expected=", ".join(self.spec.inputs), found=", ".join(channels))
        return np.stack([channels[c] for c in self.spec.inputs]).astype(np.float32)

    def frozen(self, ctx: RunContext, split: str) -> FrozenInputs:
        """The frozen degraded inputs of a split (made on first use), the test set checked against the card's pin."""
        deg = self.spec.degradation
        assert deg is not None
        ids = ctx.task.split_ids(split)
        chain = deg.model_dump(mode="json", exclude={"frozen", "notes"})
        key = hashlib.sha256(json.dumps({"chain": chain, "window": self.spec.target_window,
                                         "mask": self.spec.target_mask, "ids": ids,
                                         "data": ctx.task.adapter.data_hash(ids)}, sort_keys=True).encode())
        from mbench.paths import cache_dir

        folder = cache_dir() / "frozen" / ctx.config.task.id / f"{split}-{key.hexdigest()[:16]}"
        fz = freeze_inputs(folder, ids, lambda c: degrade_case(self._target(ctx, c), deg, c))
        if split == "test" and ctx.task.limit is None:
            pin = deg.frozen.real if ctx.task.data_source == "real" else deg.frozen.standin
            fz.check_pin(pin, f"task {ctx.config.task.id} ({ctx.task.data_source} data, {split})")
            if pin is None:
                log.warning("the frozen test inputs of %s are not pinned in the card; their manifest sha256 is %s "
                            "(pin it as protocol.degradation.frozen.%s)", ctx.config.task.id, fz.manifest_sha256,
                            ctx.task.data_source if ctx.task.data_source == "real" else "standin")
        return fz

    def pairs(self, ctx: RunContext, split: str) -> PairedCases:
        """The lazily read pairs of a split."""
        ids = ctx.task.split_ids(split)
        spec = self.spec
        mask = (lambda c: self._mask(ctx, c, spec.target_mask)) if spec.target_mask else None

        def target(case: str) -> np.ndarray:
            return self._target(ctx, case)

        if spec.degradation is None:
            return PairedCases(ids, lambda c: self._stored_input(ctx, c), target, mask)
        deg = spec.degradation
        if split == "train":
            return PairedCases(ids, None, target, mask, synthesise=lambda img, rng: degrade(img, deg, rng)[None])
        fz = self.frozen(ctx, split)
        return PairedCases(ids, lambda c: fz.load(c)[None], target, mask)

    # ---- the job ----------------------------------------------------------------------------------------------
    def run_job(self, job: Job, ctx: RunContext, deps: dict[str, dict], progress: Progress) -> dict:
        cfg, spec = self.config, self.spec
        train, val, test = (self.pairs(ctx, s) for s in ("train", "val", "test"))
        t0 = time.perf_counter()
        model = create_model(get_model_entry(cfg.model), cfg.model_params, cfg.run.device)
        train_log = model.fit(train, val, score=lambda p, t: selection_score(cfg.task, p, t),
                              seed=component_seed(job.seed, "learner"),
                              progress=lambda s, d, t: progress(f"train {cfg.model}", d, t))
        train_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        groups = ctx.task.adapter.groups()
        context = {**job.context(), "n_labelled": len(train)}
        rows: list[dict[str, Any]] = []
        for i, case in enumerate(test.ids):
            pred = np.asarray(model.predict(test.input(i)), dtype=np.float32)
            masks = {m: self._mask(ctx, case, m) for m in spec.masks}
            rows += image_case_rows(cfg.task, case, groups.get(case, case), pred, test.target(i), masks, context)
            progress(f"predict {cfg.model}", i + 1, len(test))
        frozen = ({s: self.frozen(ctx, s).manifest_sha256 for s in ("val", "test")}
                  if spec.degradation is not None else None)
        return {"rows": rows, "train_log": train_log, "n_labelled": len(train), "frozen_manifests": frozen,
                "timings": {"train_s": train_s, "test_s": time.perf_counter() - t0}}
