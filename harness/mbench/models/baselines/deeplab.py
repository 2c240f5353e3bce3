"""DeepLabV3+ learner (segmentation-models-pytorch), the U-Net learner's training with smp's ``DeepLabV3Plus``."""

from __future__ import annotations

import numpy as np
import torch

from mbench.models.baselines.unet import UNetSegmenter

__all__ = ["DeepLabV3PlusSegmenter"]


class DeepLabV3PlusSegmenter(UNetSegmenter):
    """DeepLabV3+ (Chen et al. 2018) with an smp encoder (e.g. ``resnet50``, ``mobilenet_v2``), output stride 16.

    Args: as :class:`UNetSegmenter`, with ``decoder_channels`` one int (the ASPP / decoder width) and no
    ``encoder_depth`` (smp's DeepLabV3+ uses the full 5-stage encoder).
    """

    def __init__(self, encoder: str = "resnet50", decoder_channels: int = 256, in_channels: int = 3,
                 optimizer: str = "adam", lr: float = 1e-3, epochs: int = 20, batch_size: int = 8,
                 image_size: int | None = None, pretrained: bool = False, pretrained_path: str | None = None,
                 classes: int = 2, loss: str = "ce", device: str = "auto") -> None:
        super().__init__(encoder=encoder, encoder_depth=5, decoder_channels=[decoder_channels], in_channels=in_channels,
                         optimizer=optimizer, lr=lr, epochs=epochs, batch_size=batch_size, image_size=image_size,
                         pretrained=pretrained, pretrained_path=pretrained_path, classes=classes, loss=loss,
                         device=device)

    def build(self, targets: np.ndarray | None = None) -> torch.nn.Module:
        import segmentation_models_pytorch as smp

        a = self.arch
        return self._smp_network(smp.DeepLabV3Plus, decoder_channels=a["decoder_channels"][0], classes=a["classes"])
