"""EEG window classifiers of paper 14 (media decoding), in torch after braindecode / arl-eegmodels:

* **EEGNet** (Lawhern et al. 2018): temporal conv (F1 filters, 1 x kernel) -> BN -> depthwise spatial conv (C x 1,
  depth D, max-norm 1) -> BN -> ELU -> AvgPool (1, 4) -> dropout -> separable conv (F2, 1 x 16) -> BN -> ELU ->
  AvgPool (1, 8) -> dropout -> dense (max-norm 0.25). ``eegnet_ssvep`` is the same network with F1 = F2 = 96,
  D = 1 and a 256-sample kernel (Waytowich et al. 2018).
* **DeepConvNet** (Schirrmeister et al. 2017): 25 temporal (1 x 5) + 25 spatial (C x 1) filters, then blocks of
  50 / 100 / 200 filters (1 x 5); each block BN -> ELU -> MaxPool (1, 2) -> dropout 0.5; dense. Max-norm 2 on the
  convolutions, 0.5 on the dense layer (the Keras reference).

:class:`SignalClassifier` implements :class:`~mbench.models.capabilities.SignalLearner`: windows (N, channels,
samples) -> class probabilities, cross-entropy, Adam, the checkpoint with the best validation accuracy kept.

Example:
    >>> import torch
    >>> EEGNet(n_channels=4, n_samples=128, n_classes=3)(torch.zeros(2, 1, 4, 128)).shape
    torch.Size([2, 3])
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from mbench.errors import MbenchError
from mbench.models.baselines.torch_utils import pick_device
from mbench.models.baselines.training import fit_supervised
from mbench.models.capabilities import Progress, no_progress

__all__ = ["EEGNet", "DeepConvNet", "SignalClassifier", "ARCHITECTURES"]


class _MaxNorm(nn.Module):
    """Wraps a layer and renormalises each output unit's weights to at most ``max_norm`` before every forward (so the
    constraint holds for every update that a forward pass sees, and again before inference)."""

    def __init__(self, layer: nn.Module, max_norm: float) -> None:
        super().__init__()
        self.layer, self.max_norm = layer, max_norm

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            w = self.layer.weight
            w.copy_(torch.renorm(w, p=2, dim=0, maxnorm=self.max_norm))
        return self.layer(x)


class EEGNet(nn.Module):
    """EEGNet-(F1, D) for input (N, 1, channels, samples)."""

    def __init__(self, n_channels: int, n_samples: int, n_classes: int, f1: int = 8, depth: int = 2, f2: int = 16,
                 kernel: int = 64, dropout: float = 0.5) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, f1, (1, kernel), padding=(0, kernel // 2), bias=False), nn.BatchNorm2d(f1),
            _MaxNorm(nn.Conv2d(f1, f1 * depth, (n_channels, 1), groups=f1, bias=False), 1.0),
            nn.BatchNorm2d(f1 * depth), nn.ELU(), nn.AvgPool2d((1, 4)), nn.Dropout(dropout),
            nn.Conv2d(f1 * depth, f1 * depth, (1, 16), padding=(0, 8), groups=f1 * depth, bias=False),
            nn.Conv2d(f1 * depth, f2, 1, bias=False), nn.BatchNorm2d(f2), nn.ELU(), nn.AvgPool2d((1, 8)),
            nn.Dropout(dropout), nn.Flatten())
        with torch.no_grad():
            n_out = self.features(torch.zeros(1, 1, n_channels, n_samples)).shape[1]
        self.classifier = _MaxNorm(nn.Linear(n_out, n_classes), 0.25)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


class DeepConvNet(nn.Module):
    """Deep ConvNet for input (N, 1, channels, samples)."""

    def __init__(self, n_channels: int, n_samples: int, n_classes: int, filters: tuple[int, ...] = (25, 50, 100, 200),
                 kernel: int = 5, dropout: float = 0.5) -> None:
        super().__init__()
        if n_samples < kernel * 2 ** len(filters):
            raise MbenchError("window too short for DeepConvNet", expected=f">= {kernel * 2 ** len(filters)} samples",
                              found=str(n_samples), fix="use a longer window")
        layers: list[nn.Module] = [_MaxNorm(nn.Conv2d(1, filters[0], (1, kernel)), 2.0),
                                   _MaxNorm(nn.Conv2d(filters[0], filters[0], (n_channels, 1), bias=False), 2.0)]
        width = filters[0]
        for k, f in enumerate(filters):
            if k:
                layers.append(_MaxNorm(nn.Conv2d(width, f, (1, kernel), bias=False), 2.0))
            layers += [nn.BatchNorm2d(f), nn.ELU(), nn.MaxPool2d((1, 2), (1, 2)), nn.Dropout(dropout)]
            width = f
        self.features = nn.Sequential(*layers, nn.Flatten())
        with torch.no_grad():
            n_out = self.features(torch.zeros(1, 1, n_channels, n_samples)).shape[1]
        self.classifier = _MaxNorm(nn.Linear(n_out, n_classes), 0.5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


ARCHITECTURES = {"eegnet": EEGNet, "deepconvnet": DeepConvNet}


class SignalClassifier:
    """A registered EEG window classifier (``arch`` = ``eegnet`` or ``deepconvnet``, ``arch_params`` its settings)."""

    def __init__(self, arch: str = "eegnet", arch_params: dict | None = None, lr: float = 1e-3, epochs: int = 150,
                 batch_size: int = 64, optimizer: str = "adam", device: str = "auto") -> None:
        if arch not in ARCHITECTURES:
            raise MbenchError(f"unknown EEG architecture {arch!r}", expected=", ".join(ARCHITECTURES), found=arch)
        self.arch, self.arch_params = arch, dict(arch_params or {})
        self.lr, self.epochs, self.batch_size, self.optimizer = lr, int(epochs), int(batch_size), optimizer
        self.device = pick_device(device)
        self.net: nn.Module | None = None

    def fit(self, signals: np.ndarray, targets: np.ndarray, val_signals: np.ndarray, val_targets: np.ndarray, *,
            n_classes: int, seed: int, progress: Progress = no_progress) -> dict:
        """Train on windows (N, C, T) with labels 0..n_classes-1; keep the best validation-accuracy checkpoint."""
        if signals.ndim != 3:
            raise MbenchError("signal classifiers take windows (N, channels, samples)", found=f"{signals.shape}")
        torch.manual_seed(seed)
        self.net = ARCHITECTURES[self.arch](signals.shape[1], signals.shape[2], n_classes,
                                            **self.arch_params).to(self.device)
        log = fit_supervised(self.net, forward=self.net, loss_fn=nn.functional.cross_entropy, predict=self.predict,
                             images=signals, targets=np.asarray(targets, dtype=np.int64), val_images=val_signals,
                             val_targets=val_targets,
                             score=lambda p, t: float((p.argmax(axis=1) == np.asarray(t)).mean()),
                             optimizer=self.optimizer, lr=self.lr, epochs=self.epochs, batch_size=self.batch_size,
                             seed=seed, device=self.device, progress=progress)
        log["n_parameters"] = sum(p.numel() for p in self.net.parameters())
        return log

    @torch.no_grad()
    def predict(self, signals: np.ndarray) -> np.ndarray:
        """(N, n_classes) softmax probabilities."""
        if self.net is None:
            raise MbenchError("predict before fit", fix="call fit first")
        self.net.eval()
        out = []
        for start in range(0, len(signals), 256):
            x = torch.as_tensor(np.ascontiguousarray(signals[start:start + 256]), dtype=torch.float32)
            out.append(torch.softmax(self.net(x.unsqueeze(1).to(self.device)), dim=1).cpu().numpy())
        return np.concatenate(out) if out else np.zeros((0, 0))
