"""One supervised training loop for the torch learners: epochs, validation, best-checkpoint selection."""

from __future__ import annotations

import copy
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator

import numpy as np
import torch

from mbench.inference.batched import iter_predictions
from mbench.models.baselines.torch_utils import batches, make_optimizer, pick_device, seed_torch, to_tensor
from mbench.models.capabilities import Progress, no_progress

__all__ = ["fit_supervised", "train_one_epoch", "SupervisedLearner"]


def train_one_epoch(net: torch.nn.Module, opt: torch.optim.Optimizer, forward: Callable[[torch.Tensor], torch.Tensor],
                    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], images: torch.Tensor,
                    targets: torch.Tensor, batch_size: int, generator: torch.Generator, device: torch.device,
                    penalty: Callable[[], torch.Tensor] | None = None) -> float:
    """One shuffled pass over (images, targets) on CPU tensors; returns the mean task loss.

    ``penalty`` (e.g. FedProx's proximal term) is added to the loss that is back-propagated, not to the
    reported loss. Batches of one are skipped when there is more than one sample (batch norm cannot train on them).
    """
    net.train()
    total, count = 0.0, 0
    for idx in batches(len(images), batch_size, generator):
        if len(idx) < 2 and len(images) >= 2:
            continue
        x, y = images[idx].to(device), targets[idx].to(device)
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(forward(x), y)
        (loss + penalty() if penalty is not None else loss).backward()
        opt.step()
        total, count = total + loss.item() * len(idx), count + len(idx)
    return total / max(count, 1)


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
    # lazy sources (``lazy = True``, e.g. super images read case by case) are indexed per batch, never materialised
    x_all = images if getattr(images, "lazy", False) else to_tensor(images, torch.device("cpu"))
    y_all = targets if getattr(targets, "lazy", False) else torch.as_tensor(targets)
    best_score, best_epoch, best_state = -np.inf, -1, None
    history = []
    start = time.perf_counter()
    for epoch in range(1, epochs + 1):
        loss = train_one_epoch(net, opt, forward, loss_fn, x_all, y_all, batch_size, generator, device)
        net.eval()
        val = float(score(predict(val_images), val_targets))
        history.append({"epoch": epoch, "loss": loss, "val_score": val})
        if val > best_score:
            best_score, best_epoch, best_state = val, epoch, copy.deepcopy(net.state_dict())
        progress("train", epoch, epochs)
    if best_state is not None:
        net.load_state_dict(best_state)
    net.eval()
    return {"history": history, "best_epoch": best_epoch, "best_val_score": best_score,
            "seconds": time.perf_counter() - start}


class SupervisedLearner(ABC):
    """Base of the torch learners: a fresh network per ``fit``, batched ``predict`` at the input size.

    Subclasses say how to build the network for the given targets, how to run it on a batch, the
    loss, and how raw outputs become the task's predictions.
    """

    def __init__(self, optimizer: str, lr: float, epochs: int, batch_size: int, image_size: int | None,
                 device: str) -> None:
        self.optimizer, self.lr, self.epochs, self.batch_size = optimizer, lr, epochs, batch_size
        self.image_size = image_size
        self.device = pick_device(device)
        self.net: torch.nn.Module | None = None

    @abstractmethod
    def build(self, targets: np.ndarray) -> torch.nn.Module:
        """A freshly initialised network for these targets, on ``self.device``."""

    @abstractmethod
    def _forward(self, x: torch.Tensor) -> torch.Tensor:
        """Network output for an input batch (N, C, H, W)."""

    @abstractmethod
    def _loss(self, output: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Training loss."""

    @abstractmethod
    def _to_prediction(self, output: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """The task's prediction from the network output (e.g. a mask at the input size)."""

    def fit(self, images: np.ndarray, targets: np.ndarray, val_images: np.ndarray, val_targets: np.ndarray, *,
            score: Callable[[np.ndarray, np.ndarray], float], seed: int, progress: Progress = no_progress) -> dict:
        """Train from scratch, keeping the checkpoint with the best validation ``score``."""
        seed_torch(seed)
        self.net = self.build(targets)
        log = fit_supervised(self.net, forward=self._forward, loss_fn=self._loss, predict=self.predict,
                             images=images, targets=targets, val_images=val_images, val_targets=val_targets,
                             score=score, optimizer=self.optimizer, lr=self.lr, epochs=self.epochs,
                             batch_size=self.batch_size, seed=seed, device=self.device, progress=progress)
        log["n_parameters"] = int(sum(p.numel() for p in self.net.parameters()))
        return log

    def iter_predict(self, images: np.ndarray) -> Iterator[tuple[int, np.ndarray]]:
        """``(start, predictions)`` per batch of (N, H, W) or (N, C, H, W) images (see :mod:`mbench.inference.batched`)."""
        if self.net is None:
            raise RuntimeError("predict() before fit()")
        self.net.eval()
        return iter_predictions(images, self._forward, self._to_prediction, device=self.device,
                                batch_size=self.batch_size)

    def predict(self, images: np.ndarray) -> np.ndarray:
        """Predictions for (N, H, W) or (N, C, H, W) images, in batches."""
        return np.concatenate([p for _, p in self.iter_predict(images)])
