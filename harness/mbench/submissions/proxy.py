"""A submission as the run's model: proxies that implement the Learner / Sampler protocols by sandboxed calls.

The protocols call ``fit``, ``predict`` and ``query`` exactly as on a built-in model; each call writes the
inputs the child may see into a fresh call folder, runs the package's entry class there (see
:mod:`mbench.submissions.sandbox`) and validates what comes back (:mod:`mbench.submissions.outputs`).

What crosses the boundary, per call:

- ``fit`` (trainable): training images and targets, validation images and targets, their ids, the seed;
- ``predict`` (predictor, trainable): the images to predict and their ids, never a reference;
- ``query`` (sampler): pool images (and the auxiliary modality), labelled and pool ids, targets of the
  labelled samples only (what :class:`~mbench.models.capabilities.SamplerView` holds);
- ``predictions`` packages run no code: ``predict`` reads and validates the package's files.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import numpy as np

from mbench.config.schema import TaskSpec
from mbench.errors import MbenchError
from mbench.models.capabilities import Progress, SamplerView, no_progress
from mbench.protocols.base import RunContext
from mbench.submissions.manifest import OutputSpec, expected_io
from mbench.submissions.outputs import check_tree, read_predictions, read_selection, sample_relpath
from mbench.submissions.package import SubmissionPackage
from mbench.submissions.sandbox import CallResult, Sandbox, SubmissionViolation

__all__ = ["SandboxedModel", "SubmissionSession"]

log = logging.getLogger(__name__)

_MAX_LOG_BYTES = 1 << 20


class SubmissionSession:
    """What the proxies of one submission run share: the package, its sandbox, the run's data, the call log.

    Args:
        package: the opened package.
        task: the resolved task card of the run.
        ctx: the run's context (the same object the runner uses, so that images can be matched to ids).
        sandbox: the entered sandbox (None for predictions-only packages, which run no code).
    """

    def __init__(self, package: SubmissionPackage, task: TaskSpec, ctx: RunContext, sandbox: Sandbox | None) -> None:
        self.package, self.task, self.ctx, self.sandbox = package, task, ctx, sandbox
        self.calls: list[dict[str, Any]] = []
        self.instances = 0
        m = package.manifest
        want = expected_io(task, m.kind)
        self.output_spec = None if want.output is None or m.io.output is None else OutputSpec(
            shape=want.output.shape, dtype=m.io.output.dtype, labels=want.output.labels, range=want.output.range)

    def identify(self, images: np.ndarray) -> tuple[str, list[str]]:
        """Which split of the run ``images`` are (the model inputs of), and the ids of its samples in order."""
        names = list(self.ctx.task.split.splits)
        for name in names:
            ref = self.ctx.model_inputs(self.ctx.split(name))
            if images is ref:
                return name, list(self.ctx.split(name).ids)
        for name in names:
            ref = self.ctx.model_inputs(self.ctx.split(name))
            if images.shape == ref.shape and np.array_equal(images, ref):
                return name, list(self.ctx.split(name).ids)
        raise MbenchError("a submission was asked to predict images that are not a split of the run",
                          expected=f"the model inputs of one of the splits {names}", found=f"array {images.shape}",
                          fix="submissions run under the holdout and active-learning protocols; report this")

    def request(self, seed: int, params: dict[str, Any]) -> dict[str, Any]:
        m = self.package.manifest
        assert m.entry is not None
        return {"kind": m.kind, "entry": {"file": m.entry.file, "class": m.entry.class_name}, "params": params,
                "seed": int(seed), "task": self.task.model_dump(mode="json")}

    def record(self, result: CallResult, action: str, **extra: Any) -> dict[str, Any]:
        entry = {"action": action, "seconds": round(result.seconds, 3), "cpu_s": result.status.get("cpu_s"),
                 "maxrss_mb": round(result.status.get("maxrss_kb", 0) / 1024, 1),
                 "isolated": result.status.get("isolated"), **extra}
        self.calls.append(entry)
        return entry

    def prediction_shapes(self, images: np.ndarray) -> list[tuple[int, ...]]:
        assert self.output_spec is not None
        if self.task.problem == "segmentation":
            return [tuple(images.shape[-2:])] * len(images)
        return [(len(self.task.labels),)] * len(images)

    def finish(self, predictions: np.ndarray) -> np.ndarray:
        """Validated predictions as the scoring code expects them (masks uint8, scores float64)."""
        return predictions.astype(np.uint8) if self.task.problem == "segmentation" else predictions.astype(np.float64)


class SandboxedModel:
    """The run's model for a submission: a Learner (``fit``/``predict``) and a Sampler (``query``).

    One instance per ``create_model`` call (per job); a trainable's fitted state stays in the sandbox
    session between its ``fit`` and ``predict`` (under this instance's key), never in the harness.
    """

    def __init__(self, session: SubmissionSession, **params: Any) -> None:
        self.session = session
        self.params = params
        session.instances += 1
        self.key = f"model-{session.instances:04d}"
        self.fitted = False

    @property
    def kind(self) -> str:
        return self.session.package.manifest.kind

    def _call(self, action: str, inputs: dict[str, Any], seed: int, **extra: Any) -> CallResult:
        box = self.session.sandbox
        if box is None:
            raise MbenchError(f"a {self.kind} package runs no code", fix="this is a harness bug; report it")
        return box.call(action, inputs, {**self.session.request(seed, self.params), **extra}, state_key=self.key)

    def fit(self, images: np.ndarray, targets: np.ndarray, val_images: np.ndarray, val_targets: np.ndarray, *,
            score: Any = None, seed: int = 0, progress: Progress = no_progress) -> dict:
        """Train in the sandbox (trainable); predictors and predictions packages are already trained."""
        if self.kind != "trainable":
            return {"submission": self.kind, "note": "pre-trained package: nothing to train"}
        progress("sandbox fit", 0, 1)
        ids = {}
        for key, arr in (("train", images), ("val", val_images)):
            try:
                ids[key] = self.session.identify(arr)[1]
            except MbenchError:
                ids[key] = [str(i) for i in range(len(arr))]
        result = self._call("fit", {"images.npy": images, "targets.npy": targets, "val_images.npy": val_images,
                                    "val_targets.npy": val_targets, "ids.json": ids}, seed)
        check_tree(result.outputs, {"fit_log.json"}, "outputs")
        submitted_log = None
        log_path = result.outputs / "fit_log.json"
        if log_path.is_file() and log_path.stat().st_size <= _MAX_LOG_BYTES:
            try:
                submitted_log = json.loads(log_path.read_text()).get("log")
            except (ValueError, AttributeError):
                submitted_log = "unreadable fit_log.json"
        self.fitted = True
        progress("sandbox fit", 1, 1)
        return {"submission": self.kind, "sandbox": self.session.record(result, "fit", n_train=len(images)),
                "log": submitted_log}

    def predict(self, images: np.ndarray) -> np.ndarray:
        """Predictions for ``images`` (one split of the run), validated case by case."""
        session = self.session
        split, ids = session.identify(images)
        spec = session.output_spec
        assert spec is not None
        shapes = session.prediction_shapes(images)
        if self.kind == "predictions":
            folder = session.package.root / session.package.manifest.predictions_spec.folder
            # with --limit the run scores a subset: files of the test samples it leaves out are allowed, unread
            limited = session.ctx.config.run.limit is not None
            cases = set(session.ctx.task.split.ids(split)) if limited else set()

            def other_sample(rel: str) -> bool:
                parts = rel.split("/")
                return len(parts) == 2 and parts[0] in cases and parts[1].endswith(".npy")

            preds = read_predictions(folder, ids, spec, shapes, label=session.package.manifest.predictions_spec.folder,
                                     also=other_sample)
            session.calls.append({"action": "predict", "split": split, "from": "package predictions",
                                  "n": len(ids)})
            return session.finish(preds)
        if self.kind == "trainable" and not self.fitted:
            raise MbenchError("predict() before fit() on a trainable submission", fix="this is a protocol bug")
        result = self._call("predict", {"images.npy": images, "ids.json": {"ids": ids}}, seed=0)
        allowed = {"predict_meta.json", *(f"predictions/{sample_relpath(i)}" for i in ids)}
        check_tree(result.outputs, allowed, "outputs")
        meta_path = result.outputs / "predict_meta.json"
        try:
            rows = int(json.loads(meta_path.read_text())["rows"]) if meta_path.is_file() else len(ids)
        except (ValueError, KeyError, TypeError):
            rows = len(ids)
        if rows > len(ids):
            raise SubmissionViolation({"kind": "output", "what": f"predict returned {rows} predictions for "
                                       f"{len(ids)} images", "expected": f"{len(ids)} (one per image)",
                                       "found": str(rows), "fix": "return one prediction per input image"})
        preds = read_predictions(result.outputs / "predictions", ids, spec, shapes)
        session.record(result, "predict", split=split, n=len(ids))
        return session.finish(preds)

    def query(self, view: SamplerView, n: int, *, seed: int, progress: Progress = no_progress) -> list[str]:
        """Choose ``n`` unlabelled ids in the sandbox from what the view holds (and nothing else)."""
        if self.kind != "sampler":
            raise MbenchError(f"a {self.kind} package cannot select samples", fix="submit a sampler package")
        progress("sandbox query", 0, 1)
        labelled = list(view.labelled_ids)
        inputs: dict[str, Any] = {"images.npy": view.images, "pool_ids.json": list(view.pool_ids),
                                  "labelled_ids.json": labelled,
                                  "labelled_targets.npy": view.labelled_targets(labelled) if labelled else
                                  np.zeros((0,), np.float32)}
        if view.aux is not None:
            inputs["aux.npy"] = view.aux
        result = self._call("query", inputs, seed, n=int(n))
        check_tree(result.outputs, {"selection.json"}, "outputs")
        chosen = read_selection(result.outputs / "selection.json", view.unlabelled_ids, n)
        self.session.record(result, "query", n=int(n), pool=len(view.pool_ids), labelled=len(labelled))
        progress("sandbox query", 1, 1)
        return chosen

