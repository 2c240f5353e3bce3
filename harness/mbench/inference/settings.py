"""How a run's models infer: numeric precision, evaluation batch size, loader workers, the scoring pool.

The settings come from the ``run.*`` options (``run.precision``, ``run.eval_batch_size``, ``run.num_workers``,
``run.score_pool``) and are put in force for the jobs of a run with :func:`use_inference`; the shared batched
predictor (:mod:`mbench.inference.batched`) reads them with :func:`current_inference`. This module imports
torch only inside :func:`autocast` and :func:`check_precision` (device checks), so the core stays torch-free.

Example:
    >>> s = InferenceSettings(precision="bf16", eval_batch_size=64)
    >>> with use_inference(s):
    ...     current_inference().precision
    'bf16'
    >>> current_inference().precision
    'fp32'
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import asdict, dataclass
from typing import Any

from mbench.errors import MbenchError

__all__ = ["PRECISIONS", "SCORE_POOLS", "InferenceSettings", "check_precision", "autocast", "current_inference",
           "use_inference"]

PRECISIONS = ("fp32", "bf16", "fp16")
SCORE_POOLS = ("serial", "thread", "process")
_DTYPE_NAMES = {"fp32": None, "bf16": "bfloat16", "fp16": "float16"}


@dataclass(frozen=True)
class InferenceSettings:
    """Inference options of a run.

    Attributes:
        precision: ``fp32`` (no autocast), ``bf16`` (CPU or CUDA) or ``fp16`` (CUDA only) autocast of the forward pass.
        eval_batch_size: images per forward pass at prediction time; ``None`` = the model's training batch size.
        num_workers: DataLoader worker processes feeding the model (0 = the calling process).
        score_pool: where the metrics of batch k are computed while batch k+1 is inferred: ``thread``
            (a thread pool), ``process`` (a process pool) or ``serial`` (after each batch, no overlap).
        score_workers: threads or processes of that pool.
    """

    precision: str = "fp32"
    eval_batch_size: int | None = None
    num_workers: int = 0
    score_pool: str = "thread"
    score_workers: int = 1

    def __post_init__(self) -> None:
        if self.precision not in PRECISIONS:
            raise MbenchError(f"unknown precision {self.precision!r}", expected=" | ".join(PRECISIONS),
                              found=repr(self.precision), fix="e.g. run.precision=bf16")
        if self.eval_batch_size is not None and (not isinstance(self.eval_batch_size, int) or self.eval_batch_size < 1):
            raise MbenchError("invalid evaluation batch size", expected="a positive integer (or unset)",
                              found=repr(self.eval_batch_size), fix="e.g. run.eval_batch_size=64")
        for name in ("num_workers", "score_workers"):
            value = getattr(self, name)
            low = 0 if name == "num_workers" else 1
            if not isinstance(value, int) or isinstance(value, bool) or value < low:
                raise MbenchError(f"invalid run.{name}", expected=f"an integer >= {low}", found=repr(value),
                                  fix=f"e.g. run.{name}={max(low, 2)}")
        if self.score_pool not in SCORE_POOLS:
            raise MbenchError(f"unknown scoring pool {self.score_pool!r}", expected=" | ".join(SCORE_POOLS),
                              found=repr(self.score_pool), fix="e.g. run.score_pool=thread")

    def batch_size(self, model_batch_size: int) -> int:
        """The evaluation batch size: ``eval_batch_size`` if set, else the model's own (at least 1)."""
        return max(int(self.eval_batch_size or model_batch_size), 1)

    def provenance(self, device: str) -> dict[str, Any]:
        """What ``run.json`` records about inference (``environment.inference``)."""
        return {**asdict(self), "autocast_dtype": _DTYPE_NAMES[self.precision], "inference_mode": True,
                "pin_memory": "when the device is cuda", "device_requested": device}


def check_precision(precision: str, device: str) -> None:
    """Refuse precision / device pairs that cannot run: ``fp16`` needs CUDA (CPU autocast is bf16 only).

    ``device`` may be ``auto`` (resolved here: CUDA when available).

    Example:
        >>> check_precision("bf16", "cpu")
        >>> check_precision("fp16", "cpu")
        Traceback (most recent call last):
        ...
        mbench.errors.MbenchError: fp16 autocast needs a CUDA device ...
    """
    InferenceSettings(precision=precision)
    kind = _device_type(device)
    if precision == "fp16" and kind != "cuda":
        raise MbenchError(f"fp16 autocast needs a CUDA device (the run uses {kind})", expected="run.device=cuda",
                          found=f"run.precision=fp16 on {device!r} ({kind})",
                          fix="use run.precision=bf16 on CPU, or run.precision=fp32")
    if precision == "bf16" and kind == "cuda":
        import torch

        if not torch.cuda.is_bf16_supported():
            raise MbenchError("this GPU does not support bf16", expected="an Ampere or newer GPU for bf16",
                              found=torch.cuda.get_device_name(0), fix="use run.precision=fp16 or fp32")
    if kind not in ("cpu", "cuda") and precision != "fp32":
        raise MbenchError(f"autocast is supported on cpu and cuda, not {kind}", found=f"{precision} on {device}",
                          fix="use run.precision=fp32 on this device")


def _device_type(device: Any) -> str:
    text = str(device)
    if text == "auto":
        try:
            import torch
        except ImportError:
            return "cpu"
        return "cuda" if torch.cuda.is_available() else "cpu"
    return text.split(":")[0]


def autocast(device: Any, precision: str):
    """A ``torch.autocast`` context for ``precision`` on ``device`` (off for fp32), after :func:`check_precision`."""
    import torch

    check_precision(precision, str(device))
    dtype = getattr(torch, _DTYPE_NAMES[precision]) if precision != "fp32" else None
    return torch.autocast(_device_type(device), dtype=dtype, enabled=dtype is not None)


_CURRENT: ContextVar[InferenceSettings] = ContextVar("mbench_inference", default=InferenceSettings())


def current_inference() -> InferenceSettings:
    """The settings in force (defaults: fp32, the model's batch size, no workers, a one-thread scoring pool)."""
    return _CURRENT.get()


@contextlib.contextmanager
def use_inference(settings: InferenceSettings) -> Iterator[InferenceSettings]:
    """Put ``settings`` in force for the code inside the ``with`` block (this thread / context only)."""
    token = _CURRENT.set(settings)
    try:
        yield settings
    finally:
        _CURRENT.reset(token)
