"""Window classification of multichannel signals (EEG, paper 14): one job per (seed, window length).

Each recording of the manifest's ``train`` / ``val`` / ``test`` splits is cut into consecutive windows of
``window_s`` seconds (stride ``window_s - overlap_s``; a trailing partial window is dropped), so a window never
straddles two recordings and every window inherits its recording's split. Whether subjects may recur across splits is
the split manifest's business: the subject-disjoint cards group by subject and the manifest check refuses any
subject in two splits before a job starts; the protocol re-checks the subjects of its windows. Channels are z-scored
with the training windows' statistics. Scores: dataset-level metrics over test windows (region ``window=<w>s``) and
per-subject accuracies in the job result.
"""

from __future__ import annotations

import time

import numpy as np

from mbench.config.schema import SignalWindowsSpec
from mbench.errors import MbenchError
from mbench.metrics.registry import get_metric
from mbench.models.capabilities import Progress, SignalLearner
from mbench.models.registry import create_model, get_model_entry
from mbench.protocols.base import EvaluationProtocol, Job, RunContext, component_seed
from mbench.protocols.feature_eval import class_codes
from mbench.protocols.scoring import ALL_CASES

__all__ = ["SignalWindowsProtocol", "cut_windows", "window_label"]


def window_label(seconds: float) -> str:
    """Region label of a window length, e.g. ``window=5s``."""
    return f"window={seconds:g}s"


def cut_windows(signal: np.ndarray, length: int, stride: int) -> np.ndarray:
    """(n, C, length) consecutive windows of a (C, T) recording; the trailing partial window is dropped.

    Example:
        >>> cut_windows(np.arange(10.0)[None], 4, 3)[:, 0].tolist()
        [[0.0, 1.0, 2.0, 3.0], [3.0, 4.0, 5.0, 6.0], [6.0, 7.0, 8.0, 9.0]]
    """
    if length < 1 or stride < 1:
        raise MbenchError("window length and stride must be positive", found=f"{length}, {stride}")
    starts = np.arange(0, signal.shape[1] - length + 1, stride)
    return np.stack([signal[:, s:s + length] for s in starts]) if starts.size else np.zeros(
        (0, signal.shape[0], length), signal.dtype)


class SignalWindowsProtocol(EvaluationProtocol[SignalWindowsSpec]):
    """The ``signal_windows`` protocol; the run's model is a :class:`~mbench.models.capabilities.SignalLearner`."""

    def jobs(self) -> list[Job]:
        return [Job(f"seed{seed}-{window_label(w)}", self.config.task.id, self.config.model, seed, k)
                for seed in self.spec.seeds for k, w in enumerate(self.spec.window_s)]

    def splits_to_load(self) -> list[str]:
        return []

    def _windows(self, ctx: RunContext, split: str, seconds: float) -> tuple[np.ndarray, np.ndarray, list[str],
                                                                             list[str]]:
        adapter, labels = ctx.task.adapter, self.config.task.labels
        ids = ctx.task.split_ids(split)
        codes = class_codes(adapter, ids, labels)
        subjects = adapter.case_attributes()
        xs, ys, recs, subs = [], [], [], []
        for case, code in zip(ids, codes):
            fs = adapter.sampling_rate(case)
            length = int(round(seconds * fs))
            stride = int(round((seconds - self.spec.overlap_s) * fs))
            windows = cut_windows(adapter.load_input(case)["eeg"], length, stride)
            xs.append(windows)
            ys += [int(code)] * len(windows)
            recs += [case] * len(windows)
            subs += [subjects.get(case, {}).get("subject", case)] * len(windows)
        if not xs or sum(len(x) for x in xs) == 0:
            raise MbenchError(f"no {seconds:g} s windows in split {split!r}", fix="use shorter windows or more data")
        return np.concatenate(xs).astype(np.float32), np.asarray(ys, dtype=np.int64), recs, subs

    def run_job(self, job: Job, ctx: RunContext, deps: dict[str, dict], progress: Progress) -> dict:
        cfg, spec = self.config, self.spec
        seconds = spec.window_s[job.fold]
        region = window_label(seconds)
        data = {name: self._windows(ctx, name, seconds) for name in ("train", "val", "test")}
        owners: dict[str, str] = {}
        group_of = ctx.task.adapter.groups()
        for name, (_, _, recs, _) in data.items():  # the manifest check, repeated on the windows themselves
            for rec in set(recs):
                group = group_of.get(rec, rec)
                if owners.setdefault(group, name) != name:
                    raise MbenchError(f"group {group!r} has windows in splits {owners[group]!r} and {name!r}",
                                      fix="regenerate the split manifest grouped by the adapter's groups")
        x_train = data["train"][0]
        mean = x_train.mean(axis=(0, 2), keepdims=True)
        std = x_train.std(axis=(0, 2), keepdims=True) + 1e-6
        norm = {name: (d[0] - mean) / std for name, d in data.items()}
        model = create_model(get_model_entry(cfg.model), cfg.model_params, cfg.run.device)
        if not isinstance(model, SignalLearner):
            raise MbenchError(f"model {cfg.model!r} is not a signal classifier", expected="eegnet, deepconvnet, ...")
        t0 = time.perf_counter()
        log = model.fit(norm["train"], data["train"][1], norm["val"], data["val"][1], n_classes=len(cfg.task.labels),
                        seed=component_seed(job.seed, "learner", job.fold),
                        progress=lambda s, d, t: progress(f"train {cfg.model} ({region})", d, t))
        train_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        proba = model.predict(norm["test"])
        y_test, _, subs = data["test"][1], data["test"][2], data["test"][3]
        context = {**job.context(), "n_labelled": len(x_train)}
        rows = [{**context, "case": ALL_CASES, "group": "", "region": region, "metric": m,
                 "value": float(get_metric(m).fn(proba, y_test)), "note": f"over {len(y_test)} test windows"}
                for m in cfg.task.metrics.report]
        hits = proba.argmax(axis=1) == y_test
        per_subject = {s: float(hits[np.asarray(subs) == s].mean()) for s in sorted(set(subs))}
        return {"rows": rows, "train_log": log, "n_labelled": len(x_train), "window_s": seconds,
                "n_windows": {k: int(len(d[1])) for k, d in data.items()},
                "subjects": {k: sorted(set(d[3])) for k, d in data.items()}, "per_subject_accuracy": per_subject,
                "chance": 1.0 / len(cfg.task.labels),
                "timings": {"train_s": train_s, "test_s": time.perf_counter() - t0}}
