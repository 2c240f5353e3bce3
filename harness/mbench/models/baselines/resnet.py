"""ResNet multi-label classifier (timm), sigmoid outputs, binary cross-entropy."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as nnf

from mbench.models.baselines.pretrained import cached_hub_file
from mbench.models.baselines.torch_utils import pick_device, replicate_channels, resize, seed_torch, to_tensor
from mbench.models.baselines.training import fit_supervised
from mbench.models.capabilities import Progress, no_progress

__all__ = ["ResNetClassifier"]


class ResNetClassifier:
    """Multi-label image classifier; ``predict`` returns per-label probabilities (N, L).

    Args:
        arch: timm architecture name (``resnet18``).
        in_channels: network input channels (a single-channel image is replicated).
        pretrained: ImageNet weights from the local Hugging Face cache (timm's ``hf_hub_id``).
        pretrained_path: an explicit weights file instead of the cache.
        optimizer, lr, epochs, batch_size, image_size, device: as for :class:`UNetSegmenter`.
    """

    def __init__(self, arch: str = "resnet18", in_channels: int = 3, optimizer: str = "adam", lr: float = 1e-5,
                 epochs: int = 50, batch_size: int = 32, image_size: int | None = None, pretrained: bool = True,
                 pretrained_path: str | None = None, device: str = "auto") -> None:
        self.arch, self.in_channels = arch, in_channels
        self.optimizer, self.lr, self.epochs, self.batch_size = optimizer, lr, epochs, batch_size
        self.image_size, self.pretrained, self.pretrained_path = image_size, pretrained, pretrained_path
        self.device = pick_device(device)
        self.net: torch.nn.Module | None = None

    def build(self, n_labels: int) -> torch.nn.Module:
        """A fresh network with ``n_labels`` outputs (ImageNet backbone weights when ``pretrained``)."""
        import timm

        kwargs = dict(num_classes=n_labels, in_chans=self.in_channels)
        if not self.pretrained:
            return timm.create_model(self.arch, pretrained=False, **kwargs).to(self.device)
        cfg = timm.create_model(self.arch, pretrained=False).pretrained_cfg
        path = cached_hub_file(cfg["hf_hub_id"], "model.safetensors", explicit=self.pretrained_path)
        net = timm.create_model(self.arch, pretrained=True, pretrained_cfg_overlay={"file": str(path)}, **kwargs)
        return net.to(self.device)

    def _forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(replicate_channels(resize(x, self.image_size), self.in_channels))

    @staticmethod
    def _loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return nnf.binary_cross_entropy_with_logits(logits, targets.float())

    def fit(self, images: np.ndarray, targets: np.ndarray, val_images: np.ndarray, val_targets: np.ndarray, *,
            score: Callable[[np.ndarray, np.ndarray], float], seed: int, progress: Progress = no_progress) -> dict:
        seed_torch(seed)
        self.net = self.build(targets.shape[1])
        return fit_supervised(self.net, forward=self._forward, loss_fn=self._loss, predict=self.predict,
                              images=images, targets=targets, val_images=val_images, val_targets=val_targets,
                              score=score, optimizer=self.optimizer, lr=self.lr, epochs=self.epochs,
                              batch_size=self.batch_size, seed=seed, device=self.device, progress=progress)

    @torch.inference_mode()
    def predict(self, images: np.ndarray) -> np.ndarray:
        """Per-label probabilities (N, L) float32."""
        if self.net is None:
            raise RuntimeError("predict() before fit()")
        self.net.eval()
        out = [self._forward(to_tensor(images[s:s + self.batch_size], self.device)).sigmoid().cpu().numpy()
               for s in range(0, len(images), max(self.batch_size, 1))]
        return np.concatenate(out).astype(np.float32)
