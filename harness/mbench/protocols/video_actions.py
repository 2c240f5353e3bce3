"""Multi-head video action recognition with withheld test labels (paper 16); one job per seed.

The classifier trains on the ``train`` clips with their verb / noun / action labels, selects its checkpoint on
``val`` and predicts the ``test`` clips, which it receives as frames only: the adapter refuses test labels, and the
organiser's label file is opened by :mod:`mbench.protocols.withheld` after the last prediction. Without that file
(a user of the public release) the job stores the test predictions and its rows are NaN with a note
(predictions-only).

Frames: ``n_frames`` per clip, the centres of equal segments (deterministic), resized to ``frame_size``; clips are
read lazily per batch. The job also reports how many test clips come from a video that has training clips (the
paper's clip-level split lets a video's clips fall on both sides).
"""

from __future__ import annotations

import math
import time

import numpy as np

from mbench.config.schema import VideoActionSpec
from mbench.data.video import VideoClips
from mbench.errors import MbenchError
from mbench.models.capabilities import Progress, VideoClassifier, check_video_scores
from mbench.models.registry import create_model, get_model_entry
from mbench.protocols.base import EvaluationProtocol, Job, RunContext, component_seed
from mbench.protocols.scoring import ALL_CASES
from mbench.protocols.withheld import WithheldLabels, locate_withheld_labels, score_clip_predictions

__all__ = ["VideoActionProtocol", "action_from_verb_noun", "PREDICTIONS_ONLY"]

PREDICTIONS_ONLY = "test labels withheld: predictions stored in the job result, unscored"


def action_from_verb_noun(verb: np.ndarray, noun: np.ndarray, pairs: np.ndarray) -> np.ndarray:
    """Action scores P(verb) * P(noun) of each valid (verb, noun) pair, renormalised: (N, n_actions).

    Example:
        >>> action_from_verb_noun(np.array([[0.8, 0.2]]), np.array([[0.5, 0.5]]), np.array([[0, 1], [1, 0]])).tolist()
        [[0.8, 0.2]]
    """
    joint = verb[:, pairs[:, 0]] * noun[:, pairs[:, 1]]
    return joint / np.maximum(joint.sum(axis=1, keepdims=True), 1e-12)


class VideoActionProtocol(EvaluationProtocol[VideoActionSpec]):
    """The ``video_actions`` protocol; the run's model is a :class:`~mbench.models.capabilities.VideoClassifier`."""

    def splits_to_load(self) -> list[str]:
        return []  # clips are read lazily, batch by batch

    def _clips(self, ctx: RunContext, ids: list[str]) -> VideoClips:
        n, size, adapter = self.spec.n_frames, self.spec.frame_size, ctx.task.adapter
        return VideoClips(ids, lambda c: adapter.clip_frames(c, n, size), (n, 3, size, size))

    def _labels(self, ctx: RunContext, ids: list[str]) -> dict[str, np.ndarray]:
        heads = list(self.config.task.labels)  # head -> position in the adapter's reference vector
        refs = np.stack([np.asarray(ctx.task.adapter.load_reference(c)).ravel() for c in ids])
        return {h: refs[:, self.config.task.labels[h]].astype(np.int64) for h in heads}

    def _check_heads(self, ctx: RunContext) -> dict[str, int]:
        declared = dict(self.spec.heads)
        if set(declared) != set(self.config.task.labels):
            raise MbenchError("protocol.heads and labels must name the same heads",
                              expected=str(sorted(self.config.task.labels)), found=str(sorted(declared)))
        found = ctx.task.adapter.n_classes()
        wrong = {h: found.get(h) for h, k in declared.items() if found.get(h) != k}
        if wrong:
            raise MbenchError("the dataset's class tables do not have the card's class counts",
                              expected=str(declared), found=str({**declared, **wrong}),
                              fix="point data.root at the complete release (its verb / noun / action class files)")
        return declared

    def run_job(self, job: Job, ctx: RunContext, deps: dict[str, dict], progress: Progress) -> dict:
        cfg, spec = self.config, self.spec
        n_classes = self._check_heads(ctx)
        ids = {name: ctx.task.split_ids(name) for name in ("train", "val", "test")}
        model = create_model(get_model_entry(cfg.model), cfg.model_params, cfg.run.device)
        if not isinstance(model, VideoClassifier):
            raise MbenchError(f"model {cfg.model!r} is not a video classifier",
                              expected="fit(clips, targets, ...) / predict(clips) -> {head: scores}")
        train_heads = dict(n_classes)
        if spec.action_scores == "verb_noun":
            train_heads.pop("action", None)
        t0 = time.perf_counter()
        log = model.fit(self._clips(ctx, ids["train"]), {h: y for h, y in self._labels(ctx, ids["train"]).items()
                                                         if h in train_heads},
                        self._clips(ctx, ids["val"]), {h: y for h, y in self._labels(ctx, ids["val"]).items()
                                                       if h in train_heads},
                        n_classes=train_heads, seed=component_seed(job.seed, "learner"),
                        progress=lambda s, d, t: progress(f"train {cfg.model}", d, t))
        train_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        test_ids = ids["test"]
        scores = check_video_scores(model.predict(self._clips(ctx, test_ids)), len(test_ids), train_heads)
        if spec.action_scores == "verb_noun":
            scores["action"] = action_from_verb_noun(scores["verb"], scores["noun"], ctx.task.adapter.action_pairs())
        attrs = ctx.task.adapter.case_attributes()
        train_videos = {attrs[c]["video"] for c in ids["train"]}
        shared = sum(attrs[c]["video"] in train_videos for c in test_ids)
        label_file = locate_withheld_labels(spec.withheld_labels, ctx.task.data_root)
        context = {**job.context(), "n_labelled": len(ids["train"])}
        if label_file is None:  # predictions-only: the scores are unknown here, not zero
            rows = [{**context, "case": ALL_CASES, "group": "", "region": head, "metric": metric_id,
                     "value": math.nan, "note": PREDICTIONS_ONLY} for head in scores
                    for metric_id in cfg.task.metrics.report]
        else:
            rows = score_clip_predictions(scores, test_ids, WithheldLabels(label_file),
                                          list(cfg.task.metrics.report), context, by=spec.by)
        return {"rows": rows, "train_log": log, "n_labelled": len(ids["train"]),
                "n_clips": {k: len(v) for k, v in ids.items()},
                "scoring": (f"withheld labels: {label_file}" if label_file else
                            "predictions only: no withheld label file (test rows are scored by the organiser)"),
                "test_clips_from_training_videos": int(shared),
                "predictions": {"clip_ids": test_ids, **{h: s.round(5).tolist() for h, s in scores.items()}},
                "timings": {"train_s": train_s, "test_s": time.perf_counter() - t0}}
