"""The ``super_image`` protocol (paper 24): k-fold CV of 2D networks on super images, scored in 3D.

Per (grid, seed, fold) job: the cases of the other folds (a seeded, group-aware ``val_fraction`` of them kept for
checkpoint selection) are prepared (:mod:`mbench.data.volume_prep`), tiled into one super image each
(:mod:`mbench.data.super_image`) and a 2D learner (any registered segmentation learner, e.g. ``unet_ronneberger``)
is trained on them; every case of the held-out fold is tiled, segmented, reassembled exactly and scored in 3D with
the prepared volume's spacing (Dice, HD95 in mm, ...). Cells of the grid beyond the last slice are padded with
zeros and dropped on reassembly. Training reads the super images case by case (:class:`SuperImageStack`), so
memory holds one batch of cases, the validation predictions and one test case at a time.

A volumetric learner (a :class:`~mbench.models.capabilities.VolumeSegmenter`, a model registered for
``volume_segmentation`` such as ``unet3d``) runs on the same prepared volumes instead (patch training, sliding
window), in one job per (seed, fold): the paper's 3D counterpart. With ``efficiency: true`` the first
fold job of each (grid, seed) adds dataset-level rows ``n_parameters`` and ``flops`` of the network at the real
input size (one super image, or one volume), counted by :func:`mbench.metrics.functional.flops` on a meta-device
copy. With one grid the rows carry no region; with several (the grid-shape sweep) each row's region is
``grid=<rows>x<cols>``.
"""

from __future__ import annotations

import copy
import time
from typing import Any

import numpy as np

from mbench.config.schema import SuperImageSpec
from mbench.data.super_image import SuperImageGrid, parse_grid, tile, untile
from mbench.data.volume_prep import PreparedVolumes
from mbench.data.volumes import VolumeSource, indices_to_labels
from mbench.errors import MbenchError
from mbench.models.capabilities import Progress
from mbench.models.registry import create_model, get_model_entry
from mbench.paths import cache_dir
from mbench.protocols.base import EvaluationProtocol, Job, RunContext, component_seed
from mbench.protocols.kfold import carve_validation
from mbench.metrics.registry import get_metric
from mbench.protocols.scoring import ALL_CASES, aggregate_primary, case_score, score_rows
from mbench.tasks.targets import make_targets

__all__ = ["SuperImageProtocol", "SuperImageStack", "is_volumetric", "prepared_split", "network_efficiency"]

VOLUMETRIC = "3d"


def is_volumetric(entry: Any) -> bool:
    """Whether a registered model is a volumetric segmenter (:class:`~mbench.models.capabilities.VolumeSegmenter`:
    ``fit(train, val, classes=..., score=...)`` on lazily loaded volumes, ``predict_proba`` per volume)."""
    return "volume_segmentation" in getattr(entry, "problems", ())


class SuperImageStack:
    """The super images (``labels=False``: (C, rows*H, cols*W) float32) or target masks of prepared cases, lazily.

    Indexing with an int gives one array, with a slice a stacked numpy batch, with an index tensor / array a torch
    batch (what :func:`mbench.models.baselines.training.fit_supervised` draws). Nothing is kept between calls.
    """

    lazy = True

    def __init__(self, volumes: PreparedVolumes, grid: str, *, labels: bool = False,
                 target: str = "foreground", label_codes: dict[str, int] | None = None) -> None:
        self.volumes, self.grid, self.labels = volumes, grid, labels
        self.target, self.label_codes = target, dict(label_codes or {})

    def __len__(self) -> int:
        return len(self.volumes)

    def grid_for(self, depth: int) -> SuperImageGrid:
        return parse_grid(self.grid, depth)

    def item(self, k: int) -> np.ndarray:
        case = self.volumes.load(self.volumes.ids[k])
        grid = self.grid_for(case.image.shape[1])
        if self.labels:
            codes = indices_to_labels(np.asarray(case.labelmap), self.label_codes)
            return tile(make_targets(self.target, codes[None], self.label_codes)[0], grid)
        return tile(np.asarray(case.image, np.float32), grid)

    def _stack(self, positions: list[int]) -> np.ndarray:
        items = [self.item(k) for k in positions]
        shapes = {a.shape for a in items}
        if len(shapes) > 1:
            raise MbenchError("prepared cases differ in size, so their super images cannot be batched",
                              found=f"super-image shapes {sorted(shapes)[:3]}",
                              fix="set protocol.prep.crop or protocol.prep.resize so that every case has one shape")
        return np.stack(items)

    def __getitem__(self, key):
        if isinstance(key, (int, np.integer)):
            return self.item(int(key))
        if isinstance(key, slice):
            return self._stack(list(range(len(self)))[key])
        import torch

        positions = [int(i) for i in np.asarray(key.cpu() if isinstance(key, torch.Tensor) else key).reshape(-1)]
        return torch.as_tensor(self._stack(positions))

    def __iter__(self):
        return (self.item(k) for k in range(len(self)))


