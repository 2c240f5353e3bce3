"""Feature models (features, then a classical classifier): holdout or k-fold over manifest splits; one job per
(seed, test split).

Each image's feature vector is computed once and cached under ``<cache>/features/<extractor key>/``, keyed by the
sha256 of the case's files, so every classifier with the same extractor settings (and every seed and fold) reuses
it. The model is fitted on the training rows only (``rebalance: smote`` is applied there, inside the model's fit);
the test rows reach the model only through ``predict``. Targets are the adapter's integer class code per image
(the card's ``target: class_code``).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable

import numpy as np

from mbench.config.schema import FeatureEvalSpec
from mbench.data.adapter import DatasetAdapter
from mbench.errors import MbenchError
from mbench.models.capabilities import FeatureModel, Progress
from mbench.models.registry import create_model, get_model_entry
from mbench.paths import cache_dir
from mbench.protocols.base import EvaluationProtocol, Job, RunContext, component_seed
from mbench.protocols.scoring import score_rows

__all__ = ["FeatureEvalProtocol", "cached_features", "class_codes"]


def class_codes(adapter: DatasetAdapter, case_ids: list[str], labels: dict[str, int]) -> np.ndarray:
    """The integer class code of each case (the adapter's reference), checked against the card's labels 0..C-1."""
    codes = sorted(labels.values())
    if codes != list(range(len(codes))):
        raise MbenchError("class_code tasks need label codes 0 .. C-1", found=str(labels),
                          fix="number the classes of the card's labels from 0")
    out = np.asarray([int(np.asarray(adapter.load_reference(c)).ravel()[0]) for c in case_ids], dtype=np.int64)
    bad = sorted(set(out.tolist()) - set(codes))
    if bad:
        raise MbenchError("the data holds class codes the card does not declare", expected=str(codes), found=str(bad))
    return out


def cached_features(adapter: DatasetAdapter, case_ids: list[str], model: FeatureModel,
                    progress: Callable[[int, int], None] | None = None) -> tuple[np.ndarray, dict]:
    """(N, D) features of the cases, from the cache where present; and how many were computed, in what time."""
    key = model.feature_key()
    folder = cache_dir() / "features" / hashlib.sha256(key.encode()).hexdigest()[:16]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "extractor.json").write_text(key)
    rows, computed, seconds = [], 0, 0.0
    for k, case in enumerate(case_ids):
        path = folder / f"{adapter.data_hash([case])}.npy"
        if path.exists():
            rows.append(np.load(path))
        else:
            t0 = time.perf_counter()
            vector = np.asarray(model.extract(adapter.load_input(case)["image"]), dtype=np.float32)
            seconds += time.perf_counter() - t0
            computed += 1
            tmp = path.with_suffix(f".{k}.tmp.npy")
            np.save(tmp, vector)
            tmp.replace(path)
            rows.append(vector)
        if progress:
            progress(k + 1, len(case_ids))
    if len({r.shape for r in rows}) > 1:
        raise MbenchError("feature vectors differ in length between images", found=str({r.shape for r in rows}))
    return np.stack(rows), {"computed": computed, "extract_s": seconds,
                            "extract_s_per_image": seconds / computed if computed else None}


class FeatureEvalProtocol(EvaluationProtocol[FeatureEvalSpec]):
    """The ``feature_eval`` protocol; the run's model is a :class:`~mbench.models.capabilities.FeatureModel`."""

    def jobs(self) -> list[Job]:
        return [Job(f"seed{seed}-{test}", self.config.task.id, self.config.model, seed, k)
                for seed in self.spec.seeds for k, test in enumerate(self.spec.test_splits)]

    def splits_to_load(self) -> list[str]:
        return []  # images are read one by one into the feature cache, never all at once

    def run_job(self, job: Job, ctx: RunContext, deps: dict[str, dict], progress: Progress) -> dict:
        cfg, spec = self.config, self.spec
        test_name = spec.test_splits[job.fold]
        train_names = [s for s in spec.splits if s != test_name]
        train_ids = [c for s in train_names for c in ctx.task.split_ids(s)]
        test_ids = ctx.task.split_ids(test_name)
        model = create_model(get_model_entry(cfg.model), cfg.model_params, cfg.run.device)
        if not isinstance(model, FeatureModel):
            raise MbenchError(f"model {cfg.model!r} is not a feature model", expected="feature_key / extract / fit / "
                              "predict (mbench.models.capabilities.FeatureModel)", fix="use a tofi_* model")
        adapter, labels = ctx.task.adapter, cfg.task.labels
        x_train, info_train = cached_features(adapter, train_ids, model,
                                              lambda d, t: progress(f"features ({test_name} held out)", d, t))
        x_test, info_test = cached_features(adapter, test_ids, model,
                                            lambda d, t: progress(f"features of {test_name}", d, t))
        y_train, y_test = class_codes(adapter, train_ids, labels), class_codes(adapter, test_ids, labels)
        t0 = time.perf_counter()
        train_log = model.fit(x_train, y_train, n_classes=len(labels), seed=component_seed(job.seed, "learner",
                                                                                             job.fold),
                              rebalance=spec.rebalance)
        train_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        proba = model.predict(x_test)
        groups = adapter.groups()
        n_labelled = len(train_ids) + len(test_ids) if len(spec.test_splits) > 1 else len(train_ids)
        context = {**job.context(), "n_labelled": n_labelled}
        rows = score_rows(cfg.task, test_ids, [groups.get(c, c) for c in test_ids], proba, y_test, context)
        return {"rows": rows, "train_log": train_log, "n_labelled": n_labelled, "test_split": test_name,
                "train_splits": train_names, "n_train": len(train_ids), "n_test": len(test_ids),
                "test_ids": test_ids, "predictions": proba.round(6).tolist(),
                "features": {"train": info_train, "test": info_test},
                "timings": {"train_s": train_s, "test_s": time.perf_counter() - t0,
                            "extract_s": info_train["extract_s"] + info_test["extract_s"]}}
