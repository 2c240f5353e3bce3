"""Unsupervised source separation judged by two-class separation of per-image criteria (paper 18); one job per seed.

Every image of the card's ``splits`` is separated on its own by a
:class:`~mbench.models.capabilities.SourceSeparator` (nothing is trained, so there is no train / test split); its
per-image criteria (e.g. ``C_melanin``, ``B_red``) become scores of the positive class (label 1, e.g. melanoma). Each
report metric is computed per criterion (rows with ``region`` = the criterion) and once more, unregioned, for the
card's headline ``criterion``. The job result keeps every image's criteria, mixing matrix and the per-class box
statistics (min, Q1, median, Q3, max) that the paper plots.
"""

from __future__ import annotations

import time

import numpy as np

from mbench.config.schema import SeparationEvalSpec
from mbench.errors import MbenchError
from mbench.metrics.registry import get_metric
from mbench.models.capabilities import Progress, SourceSeparator
from mbench.models.registry import create_model, get_model_entry
from mbench.protocols.base import EvaluationProtocol, Job, RunContext, component_seed
from mbench.protocols.feature_eval import class_codes
from mbench.protocols.scoring import ALL_CASES
from mbench.tasks.task import seeded_subset

__all__ = ["SeparationEvalProtocol", "box_statistics"]


def box_statistics(values: np.ndarray) -> dict[str, float]:
    """min, Q1, median, Q3, max (linear interpolation), as in a box plot with min-max whiskers.

    Example:
        >>> box_statistics(np.array([1.0, 2.0, 3.0, 4.0, 5.0]))["q1"]
        2.0
    """
    q = np.percentile(np.asarray(values, dtype=float), [0, 25, 50, 75, 100])
    return dict(zip(("min", "q1", "median", "q3", "max"), map(float, q)))


class SeparationEvalProtocol(EvaluationProtocol[SeparationEvalSpec]):
    """The ``separation_eval`` protocol; the run's model is a source separator."""

    def splits_to_load(self) -> list[str]:
        return []  # images are separated one at a time

    def run_job(self, job: Job, ctx: RunContext, deps: dict[str, dict], progress: Progress) -> dict:
        cfg, spec = self.config, self.spec
        ids = seeded_subset([c for name in spec.splits for c in ctx.task.split.ids(name)], ctx.task.limit)
        model = create_model(get_model_entry(cfg.model), cfg.model_params, cfg.run.device)
        if not isinstance(model, SourceSeparator):
            raise MbenchError(f"model {cfg.model!r} is not a source separator",
                              expected="separate(image, seed=...) (mbench.models.capabilities.SourceSeparator)")
        adapter = ctx.task.adapter
        labels = class_codes(adapter, ids, cfg.task.labels)
        per_image, mixing = {}, {}
        t0 = time.perf_counter()
        for k, case in enumerate(ids):
            result = model.separate(adapter.load_input(case)["image"], seed=component_seed(job.seed, "separator", k))
            per_image[case] = {name: float(v) for name, v in result["criteria"].items()}
            mixing[case] = np.asarray(result["mixing"]).round(6).tolist()
            progress(f"separate ({cfg.model})", k + 1, len(ids))
        seconds = time.perf_counter() - t0
        names = list(next(iter(per_image.values())))
        if spec.criterion not in names:
            raise MbenchError(f"criterion {spec.criterion!r} is not produced by {cfg.model!r}",
                              expected=", ".join(names))
        context = {**job.context(), "n_labelled": 0}
        rows = []
        for region, name in [("", spec.criterion), *((n, n) for n in names)]:  # headline unregioned, then each
            scores = np.asarray([per_image[c][name] for c in ids])
            for metric_id in cfg.task.metrics.report:
                rows.append({**context, "case": ALL_CASES, "group": "", "region": region, "metric": metric_id,
                             "value": float(get_metric(metric_id).fn(scores, labels)),
                             "note": f"criterion {name} as the score of label 1, over {len(ids)} images"})
        boxes = {name: {str(cls): box_statistics(np.asarray([per_image[c][name] for c, y in zip(ids, labels)
                                                             if y == cls]))
                        for cls in sorted(set(labels.tolist()))} for name in names}
        return {"rows": rows, "train_log": {"n_parameters": None}, "n_images": len(ids), "ids": ids,
                "labels": labels.tolist(), "criteria": per_image, "mixing": mixing, "boxes": boxes,
                "timings": {"train_s": 0.0, "test_s": seconds, "separate_s_per_image": seconds / max(len(ids), 1)}}