def prepared_split(ctx: RunContext, spec: SuperImageSpec, ids: list[str]) -> PreparedVolumes:
    """The prepared cases ``ids`` (cached under ``<cache>/super_image/<key>``), read one at a time."""
    from mbench.tasks.volumes import split_volumes

    task = ctx.task
    if task.spec.volume is None:
        raise MbenchError(f"task {task.spec.id} has no volume block", expected="volume: {channels: [...]}",
                          fix="add a volume block naming the input channels to the card")
    if "_super_image_base" not in ctx.__dict__:  # the card's volume preprocessing and cache, from the first fold
        ctx.__dict__["_super_image_base"] = split_volumes(task, spec.folds[0])
    base = ctx.__dict__["_super_image_base"]
    source = VolumeSource(base.adapter, ids, channels=base.channels, labels=base.labels, normalise=base.normalise,
                          target_spacing=base.target_spacing, cache=base.cache)
    key = PreparedVolumes.cache_key(str(source.cache), task.spec.volume.channels, spec.prep)
    return PreparedVolumes(source, task.spec.volume.channels, spec.prep, cache_dir() / "super_image" / key)


def network_efficiency(net: Any, input_shape: tuple[int, ...]) -> dict[str, Any]:
    """Parameters and FLOPs of ``net`` for one input of ``input_shape`` (batch of one), counted on the meta device.

    Example:
        >>> import torch
        >>> network_efficiency(torch.nn.Conv2d(2, 4, 3, padding=1), (2, 8, 8))["flops"] == 2 * 4 * 2 * 9 * 64
        True
    """
    import torch

    from mbench.metrics import functional as F

    meta = copy.deepcopy(net).to("meta")
    return {"n_parameters": F.count_parameters(net),
            "flops": F.flops(meta, torch.empty((1, *input_shape), device="meta")),
            "input_shape": [1, *input_shape]}


