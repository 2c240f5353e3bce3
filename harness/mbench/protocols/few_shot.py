"""Few-shot identification of unseen classes (paper 10): embedder on base classes, 1-NN cosine over episodes.

Per seed, one job: fit the run's embedder (:class:`~mbench.models.capabilities.Embedder`) on ``train`` (base
classes; checkpoint on ``val``), refusing data whose novel classes appear among the base classes; embed the novel
split once; then for each support / query episode of the dataset (GMDB's 10 rare gallery / test splits) score the
card's retrieval metrics on the query x support cosine-similarity matrix (rows with ``fold`` = the episode; the
summary averages them per seed). With a classifier head (``predict_proba``) the base test split adds ``accuracy``.
"""

from __future__ import annotations

import hashlib
import json
import time

import numpy as np

from mbench.config.schema import FewShotSpec
from mbench.data.slices import SliceSet
from mbench.errors import MbenchError
from mbench.metrics.registry import get_metric
from mbench.models.capabilities import Progress, check_embeddings
from mbench.models.registry import create_model, get_model_entry
from mbench.protocols.base import EvaluationProtocol, Job, RunContext, component_seed
from mbench.protocols.scoring import ALL_CASES

__all__ = ["FewShotProtocol", "cosine_similarity", "check_class_disjoint"]


def cosine_similarity(queries: np.ndarray, support: np.ndarray) -> np.ndarray:
    """(n_q, n_s) cosine similarities of two sets of row vectors.

    Example:
        >>> cosine_similarity(np.array([[1.0, 0.0]]), np.array([[2.0, 0.0], [0.0, 3.0]])).tolist()
        [[1.0, 0.0]]
    """
    q = queries / np.linalg.norm(queries, axis=1, keepdims=True)
    s = support / np.linalg.norm(support, axis=1, keepdims=True)
    return q @ s.T


def check_class_disjoint(base: np.ndarray, novel: np.ndarray) -> None:
    """Raise when a novel (few-shot) class is also a base (training) class."""
    shared = sorted(set(np.asarray(base).tolist()) & set(np.asarray(novel).tolist()))
    if shared:
        raise MbenchError("novel classes appear among the training (base) classes", expected="disjoint class sets",
                          found=f"{len(shared)} shared, e.g. {shared[:5]}",
                          fix="the few-shot split must hold classes never seen in training")


class FewShotProtocol(EvaluationProtocol[FewShotSpec]):
    """The ``few_shot`` protocol; the run's model is an embedder."""

    def splits_to_load(self) -> list[str]:
        return self.config.task.split_names()

    def _keypoints(self, ctx: RunContext, samples: SliceSet) -> np.ndarray | None:
        """(N, K, 2) landmarks scaled to the loaded image size, when the adapter has them."""
        adapter = ctx.task.adapter
        if not hasattr(adapter, "keypoints") or self.config.model_params.get("mixup") != "keypoint":
            return None
        h, w = samples.images.shape[-2:]
        out = []
        for case in samples.ids:
            kp, (nh, nw) = adapter.keypoints(case)
            out.append(np.asarray(kp, float) * [w / nw, h / nh])
        return np.stack(out)

    def _episodes(self, ctx: RunContext, novel: SliceSet) -> list[dict[str, list[str]]]:
        adapter = ctx.task.adapter
        if not hasattr(adapter, "episodes"):
            raise MbenchError(f"adapter {ctx.task.spec.data.adapter!r} defines no support / query episodes",
                              fix="use a dataset adapter with episodes() (e.g. gmdb)")
        episodes = adapter.episodes()
        if len(episodes) != self.spec.n_episodes:
            raise MbenchError("wrong number of support / query episodes in the data",
                              expected=str(self.spec.n_episodes), found=str(len(episodes)),
                              fix="point data.root at the complete release")
        loaded = set(novel.ids)
        out = []
        for k, ep in enumerate(episodes):
            support, query = set(ep["support"]), set(ep["query"])
            if support & query:
                raise MbenchError(f"episode {k}: images in both support and query", found=str(sorted(support & query)[:3]))
            outside = (support | query) - set(ctx.task.split.ids(self.spec.novel))
            if outside:
                raise MbenchError(f"episode {k}: images outside the novel split", found=str(sorted(outside)[:3]))
            out.append({"support": sorted(support & loaded), "query": sorted(query & loaded)})  # --limit keeps a subset
        return out

    def run_job(self, job: Job, ctx: RunContext, deps: dict[str, dict], progress: Progress) -> dict:
        cfg, spec = self.config, self.spec
        train, val, novel = ctx.train, ctx.val, ctx.split(spec.novel)
        y_train, y_val, y_novel = (ctx.task.targets(s) for s in (train, val, novel))
        check_class_disjoint(np.concatenate([y_train, y_val]), y_novel)
        t0 = time.perf_counter()
        embedder = create_model(get_model_entry(cfg.model), cfg.model_params, cfg.run.device)
        train_log = embedder.fit(ctx.model_inputs(train), y_train, ctx.model_inputs(val), y_val,
                                 keypoints=self._keypoints(ctx, train), seed=component_seed(job.seed, "embedder"),
                                 progress=lambda s, d, t: progress(f"train {cfg.model}", d, t))
        timings = {"train_s": time.perf_counter() - t0}
        t0 = time.perf_counter()
        context = {**job.context(), "n_labelled": len(train)}
        rows = []
        if spec.base_test and hasattr(embedder, "predict_proba") and "accuracy" in cfg.task.metrics.report:
            test = ctx.split(spec.base_test)
            proba, classes = embedder.predict_proba(ctx.model_inputs(test)), np.asarray(embedder.classes_)
            value = float(np.mean(classes[np.argmax(proba, axis=1)] == ctx.task.targets(test)))
            rows.append({**context, "case": ALL_CASES, "group": "", "region": "", "metric": "accuracy",
                         "value": value, "note": f"base classes, {len(test)} test images"})
        emb = check_embeddings(embedder.embed(ctx.model_inputs(novel)), len(novel))
        episodes = self._episodes(ctx, novel)
        retrieval = [m for m in cfg.task.metrics.report if m.startswith("retrieval_")]
        for k, ep in enumerate(episodes):
            if not ep["support"] or not ep["query"]:
                continue
            s_pos, q_pos = novel.positions(ep["support"]), novel.positions(ep["query"])
            sim = cosine_similarity(emb[q_pos], emb[s_pos])
            for metric in retrieval:
                value = get_metric(metric).fn(sim, y_novel[q_pos], y_novel[s_pos])
                rows.append({**context, "fold": k, "case": ALL_CASES, "group": "", "region": "", "metric": metric,
                             "value": float(value),
                             "note": f"episode {k}: {len(q_pos)} queries, {len(s_pos)} support images"})
        timings["test_s"] = time.perf_counter() - t0
        digest = hashlib.sha256(json.dumps(episodes, sort_keys=True).encode()).hexdigest()
        return {"rows": rows, "train_log": train_log, "n_labelled": len(train), "timings": timings,
                "episodes_sha256": digest, "n_episodes": len(episodes)}
