"""The one batched predictor of mbench's torch models: DataLoader -> device -> forward -> prediction -> host.

Every learner's ``predict`` goes through :func:`iter_predictions` / :func:`batched_predict`: batches of an
image array are served by a ``torch.utils.data.DataLoader`` (``num_workers`` worker processes, pinned host
memory when the device is CUDA, non-blocking copies), the forward pass runs under ``torch.inference_mode``
and, when the run asks for it, ``torch.autocast`` (bf16 / fp16). Half-precision outputs are returned as
float32. The settings in force (:func:`mbench.inference.settings.current_inference`) are used unless
``settings`` is given.

Example:
    >>> import numpy as np, torch
    >>> images = np.arange(2 * 5 * 4 * 4, dtype=np.float32).reshape(10, 4, 4)
    >>> pred = batched_predict(images, lambda x: 2 * x, lambda out, x: out.sum(dim=(1, 2, 3)),
    ...                        device=torch.device("cpu"), batch_size=3)
    >>> bool(np.allclose(pred, 2 * images.sum(axis=(1, 2))))
    True
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator

import numpy as np
import torch

from mbench.inference.settings import InferenceSettings, autocast, current_inference

__all__ = ["ArrayBatches", "make_loader", "iter_predictions", "batched_predict", "to_host"]

Forward = Callable[[torch.Tensor], torch.Tensor]
ToPrediction = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


class ArrayBatches(torch.utils.data.Dataset):
    """Consecutive batches of an image array as float32 tensors (N, C, H, W); item ``k`` is the k-th batch.

    A grey (N, H, W) array gets a channel axis. ``transform`` (a numpy function of a batch, e.g. the task's
    normalisation) runs in the loader's worker when there are workers.
    """

    def __init__(self, images: np.ndarray, batch_size: int,
                 transform: Callable[[np.ndarray], np.ndarray] | None = None) -> None:
        self.images, self.batch_size, self.transform = images, max(int(batch_size), 1), transform

    def __len__(self) -> int:
        return math.ceil(len(self.images) / self.batch_size)

    def __getitem__(self, k: int) -> torch.Tensor:
        chunk = self.images[k * self.batch_size:(k + 1) * self.batch_size]
        if self.transform is not None:
            chunk = self.transform(chunk)
        t = torch.as_tensor(np.ascontiguousarray(chunk), dtype=torch.float32)
        return t.unsqueeze(1) if t.ndim == 3 else t


def make_loader(images: np.ndarray, batch_size: int, device: torch.device, num_workers: int = 0,
                transform: Callable[[np.ndarray], np.ndarray] | None = None) -> torch.utils.data.DataLoader:
    """A DataLoader over :class:`ArrayBatches` (already batched: ``batch_size=None``), pinned memory on CUDA only."""
    return torch.utils.data.DataLoader(ArrayBatches(images, batch_size, transform), batch_size=None, shuffle=False,
                                       num_workers=num_workers, pin_memory=device.type == "cuda",
                                       prefetch_factor=2 if num_workers else None)


def to_host(out: torch.Tensor) -> np.ndarray:
    """A numpy copy of a prediction tensor; half-precision floats become float32 (numpy has no bfloat16)."""
    if out.is_floating_point() and out.dtype != torch.float32 and out.dtype != torch.float64:
        out = out.float()
    return out.cpu().numpy()


def iter_predictions(images: np.ndarray, forward: Forward, to_prediction: ToPrediction | None = None, *,
                     device: torch.device, batch_size: int, settings: InferenceSettings | None = None,
                     transform: Callable[[np.ndarray], np.ndarray] | None = None) -> Iterator[tuple[int, np.ndarray]]:
    """Yield ``(start, predictions)`` per batch, in order; ``predictions`` covers ``images[start:start + len]``.

    ``forward`` maps an input batch on ``device`` to the network output; ``to_prediction(output, x)`` maps it to
    the task's prediction (identity when ``None``). Inference mode and autocast are entered per batch, never
    across a ``yield``, so the caller's code between batches runs in its own mode.
    """
    settings = settings or current_inference()
    device = torch.device(device)
    size = settings.batch_size(batch_size)
    loader = make_loader(images, size, device, settings.num_workers, transform)
    start = 0
    for x in loader:
        with torch.inference_mode(), autocast(device, settings.precision):
            x = x.to(device, non_blocking=True)
            out = forward(x)
            pred = to_prediction(out, x) if to_prediction is not None else out
        host = to_host(pred)
        yield start, host
        start += len(host)


def batched_predict(images: np.ndarray, forward: Forward, to_prediction: ToPrediction | None = None, *,
                    device: torch.device, batch_size: int, settings: InferenceSettings | None = None,
                    transform: Callable[[np.ndarray], np.ndarray] | None = None) -> np.ndarray:
    """All predictions of :func:`iter_predictions`, concatenated along the first axis."""
    parts = [p for _, p in iter_predictions(images, forward, to_prediction, device=device, batch_size=batch_size,
                                            settings=settings, transform=transform)]
    if not parts:
        raise ValueError("batched_predict needs at least one image")
    return np.concatenate(parts)