class SuperImageProtocol(EvaluationProtocol[SuperImageSpec]):
    """The ``super_image`` protocol; the run's model is the learner (2D on super images, or volumetric)."""

    def _volumetric_model(self) -> bool:
        return is_volumetric(get_model_entry(self.config.model))

    def grids(self) -> list[str]:
        return [VOLUMETRIC] if self._volumetric_model() else list(self.spec.grids)

    def jobs(self) -> list[Job]:
        return [Job(self.key(grid, seed, fold), self.config.task.id, self.config.model, seed, k)
                for grid in self.grids() for seed in self.spec.seeds for k, fold in enumerate(self.spec.folds)]

    @staticmethod
    def key(grid: str, seed: int, fold: str) -> str:
        return f"grid{grid}-seed{seed}-{fold}"

    def splits_to_load(self) -> list[str]:
        return []  # cases are read lazily, one at a time

    def _region(self, grid: str) -> str:
        return "" if grid == VOLUMETRIC or len(self.spec.grids) == 1 else f"grid={grid}"

    def run_job(self, job: Job, ctx: RunContext, deps: dict[str, dict], progress: Progress) -> dict:
        cfg, spec, task = self.config, self.spec, ctx.task
        grid = job.key.split("-seed")[0].removeprefix("grid")
        test_fold = spec.folds[job.fold]
        pool_ids = [c for f in spec.folds if f != test_fold for c in task.split_ids(f)]  # --limit: per fold
        test_ids = task.split_ids(test_fold)
        groups = task.adapter.groups()
        train_pos, val_pos = carve_validation([groups[c] for c in pool_ids], spec.val_fraction,
                                              component_seed(job.seed, "kfold-val", job.fold))
        train_ids, val_ids = [pool_ids[i] for i in train_pos], [pool_ids[i] for i in val_pos]
        train = prepared_split(ctx, spec, train_ids)
        val = prepared_split(ctx, spec, val_ids)
        test = prepared_split(ctx, spec, test_ids)
        n_rotation = sum(len(task.split.ids(f)) for f in spec.folds)
        context = {**job.context(), "n_labelled": n_rotation}
        learner = create_model(get_model_entry(cfg.model), cfg.model_params, cfg.run.device)
        stage = f"train {cfg.model} ({test_fold} held out{'' if grid == VOLUMETRIC else f', grid {grid}'})"
        t0 = time.perf_counter()
        if grid == VOLUMETRIC:
            primary = get_metric(cfg.task.metrics.primary)

            def score3d(pred: np.ndarray, ref: np.ndarray, spacing: tuple) -> float:
                value = case_score(primary.id, np.asarray(pred) > 0, np.asarray(ref) > 0, cfg.task, spacing)[0]
                return value if primary.higher_is_better else -value

            train_log = learner.fit(train, val, classes=len(task.spec.labels) + 1, score=score3d,
                                    seed=component_seed(job.seed, "learner", job.fold),
                                    progress=lambda s, d, t: progress(stage, d, t))
        else:
            stacks = {name: (SuperImageStack(v, grid), SuperImageStack(v, grid, labels=True, target=task.spec.target,
                                                                       label_codes=task.spec.labels))
                      for name, v in (("train", train), ("val", val))}
            val_targets = np.stack(list(stacks["val"][1]))
            train_log = learner.fit(stacks["train"][0], stacks["train"][1], stacks["val"][0], val_targets,
                                    score=lambda p, t: aggregate_primary(cfg.task, p, t),
                                    seed=component_seed(job.seed, "learner", job.fold),
                                    progress=lambda s, d, t: progress(stage, d, t))
        train_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        rows, first_shape, grid_name = self._score_fold(cfg, task, learner, test, grid, context)
        region = self._region(grid)
        for row in rows:
            row["region"] = region
        if spec.efficiency and job.fold == 0:
            rows += self._efficiency_rows(learner, first_shape, grid_name, region, context)
        return {"rows": rows, "train_log": train_log, "n_labelled": n_rotation, "test_fold": test_fold, "grid": grid_name,
                "train_folds": [f for f in spec.folds if f != test_fold], "n_train": len(train), "n_val": len(val),
                "n_test": len(test), "val_ids": val_ids,
                "timings": {"train_s": train_s, "test_s": time.perf_counter() - t0}}

    def _score_fold(self, cfg, task, learner, test: PreparedVolumes, grid: str, context: dict
                    ) -> tuple[list[dict], tuple[int, ...], str]:
        """Segment, reassemble and score every test case, one at a time."""
        rows: list[dict] = []
        first_shape: tuple[int, ...] = ()
        grid_name = grid
        groups = task.adapter.groups()
        for case_id in test.ids:
            case = test.load(case_id)
            image = np.asarray(case.image, np.float32)
            if grid == VOLUMETRIC:
                pred = indices_to_labels(np.asarray(learner.predict_proba(image)).argmax(0), task.spec.labels)
                pred = make_targets(task.spec.target, pred[None], task.spec.labels)[0]
                net_shape = image.shape
            else:
                layout = parse_grid(grid, image.shape[1])
                grid_name = layout.name
                super_image = tile(image, layout)
                pred = untile(learner.predict(super_image[None])[0], layout)
                net_shape = super_image.shape
            first_shape = first_shape or tuple(net_shape)
            codes = indices_to_labels(np.asarray(case.labelmap), task.spec.labels)
            target = make_targets(task.spec.target, codes[None], task.spec.labels)
            rows += score_rows(cfg.task, [case_id], [groups.get(case_id, case_id)], pred[None], target, context,
                               codes[None], np.asarray([case.spacing], float))
        return rows, first_shape, grid_name

    @staticmethod
    def _efficiency_rows(learner, shape: tuple[int, ...], grid_name: str, region: str, context: dict) -> list[dict]:
        net = getattr(learner, "net", None)
        if net is None:
            return []
        eff = network_efficiency(net, shape)
        what = "volume" if grid_name == VOLUMETRIC else f"super image {grid_name}"
        note = f"one {what}, input {tuple(eff['input_shape'])}; FLOPs: multiply-add = 2, torch flop_counter"
        return [{**context, "case": ALL_CASES, "group": "", "region": region, "metric": metric, "value": eff[metric],
                 "note": note} for metric in ("n_parameters", "flops")]
