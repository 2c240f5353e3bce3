"""Holdout: train on ``train``, select the checkpoint on ``val``, score on ``test``; one job per seed."""

from __future__ import annotations

import time

from mbench.config.schema import HoldoutSpec
from mbench.inference.overlap import predict_and_score, prediction_batches
from mbench.models.capabilities import Progress
from mbench.models.registry import create_model, get_model_entry
from mbench.protocols.base import EvaluationProtocol, Job, RunContext, component_seed
from mbench.protocols.scoring import aggregate_primary
from mbench.protocols.strata import strata_rows

__all__ = ["HoldoutProtocol"]


class HoldoutProtocol(EvaluationProtocol[HoldoutSpec]):
    """The ``holdout`` protocol (one job per seed); the run's model is the learner."""

    def run_job(self, job: Job, ctx: RunContext, deps: dict[str, dict], progress: Progress) -> dict:
        cfg = self.config
        t0 = time.perf_counter()
        learner = create_model(get_model_entry(cfg.model), cfg.model_params, cfg.run.device)
        train_log = learner.fit(ctx.model_inputs(ctx.train), ctx.task.targets(ctx.train),
                                ctx.model_inputs(ctx.val), ctx.task.targets(ctx.val),
                                score=lambda p, t: aggregate_primary(cfg.task, p, t),
                                seed=component_seed(job.seed, "learner"),
                                progress=lambda s, d, t: progress(f"train {cfg.model}", d, t))
        train_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        pred, rows = predict_and_score(prediction_batches(learner, ctx.model_inputs(ctx.test)), cfg.task,
                                       ctx.test.ids, ctx.test.groups, ctx.task.targets(ctx.test),
                                       {**job.context(), "n_labelled": len(ctx.train)}, ctx.test.labelmaps,
                                       ctx.test.spacing)
        rows += strata_rows(cfg.task, rows, ctx.test.ids, ctx.test.attrs,
                            {**job.context(), "n_labelled": len(ctx.train)})
        return {"rows": rows, "train_log": train_log, "n_labelled": len(ctx.train),
                "timings": {"train_s": train_s, "test_s": time.perf_counter() - t0},
                "predictions": pred.round(6).tolist() if pred.ndim == 2 else None}
