"""K-fold rotation over the manifest's folds: train on the other folds, test on one; a job per (seed, fold).

The checkpoint is selected on a validation set carved out of the training folds: a seeded
``val_fraction`` of their groups (patients, or images where there are none), so that no group is in
both. The test fold is never seen before testing. Every case is tested exactly once per seed, so
the score rows of all folds together are the cross-validated per-case scores; their ``n_labelled``
is the size of the whole rotation (the same in every fold, so that summaries pool the folds) and each
job records its own training, validation and test sizes.
"""

from __future__ import annotations

import time

import numpy as np

from mbench.config.schema import KFoldSpec
from mbench.data.slices import SliceSet
from mbench.errors import MbenchError
from mbench.models.capabilities import Progress
from mbench.models.registry import create_model, get_model_entry
from mbench.protocols.base import EvaluationProtocol, Job, RunContext, component_seed, normalise_images
from mbench.protocols.scoring import aggregate_primary, score_rows
from mbench.protocols.strata import strata_rows

__all__ = ["KFoldProtocol", "concat_sets", "carve_validation"]


def concat_sets(sets: list[SliceSet]) -> SliceSet:
    """One :class:`SliceSet` holding the samples of several, in order.

    Example:
        >>> a = SliceSet(["x"], ["x"], np.zeros((1, 2, 2), np.float32), None, np.zeros((1, 2, 2), np.uint8))
        >>> concat_sets([a, a]).ids
        ['x', 'x']
    """
    sets = [s for s in sets if len(s)]
    if not sets:
        raise MbenchError("no samples to concatenate", fix="check that the training folds are not empty")
    spacing = None if any(s.spacing is None for s in sets) else np.concatenate([s.spacing for s in sets])
    keys = set.intersection(*(set(s.attrs) for s in sets))
    return SliceSet([i for s in sets for i in s.ids], [g for s in sets for g in s.groups],
                    np.concatenate([s.images for s in sets]),
                    None if any(s.aux is None for s in sets) else np.concatenate([s.aux for s in sets]),
                    np.concatenate([s.labelmaps for s in sets]), spacing,
                    {k: [v for s in sets for v in s.attrs[k]] for k in sorted(keys)})


def carve_validation(groups: list[str], fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Positions of (training, validation) samples: a seeded ``fraction`` of the groups (at least one) is validation.

    Example:
        >>> train, val = carve_validation(["p1", "p1", "p2", "p3", "p4"], 0.25, seed=0)
        >>> len(train) + len(val), len({["p1", "p1", "p2", "p3", "p4"][i] for i in val})
        (5, 1)
    """
    unique = sorted(set(groups))
    if len(unique) < 2:
        raise MbenchError("the training folds hold fewer than two groups: no validation set can be carved out",
                          found=f"{len(unique)} group(s)", fix="use more data, or drop --limit")
    n_val = min(max(1, int(round(fraction * len(unique)))), len(unique) - 1)
    chosen = {unique[i] for i in np.random.default_rng(seed).choice(len(unique), n_val, replace=False)}
    is_val = np.asarray([g in chosen for g in groups])
    return np.flatnonzero(~is_val), np.flatnonzero(is_val)


class KFoldProtocol(EvaluationProtocol[KFoldSpec]):
    """The ``kfold`` protocol; the run's model is the learner."""

    def jobs(self) -> list[Job]:
        return [Job(self.key(seed, fold), self.config.task.id, self.config.model, seed, k)
                for seed in self.spec.seeds for k, fold in enumerate(self.spec.folds)]

    @staticmethod
    def key(seed: int, fold: str) -> str:
        return f"seed{seed}-{fold}"

    def splits_to_load(self) -> list[str]:
        return list(self.spec.folds)

    def _inputs(self, ctx: RunContext, sets: dict[str, SliceSet], train: SliceSet) -> dict[str, np.ndarray]:
        mode = self.config.task.preprocessing.normalise
        stats = (float(train.images.mean()), float(train.images.std() + 1e-8)) if mode == "train_zscore" else (0, 1)
        return {name: normalise_images(s.images, mode, stats) for name, s in sets.items()}

    def run_job(self, job: Job, ctx: RunContext, deps: dict[str, dict], progress: Progress) -> dict:
        cfg, spec = self.config, self.spec
        test_fold = spec.folds[job.fold]
        test = ctx.split(test_fold)
        pool = concat_sets([ctx.split(f) for f in spec.folds if f != test_fold])
        train_pos, val_pos = carve_validation(pool.groups, spec.val_fraction,
                                              component_seed(job.seed, "kfold-val", job.fold))
        train, val = pool.take(train_pos), pool.take(val_pos)
        inputs = self._inputs(ctx, {"train": train, "val": val, "test": test}, train)
        n_rotation = sum(len(ctx.split(f)) for f in spec.folds)
        context = {**job.context(), "n_labelled": n_rotation}

        t0 = time.perf_counter()
        learner = create_model(get_model_entry(cfg.model), cfg.model_params, cfg.run.device)
        train_log = learner.fit(inputs["train"], ctx.task.targets(train), inputs["val"], ctx.task.targets(val),
                                score=lambda p, t: aggregate_primary(cfg.task, p, t),
                                seed=component_seed(job.seed, "learner", job.fold),
                                progress=lambda s, d, t: progress(f"train {cfg.model} ({test_fold} held out)", d, t))
        train_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        pred = learner.predict(inputs["test"])
        rows = score_rows(cfg.task, test.ids, test.groups, pred, ctx.task.targets(test), context, test.labelmaps,
                          test.spacing)
        rows += strata_rows(cfg.task, rows, test.ids, test.attrs, context)
        return {"rows": rows, "train_log": train_log, "n_labelled": n_rotation, "test_fold": test_fold,
                "train_folds": [f for f in spec.folds if f != test_fold], "n_train": len(train), "n_val": len(val),
                "n_test": len(test), "val_ids": val.ids,
                "timings": {"train_s": train_s, "test_s": time.perf_counter() - t0}}
