"""Trainable x``scale`` super-resolution (an ImageTranslator): SRResNet / ESRNet (L1) or BliMSR (GAN, loss ensemble).

Training follows the paper's recipe per iteration: ``batch_size`` random training cases, a random ``hr_patch``
crop of each target, its input synthesised on the fly by the task's degradation chain (or cropped from stored
inputs), one generator step on ``L_G`` (:mod:`mbench.models.baselines.sr_losses`; only the terms with non-zero
weight are computed) and, when the adversarial weight is non-zero, one step of the spectrally normalised
discriminator on the GAN log loss. Every ``val_every`` iterations (and at the end) the generator predicts the
validation cases (whole images) and the best-scoring weights are kept.

Example:
    >>> import numpy as np
    >>> from mbench.data.paired import PairedCases
    >>> hr = {c: np.random.default_rng(i).random((32, 32)).astype(np.float32) for i, c in enumerate("abc")}
    >>> down = lambda t, rng: t[::4, ::4][None]
    >>> train = PairedCases(["a", "b"], None, hr.get, synthesise=down)
    >>> val = PairedCases(["c"], lambda c: hr[c][::4, ::4][None], hr.get)
    >>> m = SuperResolver(arch="srresnet", channels=8, n_blocks=1, iterations=2, hr_patch=16, val_every=2,
    ...                   perceptual_weight=0, adversarial_weight=0)
    >>> log = m.fit(train, val, score=lambda p, t: -float(np.mean([np.abs(a - b).mean() for a, b in zip(p, t)])),
    ...             seed=0, progress=lambda *a: None)
    >>> m.predict(val.input(0)).shape, log["iterations"]
    ((32, 32), 2)
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from mbench.errors import MbenchError
from mbench.models.baselines.sr_losses import VGGPerceptual, adversarial_loss, dssim_loss, gradient_loss
from mbench.models.baselines.sr_networks import BliMSRGenerator, SNResNetDiscriminator, SRResNet
from mbench.models.baselines.torch_utils import pick_device, seed_torch
from mbench.models.capabilities import Progress

__all__ = ["SuperResolver"]


class SuperResolver:
    """SR generator (+ discriminator) trained on lazily read pairs; see the module docstring.

    Args:
        arch: ``srresnet`` or ``blimsr``.
        channels, n_blocks, scale, batch_norm, reduction: generator shape (batch_norm: SRResNet only).
        disc_channels: discriminator base width.
        iterations, batch_size, lr, betas: Adam schedule (generator and discriminator alike).
        hr_patch: side of the target crops (a multiple of ``scale``); None trains on whole images.
        content_weight, perceptual_weight, adversarial_weight, gradient_weight, dssim_weight: ``L_G`` weights.
        val_every: iterations between checkpoint selections on the validation set.
    """

    def __init__(self, arch: str = "blimsr", channels: int = 64, n_blocks: int = 16, scale: int = 4,
                 batch_norm: bool = False, reduction: int = 4, disc_channels: int = 64, iterations: int = 350_000,
                 batch_size: int = 4, lr: float = 1e-5, betas: tuple[float, float] | list[float] = (0.9, 0.999),
                 hr_patch: int | None = 256, content_weight: float = 0.1, perceptual_weight: float = 1.0,
                 adversarial_weight: float = 0.01, gradient_weight: float = 1.0, dssim_weight: float = 1.0,
                 val_every: int = 5000, device: str = "auto") -> None:
        if arch not in ("srresnet", "blimsr"):
            raise MbenchError(f"unknown SR architecture {arch!r}", expected="srresnet or blimsr", found=arch)
        if hr_patch is not None and hr_patch % scale:
            raise MbenchError("hr_patch must be a multiple of the scale", found=f"{hr_patch} with scale {scale}")
        self.arch, self.scale, self.hr_patch = arch, int(scale), hr_patch
        self.shape = dict(channels=channels, n_blocks=n_blocks, batch_norm=batch_norm, reduction=reduction)
        self.disc_channels = disc_channels
        self.iterations, self.batch_size, self.lr, self.betas = int(iterations), int(batch_size), lr, tuple(betas)
        self.weights = dict(content=content_weight, perceptual=perceptual_weight, adversarial=adversarial_weight,
                            gradient=gradient_weight, dssim=dssim_weight)
        self.val_every = max(int(val_every), 1)
        self.device = pick_device(device)
        self.net: torch.nn.Module | None = None

    def _generator(self) -> torch.nn.Module:
        s = self.shape
        if self.arch == "srresnet":
            return SRResNet(s["channels"], s["n_blocks"], self.scale, s["batch_norm"])
        return BliMSRGenerator(s["channels"], s["n_blocks"], self.scale, s["reduction"])

    def _batch(self, data: Any, rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        lrs, hrs = [], []
        for i in rng.integers(0, len(data), self.batch_size):
            hr = data.target(int(i))
            if self.hr_patch is not None:
                p = self.hr_patch
                if min(hr.shape) < p:
                    raise MbenchError("training images are smaller than hr_patch", found=f"{hr.shape} < {p}",
                                      fix="lower model.hr_patch")
                y0 = int(rng.integers(0, (hr.shape[0] - p) // self.scale + 1)) * self.scale
                x0 = int(rng.integers(0, (hr.shape[1] - p) // self.scale + 1)) * self.scale
                box = (slice(y0, y0 + p), slice(x0, x0 + p))
            else:
                box = (slice(None), slice(None))
            if data.synthesise is not None:
                lr = data.synthesise(hr[box], rng)
            else:
                s = self.scale
                lr_box = tuple(slice(None if b.start is None else b.start // s, None if b.stop is None else b.stop // s)
                               for b in box)
                lr = data.input(int(i))[(slice(None), *lr_box)]
            lrs.append(np.asarray(lr, np.float32))
            hrs.append(hr[box][None])
        to = lambda a: torch.from_numpy(np.stack(a)).to(self.device)
        return to(lrs), to(hrs)

    def _losses(self, sr: torch.Tensor, hr: torch.Tensor, perceptual: VGGPerceptual | None,
                disc: torch.nn.Module | None) -> torch.Tensor:
        w = self.weights
        total = w["content"] * torch.nn.functional.l1_loss(sr, hr)
        if perceptual is not None:
            total = total + w["perceptual"] * perceptual(sr, hr)
        if w["gradient"]:
            total = total + w["gradient"] * gradient_loss(sr, hr)
        if w["dssim"]:
            total = total + w["dssim"] * dssim_loss(sr, hr)
        if disc is not None:
            total = total + w["adversarial"] * adversarial_loss(disc(sr), real=True)
        return total

    def fit(self, train: Any, val: Any, *, score: Callable[[list[np.ndarray], list[np.ndarray]], float], seed: int,
            progress: Progress) -> dict:
        """Train for ``iterations`` and keep the generator weights that score best on ``val``."""
        seed_torch(seed)
        rng = np.random.default_rng(seed)
        self.net = self._generator().to(self.device)
        disc = SNResNetDiscriminator(self.disc_channels).to(self.device) if self.weights["adversarial"] else None
        perceptual = VGGPerceptual().to(self.device) if self.weights["perceptual"] else None
        opt_g = torch.optim.Adam(self.net.parameters(), lr=self.lr, betas=self.betas)
        opt_d = torch.optim.Adam(disc.parameters(), lr=self.lr, betas=self.betas) if disc is not None else None
        best, best_state, history = -np.inf, None, []
        t0 = time.perf_counter()
        for it in range(1, self.iterations + 1):
            self.net.train()
            lr_img, hr_img = self._batch(train, rng)
            sr = self.net(lr_img)
            loss_g = self._losses(sr, hr_img, perceptual, disc)
            opt_g.zero_grad()
            loss_g.backward()
            opt_g.step()
            loss_d = None
            if disc is not None and opt_d is not None:
                loss_d = adversarial_loss(disc(hr_img), real=True) + adversarial_loss(disc(sr.detach()), real=False)
                opt_d.zero_grad()
                loss_d.backward()
                opt_d.step()
            if it % self.val_every == 0 or it == self.iterations:
                preds = [self.predict(val.input(i)) for i in range(len(val))] if len(val) else []
                value = score(preds, [val.target(i) for i in range(len(val))]) if preds else -loss_g.item()
                history.append({"iteration": it, "loss_g": loss_g.item(), "loss_d": None if loss_d is None
                                else loss_d.item(), "val_score": value})
                if value > best or best_state is None:
                    best, best_state = value, copy.deepcopy(self.net.state_dict())
            progress("train", it, self.iterations)
        if best_state is not None:
            self.net.load_state_dict(best_state)
        return {"n_parameters": int(sum(p.numel() for p in self.net.parameters())),
                "n_parameters_discriminator": None if disc is None else int(sum(p.numel() for p in disc.parameters())),
                "iterations": self.iterations, "best_val_score": float(best), "history": history,
                "seconds": time.perf_counter() - t0}

    def predict(self, inputs: np.ndarray) -> np.ndarray:
        """``(1, h, w)`` in [0, 1] -> ``(h * scale, w * scale)`` clipped to [0, 1]."""
        if self.net is None:
            raise MbenchError("predict before fit", fix="call fit first")
        self.net.eval()
        with torch.no_grad():
            x = torch.from_numpy(np.asarray(inputs, np.float32)[None]).to(self.device)
            out = self.net(x)[0, 0].clamp(0, 1)
        return out.cpu().numpy()
