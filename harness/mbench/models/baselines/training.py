"""One supervised training loop for the torch learners: epochs, validation, best-checkpoint selection."""

from __future__ import annotations

import copy
import time
from collections.abc import Callable

import numpy as np
import torch

from mbench.models.baselines.torch_utils import batches, make_optimizer, seed_torch, to_tensor
from mbench.models.capabilities import Progress

__all__ = ["fit_supervised"]


def fit_supervised(net: torch.nn.Module, *, forward: Callable[[torch.Tensor], torch.Tensor],
                   loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
                   predict: Callable[[np.ndarray], np.ndarray], images: np.ndarray, targets: np.ndarray,
                   val_images: np.ndarray, val_targets: np.ndarray, score: Callable[[np.ndarray, np.ndarray], float],
                   optimizer: str, lr: float, epochs: int, batch_size: int, seed: int, device: torch.device,
                   progress: Progress) -> dict:
    """Train ``net`` for ``epochs``; after each epoch score ``predict(val_images)`` and keep the best state.

    ``forward`` maps an image batch (N, 1, H, W) in [0, 1] to the network output (it resizes and
    normalises); ``predict`` maps an image array to the task's prediction. The best state (highest
    validation score; the earliest on ties) is loaded back into ``net`` before returning.

    Returns:
        A training log: per-epoch loss and validation score, the best epoch and its score, seconds.
    """
    generator = seed_torch(seed)
    opt = make_optimizer(optimizer, net.parameters(), lr)
    x_all, y_all = to_tensor(images, torch.device("cpu")), torch.as_tensor(targets)
    best_score, best_epoch, best_state = -np.inf, -1, None
    history = []
    start = time.perf_counter()
    for epoch in range(1, epochs + 1):
        net.train()
        total, count = 0.0, 0
        for idx in batches(len(x_all), batch_size, generator):
            if len(idx) < 2 and len(x_all) >= 2:
                continue  # batch norm cannot train on a batch of one
            x, y = x_all[idx].to(device), y_all[idx].to(device)
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(forward(x), y)
            loss.backward()
            opt.step()
            total, count = total + loss.item() * len(idx), count + len(idx)
        net.eval()
        val = float(score(predict(val_images), val_targets))
        history.append({"epoch": epoch, "loss": total / max(count, 1), "val_score": val})
        if val > best_score:
            best_score, best_epoch, best_state = val, epoch, copy.deepcopy(net.state_dict())
        progress("train", epoch, epochs)
    if best_state is not None:
        net.load_state_dict(best_state)
    net.eval()
    return {"history": history, "best_epoch": best_epoch, "best_val_score": best_score,
            "seconds": time.perf_counter() - start}
