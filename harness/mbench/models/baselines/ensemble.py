"""Probability-averaging ensemble of registered learners (Gil et al., paper 2: six networks, pixel probabilities averaged).

Each member is ``{model: <registered learner id>, params: {...}}``; its parameters are the member model's
defaults updated by ``params``. ``fit`` trains every member on the same data with the same seed (members
differ by architecture or settings, not by seed); ``predict`` averages the members' softmax probabilities
at the input size and takes the argmax.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

from mbench.errors import MbenchError
from mbench.inference.batched import batched_predict
from mbench.models.baselines.torch_utils import resize
from mbench.models.capabilities import Progress, no_progress

__all__ = ["EnsembleSegmenter", "member_probabilities"]


def member_probabilities(member: Any, images: np.ndarray) -> np.ndarray:
    """(N, classes, H, W) softmax probabilities of a fitted member at the input size.

    Members with ``predict_proba`` use it; torch learners (:class:`SupervisedLearner`) are run through their
    network: ``_forward``, bilinear resize of the logits to the input, softmax (the same logits their argmax reads).
    """
    if hasattr(member, "predict_proba"):
        return np.asarray(member.predict_proba(images), np.float32)
    if getattr(member, "net", None) is None:
        raise MbenchError("ensemble member has no fitted network", fix="fit the ensemble before predict")
    member.net.eval()
    return batched_predict(images, member._forward,
                           lambda out, x: resize(out, tuple(x.shape[-2:])).softmax(dim=1).float(),
                           device=member.device, batch_size=int(getattr(member, "batch_size", 8)))


class EnsembleSegmenter:
    """Averages the softmax probabilities of its member learners (see the module docstring).

    Args:
        members: list of ``{"model": id, "params": {...}}`` (at least one; nested ensembles are refused).
        device: passed to every member.
    """

    def __init__(self, members: list[dict[str, Any]], device: str = "auto") -> None:
        from mbench.models.registry import create_model, get_model_entry, resolve_params

        if not members:
            raise MbenchError("an ensemble needs at least one member", expected="members: [{model: unet, params: {}}]")
        self.members, self.names = [], []
        for k, spec in enumerate(members):
            unknown = set(spec) - {"model", "params"}
            if "model" not in spec or unknown:
                raise MbenchError(f"ensemble member {k}: expected keys model and params", found=str(sorted(spec)))
            entry = get_model_entry(spec["model"])
            if entry.kind != "learner" or entry.id == "ensemble":
                raise MbenchError(f"ensemble member {entry.id!r} is not a (non-ensemble) learner")
            self.members.append(create_model(entry, resolve_params(entry, spec.get("params") or {}), device))
            self.names.append(entry.id)

    def fit(self, images: np.ndarray, targets: np.ndarray, val_images: np.ndarray, val_targets: np.ndarray, *,
            score: Callable[[np.ndarray, np.ndarray], float], seed: int, progress: Progress = no_progress) -> dict:
        """Fit every member (same data, same seed); the log holds each member's log and the total parameters."""
        t0, logs = time.perf_counter(), []
        for k, member in enumerate(self.members):
            stage = f"member {k + 1}/{len(self.members)} ({self.names[k]})"
            logs.append(member.fit(images, targets, val_images, val_targets, score=score, seed=seed,
                                   progress=lambda s, d, t, stage=stage: progress(f"{stage}: {s}", d, t)))
        return {"members": [{"model": n, **log} for n, log in zip(self.names, logs)],
                "n_parameters": int(sum(log.get("n_parameters", 0) for log in logs)),
                "seconds": time.perf_counter() - t0}

    def predict_proba(self, images: np.ndarray) -> np.ndarray:
        """The members' mean softmax probabilities, (N, classes, H, W)."""
        probs = [member_probabilities(m, images) for m in self.members]
        if len({p.shape for p in probs}) != 1:
            raise MbenchError("ensemble members disagree on the output shape", found=str([p.shape for p in probs]),
                              fix="give every member the same number of classes")
        return np.mean(probs, axis=0)

    def predict(self, images: np.ndarray) -> np.ndarray:
        """Class-index maps (N, H, W) uint8: the argmax of the averaged probabilities."""
        return self.predict_proba(images).argmax(axis=1).astype(np.uint8)
