"""Efficiency of a model: parameter count, FLOPs at the real input size, and latency (median after warm-up).

torch is imported inside the functions, so that ``import mbench.metrics`` stays torch-free.

Example:
    >>> latency(lambda: None, warmup=1, repeats=3) >= 0.0
    True
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any

from mbench.errors import MbenchError

__all__ = ["count_parameters", "flops", "latency"]


def count_parameters(model: Any, *, trainable_only: bool = False) -> int:
    """Number of parameters of a ``torch.nn.Module`` (shared parameters counted once).

    Empty inputs:
        A module without parameters gives 0.

    Example:
        >>> import torch
        >>> count_parameters(torch.nn.Linear(10, 5))
        55
    """
    seen, total = set(), 0
    for p in model.parameters():
        if id(p) in seen or (trainable_only and not p.requires_grad):
            continue
        seen.add(id(p))
        total += int(p.numel())
    return total


def flops(model: Any, inputs: Any | Sequence[Any]) -> int:
    """Floating-point operations of one forward pass at the given input, counted by ``torch.utils.flop_counter``.

    A multiply-add counts as 2 FLOPs (so a ``Linear(i, o)`` on a batch of ``n`` costs ``2 n i o``); operations the
    counter does not know (element-wise activations, normalisation) count 0. Pass the real input size: FLOPs of
    convolutions scale with it.

    Empty inputs:
        A model without counted operations gives 0.

    Example:
        >>> import torch
        >>> flops(torch.nn.Linear(10, 5), torch.zeros(3, 10))
        300
    """
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    args = tuple(inputs) if isinstance(inputs, (list, tuple)) else (inputs,)
    was_training = getattr(model, "training", False)
    if hasattr(model, "eval"):
        model.eval()
    try:
        counter = FlopCounterMode(display=False)
        with torch.no_grad(), counter:
            model(*args)
    finally:
        if was_training:
            model.train()
    return int(counter.get_total_flops())


def latency(fn: Callable[[], Any], *, warmup: int = 10, repeats: int = 50,
            timer: Callable[[], float] = time.perf_counter, synchronize: Callable[[], Any] | None = None) -> float:
    """Median wall-clock seconds of ``fn()`` over ``repeats`` calls, after ``warmup`` untimed calls.

    For GPU models pass ``synchronize=torch.cuda.synchronize`` so that each timing waits for the kernels.

    Empty inputs:
        ``repeats`` must be at least 1.

    Example:
        >>> ticks = iter(range(100))
        >>> latency(lambda: None, warmup=2, repeats=3, timer=lambda: float(next(ticks)))
        1.0
    """
    if int(repeats) < 1 or int(warmup) < 0:
        raise MbenchError("invalid latency settings", expected="repeats >= 1 and warmup >= 0",
                          found=f"repeats={repeats}, warmup={warmup}")
    for _ in range(int(warmup)):
        fn()
    if synchronize is not None:
        synchronize()
    times = []
    for _ in range(int(repeats)):
        start = timer()
        fn()
        if synchronize is not None:
            synchronize()
        times.append(timer() - start)
    return float(statistics.median(times))
