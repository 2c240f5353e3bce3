"""3D U-Net image regression on patches (paper 19: Dixon MRI -> SPR maps), an ImageTranslator.

Training follows the paper: each epoch visits the training cases in a seeded order, one case in memory at a
time; the case is cut into ``patch_size`` windows on the sliding-window grid (``overlap`` 0.5 of 64^3 is the
paper's stride 32); windows with less than ``background_threshold`` of their voxels inside the case's mask
(the body) are background and kept with probability ``background_keep`` only ("most background patches are
randomly discarded"); the kept windows are shuffled into batches. Loss: ``l1_weight`` L1 + ``l2_weight`` L2 on
targets divided by ``target_scale``; inputs are divided by the fixed ``input_scale`` (the paper applies no
intensity normalisation, so one constant for every case). Inference: :func:`mbench.inference.sliding_window_predict`
with the same windows and plain averaging of overlaps (``blend``). The checkpoint with the best validation
score (checked every ``val_every`` epochs) is kept. The network is MONAI's ``UNet`` without residual units
and with batch norm: ``channels`` per level, stride-2 downsampling between levels (Cicek et al.'s 3D U-Net
layout: 32-64-128-256 features, three poolings).

Example:
    >>> import numpy as np
    >>> from mbench.data.paired import PairedCases
    >>> vol = {c: np.random.default_rng(i).random((1, 12, 12, 8)).astype(np.float32) for i, c in enumerate("ab")}
    >>> pairs = PairedCases(["a", "b"], vol.get, lambda c: 1000 * vol[c][0])
    >>> m = UNet3DRegressor(in_channels=1, channels=[4, 8], strides=[2], patch_size=[8, 8, 8], epochs=1,
    ...                     batch_size=2, input_scale=1.0)
    >>> log = m.fit(pairs, pairs, score=lambda p, t: 0.0, seed=0, progress=lambda *a: None)
    >>> m.predict(vol["a"]).shape
    (12, 12, 8)
"""

from __future__ import annotations

import copy
import itertools
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

from mbench.errors import MbenchError
from mbench.inference.sliding_window import sliding_window_predict, window_starts
from mbench.models.baselines.torch_utils import pick_device, seed_torch
from mbench.models.capabilities import Progress

__all__ = ["UNet3DRegressor", "patch_corners"]


def patch_corners(shape: Sequence[int], patch_size: Sequence[int], overlap: float) -> list[tuple[int, ...]]:
    """Window corners on the sliding-window grid of a (padded) volume of ``shape``.

    Example:
        >>> patch_corners((128, 96, 64), (64, 64, 64), 0.5)[:3]
        [(0, 0, 0), (0, 32, 0), (32, 0, 0)]
    """
    return list(itertools.product(*[window_starts(s, p, overlap) for s, p in zip(shape, patch_size)]))


