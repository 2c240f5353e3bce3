"""ResNet multi-label classifier (timm), sigmoid outputs, binary cross-entropy."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as nnf

from mbench.models.baselines.pretrained import cached_hub_file
from mbench.models.baselines.torch_utils import replicate_channels, resize
from mbench.models.baselines.training import SupervisedLearner

__all__ = ["ResNetClassifier"]


class ResNetClassifier(SupervisedLearner):
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
        super().__init__(optimizer, lr, epochs, batch_size, image_size, device)
        self.arch, self.in_channels = arch, in_channels
        self.pretrained, self.pretrained_path = pretrained, pretrained_path

    def build(self, targets: np.ndarray | int) -> torch.nn.Module:
        """A fresh network with one output per target column (ImageNet backbone when ``pretrained``)."""
        import timm

        n_labels = targets if isinstance(targets, int) else targets.shape[1]
        kwargs = dict(num_classes=n_labels, in_chans=self.in_channels)
        if not self.pretrained:
            return timm.create_model(self.arch, pretrained=False, **kwargs).to(self.device)
        cfg = timm.create_model(self.arch, pretrained=False).pretrained_cfg
        path = cached_hub_file(cfg["hf_hub_id"], "model.safetensors", explicit=self.pretrained_path)
        net = timm.create_model(self.arch, pretrained=True, pretrained_cfg_overlay={"file": str(path)}, **kwargs)
        return net.to(self.device)

    def _forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(replicate_channels(resize(x, self.image_size), self.in_channels))

    def _loss(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return nnf.binary_cross_entropy_with_logits(logits, targets.float())

    def _to_prediction(self, logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """Per-label probabilities (N, L) float32."""
        return logits.sigmoid().float()
