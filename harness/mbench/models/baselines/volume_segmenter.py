"""3D segmentation baselines (MONAI 3D U-Net, SegResNet) trained on patches, predicted by sliding window.

nnU-Net-style training loop: every epoch draws ``iterations_per_epoch`` batches of random patches (a third
of each batch centred on foreground, :class:`~mbench.data.volumes.PatchSampler`), random mirroring along
each axis, Dice + cross-entropy loss, SGD with Nesterov momentum 0.99 and the poly learning-rate schedule
(or Adam / AdamW). Every ``val_every`` epochs (and after the last) the validation cases are predicted whole
with the Gaussian-weighted sliding window and scored; the best checkpoint is kept. Only one case and one
batch are in memory at a time.

Not reproduced from nnU-Net: its full augmentation pipeline (rotation, scaling, elastic, gamma, blur,
low-resolution simulation), deep supervision and test-time mirroring (``tta_mirror`` adds the last).

Example:
    >>> import numpy as np
    >>> from mbench.data.volumes import ArrayVolumes
    >>> img = np.random.default_rng(0).random((1, 16, 16, 16), dtype=np.float32)
    >>> lab = (img[0] > 0.5).astype(np.int16)
    >>> src = ArrayVolumes({"a": (img, lab, (1, 1, 1))})
    >>> m = VolumeSegmenterNet(arch="unet", channels=[4, 8], strides=[2], num_res_units=0, patch_size=[8, 8, 8],
    ...                        batch_size=2, epochs=1, iterations_per_epoch=2, device="cpu")
    >>> log = m.fit(src, src, classes=2, score=lambda p, r, s: float((p == r).mean()), seed=0)
    >>> m.predict_proba(img).shape
    (2, 16, 16, 16)
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch

from mbench.data.volumes import PatchSampler, VolumeAccess
from mbench.errors import MbenchError
from mbench.models.baselines.torch_utils import make_optimizer, pick_device, seed_torch
from mbench.models.capabilities import Progress, no_progress

__all__ = ["VolumeSegmenterNet", "build_volume_net"]


def build_volume_net(arch: str, in_channels: int, classes: int, *, channels: Sequence[int] = (32, 64, 128, 256, 320),
                     strides: Sequence[int] = (2, 2, 2, 2), num_res_units: int = 2, init_filters: int = 32,
                     blocks_down: Sequence[int] = (1, 2, 2, 4)) -> torch.nn.Module:
    """A MONAI 3D network: ``unet`` (``monai.networks.nets.UNet``, instance norm) or ``segresnet``
    (``SegResNetDS``, the Auto3DSeg SegResNet, no VAE branch).

    Example:
        >>> net = build_volume_net("segresnet", 1, 3, init_filters=4, blocks_down=[1, 1])
        >>> tuple(net(torch.zeros(1, 1, 16, 16, 16)).shape)
        (1, 3, 16, 16, 16)
    """
    if arch == "unet":
        from monai.networks.nets import UNet

        if len(strides) != len(channels) - 1:
            raise MbenchError("3D U-Net: one stride per down-sampling step", expected=f"{len(channels) - 1} strides",
                              found=f"{len(strides)}", fix="give len(channels) - 1 strides")
        return UNet(spatial_dims=3, in_channels=in_channels, out_channels=classes, channels=tuple(channels),
                    strides=tuple(strides), num_res_units=num_res_units, norm="instance")
    if arch == "segresnet":
        from monai.networks.nets import SegResNetDS

        return SegResNetDS(spatial_dims=3, init_filters=init_filters, in_channels=in_channels, out_channels=classes,
                           blocks_down=tuple(blocks_down), norm="instance", dsdepth=1)
    raise MbenchError(f"unknown 3D architecture {arch!r}", expected="unet or segresnet", found=arch)


def _poly(lr: float, step: int, total: int, exponent: float = 0.9) -> float:
    return lr * (1 - step / max(total, 1)) ** exponent


class VolumeSegmenterNet:
    """A :class:`~mbench.models.capabilities.VolumeSegmenter` on a MONAI network (see the module docstring).

    Args:
        arch: ``unet`` or ``segresnet``; the architecture keywords go to :func:`build_volume_net`.
        patch_size: training and sliding-window patch (voxels per array axis).
        batch_size: patches per training step.
        epochs, iterations_per_epoch: training length (nnU-Net: 1000 x 250).
        optimizer: ``sgd`` (Nesterov, momentum 0.99, poly schedule, as nnU-Net), ``adam`` or ``adamw``.
        lr, weight_decay: optimiser settings.
        foreground_fraction: share of each batch centred on foreground.
        val_every: validate every this many epochs (and after the last).
        overlap, sw_batch_size: sliding-window overlap and patches per forward pass at inference.
        tta_mirror: average the probabilities over the 8 axis flips at inference (nnU-Net's default).
        device: ``auto``, ``cpu`` or ``cuda``.
    """

    def __init__(self, arch: str = "unet", *, channels: Sequence[int] = (32, 64, 128, 256, 320),
                 strides: Sequence[int] = (2, 2, 2, 2), num_res_units: int = 2, init_filters: int = 32,
                 blocks_down: Sequence[int] = (1, 2, 2, 4), patch_size: Sequence[int] = (128, 128, 128),
                 batch_size: int = 2, epochs: int = 1000, iterations_per_epoch: int = 250, optimizer: str = "sgd",
                 lr: float = 0.01, weight_decay: float = 3e-5, foreground_fraction: float = 1 / 3,
                 val_every: int = 50, overlap: float = 0.5, sw_batch_size: int = 4, tta_mirror: bool = False,
                 device: str = "auto") -> None:
        self.arch = arch
        self.net_kwargs = {"channels": list(channels), "strides": list(strides), "num_res_units": num_res_units,
                           "init_filters": init_filters, "blocks_down": list(blocks_down)}
        self.patch_size = tuple(int(p) for p in patch_size)
        if len(self.patch_size) != 3:
            raise MbenchError("patch_size needs three sizes", found=str(list(patch_size)))
        self.batch_size, self.epochs, self.iterations = int(batch_size), int(epochs), int(iterations_per_epoch)
        self.optimizer, self.lr, self.weight_decay = optimizer, float(lr), float(weight_decay)
        self.foreground_fraction, self.val_every = float(foreground_fraction), max(int(val_every), 1)
        self.overlap, self.sw_batch_size, self.tta_mirror = float(overlap), int(sw_batch_size), bool(tta_mirror)
        self.device = pick_device(device)
        self.net: torch.nn.Module | None = None
        self.shape: tuple[int, int] | None = None  # (in_channels, classes)

    def _build(self, in_channels: int, classes: int) -> torch.nn.Module:
        self.shape = (in_channels, classes)
        return build_volume_net(self.arch, in_channels, classes, **self.net_kwargs).to(self.device)

    def _optimiser(self, net: torch.nn.Module) -> torch.optim.Optimizer:
        if self.optimizer == "sgd":
            return torch.optim.SGD(net.parameters(), lr=self.lr, momentum=0.99, nesterov=True,
                                   weight_decay=self.weight_decay)
        opt = make_optimizer(self.optimizer, net.parameters(), self.lr)
        for group in opt.param_groups:
            group["weight_decay"] = self.weight_decay
        return opt

    def fit(self, train: VolumeAccess, val: VolumeAccess | None, *, classes: int,
            score: Callable[[np.ndarray, np.ndarray, tuple], float], seed: int,
            progress: Progress = no_progress) -> dict:
        """Train from scratch on patches of ``train``; keep the checkpoint with the best mean ``score`` on ``val``."""
        from monai.losses import DiceCELoss

        seed_torch(seed)
        rng = np.random.default_rng(seed)
        in_channels = int(train.load(train.ids[0]).image.shape[0])
        self.net = net = self._build(in_channels, classes)
        opt = self._optimiser(net)
        loss_fn = DiceCELoss(to_onehot_y=True, softmax=True, include_background=False, batch=True)
        sampler = PatchSampler(train, self.patch_size, self.foreground_fraction)
        total, step = self.epochs * self.iterations, 0
        best, best_epoch, best_state, history = -np.inf, -1, None, []
        start = time.perf_counter()
        for epoch in range(1, self.epochs + 1):
            net.train()
            losses = []
            for _ in range(self.iterations):
                x, y = sampler.sample(rng, self.batch_size)
                for axis in range(3):  # random mirroring, one draw per batch and axis
                    if rng.random() < 0.5:
                        x, y = np.flip(x, axis + 2), np.flip(y, axis + 1)
                xt = torch.from_numpy(np.ascontiguousarray(x)).to(self.device)
                yt = torch.from_numpy(np.ascontiguousarray(y)).unsqueeze(1).to(self.device)
                if self.optimizer == "sgd":
                    for group in opt.param_groups:
                        group["lr"] = _poly(self.lr, step, total)
                opt.zero_grad(set_to_none=True)
                loss = loss_fn(net(xt), yt)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(net.parameters(), 12.0)
                opt.step()
                losses.append(float(loss.item()))
                step += 1
            entry = {"epoch": epoch, "loss": float(np.mean(losses))}
            if val is not None and val.ids and (epoch % self.val_every == 0 or epoch == self.epochs):
                entry["val_score"] = self.validate(val, score)
                if entry["val_score"] > best:
                    best, best_epoch, best_state = entry["val_score"], epoch, copy.deepcopy(net.state_dict())
            history.append(entry)
            progress("train", epoch, self.epochs)
        if best_state is not None:
            net.load_state_dict(best_state)
        elif val is None or not val.ids:
            best_epoch = self.epochs
        net.eval()
        return {"history": history, "best_epoch": best_epoch, "best_val_score": best,
                "seconds": time.perf_counter() - start, "n_parameters": int(sum(p.numel() for p in net.parameters())),
                "patch_size": list(self.patch_size)}

    def validate(self, val: VolumeAccess, score: Callable[[np.ndarray, np.ndarray, tuple], float]) -> float:
        """Mean ``score`` over the validation cases, each predicted whole (one case in memory at a time)."""
        values = []
        for case_id in val.ids:
            case = val.load(case_id)
            pred = self.predict_proba(np.asarray(case.image)).argmax(0)
            values.append(float(score(pred, np.asarray(case.labelmap), case.spacing)))
        finite = [v for v in values if np.isfinite(v)]
        return float(np.mean(finite)) if finite else -np.inf

    def predict_proba(self, image: np.ndarray) -> np.ndarray:
        """Softmax probabilities (classes, D, H, W) of one image (C, D, H, W), Gaussian-blended sliding window."""
        from mbench.inference.sliding_window import sliding_window_predict

        if self.net is None or self.shape is None:
            raise MbenchError("predict before fit", fix="call fit() or load() first")
        net = self.net.eval()
        image = np.asarray(image, dtype=np.float32)
        flips = [()] + ([(a,) for a in (1, 2, 3)] + [(1, 2), (1, 3), (2, 3), (1, 2, 3)] if self.tta_mirror else [])
        out = None
        for axes in flips:
            x = np.ascontiguousarray(np.flip(image, axes)) if axes else image
            p = sliding_window_predict(x, lambda t: torch.softmax(net(t), dim=1), patch_size=self.patch_size,
                                       out_channels=self.shape[1], overlap=self.overlap,
                                       batch_size=self.sw_batch_size, device=str(self.device))
            p = np.flip(p, axes) if axes else p
            out = p if out is None else out + p
        return (out / len(flips)).astype(np.float32)

    def save(self, path: str | Path) -> None:
        """Write the weights and the network shape (torch checkpoint)."""
        if self.net is None or self.shape is None:
            raise MbenchError("nothing to save before fit")
        torch.save({"state": self.net.state_dict(), "shape": list(self.shape), "arch": self.arch}, str(path))

    def load(self, path: str | Path) -> None:
        """Read weights written by :meth:`save` (tensors only)."""
        blob = torch.load(str(path), map_location=self.device, weights_only=True)
        if blob.get("arch") != self.arch:
            raise MbenchError("checkpoint is of another architecture", expected=self.arch, found=str(blob.get("arch")))
        self.net = self._build(*blob["shape"])
        self.net.load_state_dict(blob["state"])
        self.net.eval()