def _pad_to(a: np.ndarray, patch: Sequence[int]) -> np.ndarray:
    """Zero-pad the last len(patch) axes (centred) up to the patch size, as the sliding window does."""
    spatial = a.shape[-len(patch):]
    pads = [max(p - s, 0) for p, s in zip(patch, spatial)]
    return np.pad(a, [(0, 0)] * (a.ndim - len(patch)) + [(p // 2, p - p // 2) for p in pads])


class UNet3DRegressor:
    """See the module docstring. ``device``: ``auto``, ``cpu`` or ``cuda``."""

    def __init__(self, in_channels: int = 1, channels: Sequence[int] = (32, 64, 128, 256),
                 strides: Sequence[int] = (2, 2, 2), patch_size: Sequence[int] = (64, 64, 64), overlap: float = 0.5,
                 background_threshold: float = 0.01, background_keep: float = 0.1, epochs: int = 200,
                 batch_size: int = 4, lr: float = 2e-4, l1_weight: float = 1.0, l2_weight: float = 1.0,
                 input_scale: float = 1000.0, target_scale: float = 1000.0, val_every: int = 1,
                 blend: str = "constant", device: str = "auto") -> None:
        if len(channels) != len(strides) + 1:
            raise MbenchError("a U-Net needs one stride fewer than levels", found=f"channels {list(channels)}, "
                              f"strides {list(strides)}", fix="e.g. channels [32, 64, 128, 256], strides [2, 2, 2]")
        self.in_channels, self.channels, self.strides = int(in_channels), tuple(channels), tuple(strides)
        self.patch = tuple(int(p) for p in patch_size)
        self.overlap, self.bg_threshold, self.bg_keep = overlap, background_threshold, background_keep
        self.epochs, self.batch_size, self.lr = int(epochs), int(batch_size), lr
        self.l1_weight, self.l2_weight = l1_weight, l2_weight
        self.input_scale, self.target_scale = float(input_scale), float(target_scale)
        self.val_every, self.blend = max(int(val_every), 1), blend
        self.device = pick_device(device)
        self.net: torch.nn.Module | None = None

    def _build(self) -> torch.nn.Module:
        from monai.networks.nets import UNet

        return UNet(spatial_dims=3, in_channels=self.in_channels, out_channels=1, channels=self.channels,
                    strides=self.strides, num_res_units=0, norm="batch").to(self.device)

    def _case_patches(self, data: Any, i: int, rng: np.random.Generator) -> list[tuple[np.ndarray, np.ndarray]]:
        x = data.input(i) / self.input_scale
        if x.shape[0] != self.in_channels:
            raise MbenchError("the task's input channels differ from the model's in_channels",
                              expected=self.in_channels, found=x.shape[0],
                              fix="set model.in_channels to the number of the variant's inputs")
        y = data.target(i)[None] / self.target_scale
        mask = data.mask(i)
        mask = np.ones(y.shape[1:], bool) if mask is None else mask
        x, y, m = _pad_to(x, self.patch), _pad_to(y, self.patch), _pad_to(mask[None], self.patch)[0]
        kept = []
        for corner in patch_corners(m.shape, self.patch, self.overlap):
            box = tuple(slice(c, c + p) for c, p in zip(corner, self.patch))
            if m[box].mean() < self.bg_threshold and rng.random() >= self.bg_keep:
                continue
            kept.append((x[(slice(None), *box)], y[(slice(None), *box)]))
        return kept

    def fit(self, train: Any, val: Any, *, score: Callable[[list[np.ndarray], list[np.ndarray]], float], seed: int,
            progress: Progress) -> dict:
        """Train on patches case by case; keep the weights that score best on ``val``."""
        seed_torch(seed)
        rng = np.random.default_rng(seed)
        self.net = self._build()
        opt = torch.optim.Adam(self.net.parameters(), lr=self.lr)
        best, best_state, history, t0 = -np.inf, None, [], time.perf_counter()
        for epoch in range(1, self.epochs + 1):
            self.net.train()
            losses, n_patches = [], 0
            for i in rng.permutation(len(train)):
                patches = self._case_patches(train, int(i), rng)
                order = rng.permutation(len(patches))
                n_patches += len(patches)
                for start in range(0, len(order), self.batch_size):
                    chunk = [patches[k] for k in order[start:start + self.batch_size]]
                    x = torch.from_numpy(np.stack([c[0] for c in chunk])).to(self.device)
                    y = torch.from_numpy(np.stack([c[1] for c in chunk])).to(self.device)
                    pred = self.net(x)
                    loss = self.l1_weight * torch.nn.functional.l1_loss(pred, y) + \
                        self.l2_weight * torch.nn.functional.mse_loss(pred, y)
                    opt.zero_grad()
                    loss.backward()
                    opt.step()
                    losses.append(loss.item())
            entry = {"epoch": epoch, "loss": float(np.mean(losses)) if losses else None, "patches": n_patches}
            if epoch % self.val_every == 0 or epoch == self.epochs:
                preds = [self.predict(val.input(k)) for k in range(len(val))]
                value = score(preds, [val.target(k) for k in range(len(val))]) if preds else -(entry["loss"] or 0)
                entry["val_score"] = value
                if value > best or best_state is None:
                    best, best_state = value, copy.deepcopy(self.net.state_dict())
            history.append(entry)
            progress("train", epoch, self.epochs)
        if best_state is not None:
            self.net.load_state_dict(best_state)
        return {"n_parameters": int(sum(p.numel() for p in self.net.parameters())), "epochs": self.epochs,
                "best_val_score": float(best), "history": history, "seconds": time.perf_counter() - t0}

    def predict(self, inputs: np.ndarray) -> np.ndarray:
        """``(C, x, y, z)`` MRI channels -> ``(x, y, z)`` in target units, by sliding-window inference."""
        if self.net is None:
            raise MbenchError("predict before fit", fix="call fit first")
        self.net.eval()
        out = sliding_window_predict(np.asarray(inputs, np.float32) / self.input_scale, self.net,
                                     patch_size=self.patch, out_channels=1, overlap=self.overlap,
                                     batch_size=self.batch_size, device=str(self.device), blend=self.blend)
        return out[0] * self.target_scale
