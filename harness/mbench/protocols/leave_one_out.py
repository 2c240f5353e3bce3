"""Leave-one-out cross-validation over procedure instances (paper 12's TON procedure classification).

For each group of the split (a procedure video: the adapter's groups), a fresh sequence classifier is fitted on
every other group and predicts the held-out one; the held-out group is checked absent from the training set before
fitting, so a procedure instance never crosses train and test. Accuracy-type metrics are computed over the pooled
held-out predictions (each instance predicted exactly once); the separability metrics
(``max_within_class_distance``, ``min_between_class_distance``, ``class_separation_margin``) over the classifier's
representation of all instances (vocabulary from all of them: the paper's Fig. 4a analysis, which uses no
classifier). The job also returns the confusion matrix and each instance's prediction.
"""

from __future__ import annotations

import time

import numpy as np

from mbench.config.schema import LeaveOneOutSpec
from mbench.errors import MbenchError
from mbench.metrics.functional import confusion_matrix
from mbench.metrics.registry import get_metric
from mbench.models.capabilities import Progress, SequenceClassifier
from mbench.models.registry import create_model, get_model_entry
from mbench.protocols.base import EvaluationProtocol, Job, RunContext, component_seed
from mbench.protocols.feature_eval import class_codes
from mbench.protocols.scoring import ALL_CASES

__all__ = ["LeaveOneOutProtocol", "leave_one_out_folds", "REPRESENTATION_METRICS"]

REPRESENTATION_METRICS = ("max_within_class_distance", "min_between_class_distance", "class_separation_margin")


def leave_one_out_folds(groups: list[str]) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(held-out group, training positions, test positions) per distinct group, in sorted group order.

    Example:
        >>> [(g, tr.tolist(), te.tolist()) for g, tr, te in leave_one_out_folds(["a", "b", "a"])]
        [('a', [1], [0, 2]), ('b', [0, 2], [1])]
    """
    arr = np.asarray(groups)
    if len(set(groups)) < 2:
        raise MbenchError("leave-one-out needs at least two groups", found=f"{len(set(groups))} group(s)")
    return [(g, np.flatnonzero(arr != g), np.flatnonzero(arr == g)) for g in sorted(set(groups))]


class LeaveOneOutProtocol(EvaluationProtocol[LeaveOneOutSpec]):
    """The ``leave_one_out`` protocol; the run's model is a :class:`~mbench.models.capabilities.SequenceClassifier`."""

    def splits_to_load(self) -> list[str]:
        return []

    def _model(self) -> SequenceClassifier:
        cfg = self.config
        model = create_model(get_model_entry(cfg.model), cfg.model_params, cfg.run.device)
        if not isinstance(model, SequenceClassifier):
            raise MbenchError(f"model {cfg.model!r} is not a sequence classifier",
                              expected="fit / predict / represent over action sequences", fix="use ton_svm")
        return model

    def run_job(self, job: Job, ctx: RunContext, deps: dict[str, dict], progress: Progress) -> dict:
        cfg = self.config
        adapter, labels = ctx.task.adapter, cfg.task.labels
        ids = ctx.task.split_ids(self.spec.split)
        sequences = [list(adapter.load_input(c)["actions"]) for c in ids]
        y = class_codes(adapter, ids, labels)
        group_of = adapter.groups()
        groups = [group_of.get(c, c) for c in ids]
        scores = np.zeros((len(ids), len(labels)))
        folds = leave_one_out_folds(groups)
        t0 = time.perf_counter()
        for k, (held_out, train, test) in enumerate(folds):
            if held_out in {groups[i] for i in train}:
                raise MbenchError(f"group {held_out!r} is in the training set of its own fold")
            model = self._model()
            model.fit([sequences[i] for i in train], y[train], n_classes=len(labels),
                      seed=component_seed(job.seed, "learner", k))
            scores[test] = model.predict([sequences[i] for i in test])
            progress("leave-one-out", k + 1, len(folds))
        fit_s = time.perf_counter() - t0
        vectors = self._model().represent(sequences)
        context = {**job.context(), "n_labelled": len(ids) - 1}
        rows = []
        for metric_id in cfg.task.metrics.report:
            fn = get_metric(metric_id).fn
            value = fn(vectors, y) if metric_id in REPRESENTATION_METRICS else fn(scores, y)
            rows.append({**context, "case": ALL_CASES, "group": "", "region": "", "metric": metric_id,
                         "value": float(value), "note": f"leave-one-out over {len(folds)} instances"})
        predicted = scores.argmax(axis=1)
        return {"rows": rows, "n_labelled": len(ids) - 1, "n_folds": len(folds),
                "confusion_matrix": confusion_matrix(predicted, y, n_classes=len(labels)).tolist(),
                "predictions": {c: {"true": int(t), "predicted": int(p)} for c, t, p in zip(ids, y, predicted)},
                "timings": {"train_s": fit_s, "test_s": 0.0}}
