"""U-Net learner for binary segmentation (segmentation-models-pytorch), CE + Dice loss."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as nnf

from mbench.errors import MbenchError
from mbench.models.baselines.pretrained import cached_hub_file
from mbench.models.baselines.torch_utils import replicate_channels, resize
from mbench.models.baselines.training import SupervisedLearner

__all__ = ["UNetSegmenter", "ce_dice_loss", "segmentation_loss"]


def ce_dice_loss(logits: torch.Tensor, target: torch.Tensor, eps: float = 1.0) -> torch.Tensor:
    """Pixel-wise cross-entropy plus soft Dice loss, averaged over the foreground classes (batch-level Dice)."""
    target = target.long()
    ce = nnf.cross_entropy(logits, target)
    probs = logits.softmax(dim=1)[:, 1:]
    onehot = nnf.one_hot(target, logits.shape[1]).permute(0, 3, 1, 2)[:, 1:].float()
    inter, denom = (probs * onehot).sum(dim=(0, 2, 3)), (probs + onehot).sum(dim=(0, 2, 3))
    dice = ((2 * inter + eps) / (denom + eps)).mean()
    return ce + (1 - dice)


def segmentation_loss(name: str, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """``ce`` (pixel-wise cross-entropy), ``ce_dice`` (cross-entropy + soft Dice loss, see :func:`ce_dice_loss`)
    or ``ce_dice_mean`` (the average of the two, as Sourget et al. 2023 train on Kvasir)."""
    if name == "ce":
        return nnf.cross_entropy(logits, target.long())
    if name == "ce_dice":
        return ce_dice_loss(logits, target)
    if name == "ce_dice_mean":
        return 0.5 * ce_dice_loss(logits, target)
    raise MbenchError(f"unknown segmentation loss {name!r}", expected="ce, ce_dice or ce_dice_mean", found=name)


class UNetSegmenter(SupervisedLearner):
    """Segmentation U-Net (binary or multi-class), retrained from scratch at every ``fit``.

    Args:
        classes: output classes including background (2 = binary); predictions are class indices.
        loss: ``ce_dice`` (cross-entropy + soft Dice) or ``ce`` (cross-entropy only).
        encoder, encoder_depth, decoder_channels: smp ``Unet`` architecture (depth 4 = 4 down / 4 up).
        in_channels: network input channels (the single-channel image is replicated).
        optimizer, lr, epochs, batch_size: training settings.
        image_size: train and predict at this square size (predictions are resized back); None = native.
        pretrained: ImageNet encoder weights from the local Hugging Face cache (never downloaded).
        pretrained_path: an explicit encoder weights file instead of the cache.
        device: ``auto``, ``cpu`` or ``cuda``.
    """

    def __init__(self, encoder: str = "resnet34", encoder_depth: int = 4,
                 decoder_channels: tuple[int, ...] | list[int] = (256, 128, 64, 32), in_channels: int = 1,
                 optimizer: str = "rmsprop", lr: float = 1e-5, epochs: int = 30, batch_size: int = 32,
                 image_size: int | None = None, pretrained: bool = False, pretrained_path: str | None = None,
                 classes: int = 2, loss: str = "ce_dice", device: str = "auto") -> None:
        super().__init__(optimizer, lr, epochs, batch_size, image_size, device)
        self.loss = loss
        self.arch = dict(encoder=encoder, encoder_depth=encoder_depth, decoder_channels=list(decoder_channels),
                         in_channels=in_channels, classes=classes)
        self.pretrained, self.pretrained_path = pretrained, pretrained_path

    def build(self, targets: np.ndarray | None = None) -> torch.nn.Module:
        """A freshly initialised network (encoder weights loaded when ``pretrained``)."""
        import segmentation_models_pytorch as smp

        a = self.arch
        return self._smp_network(smp.Unet, encoder_depth=a["encoder_depth"], decoder_channels=a["decoder_channels"],
                                 classes=a["classes"])

    def _smp_network(self, factory, **kwargs) -> torch.nn.Module:
        """``factory(encoder, ...)`` (an smp architecture) on the device, with the encoder's ImageNet weights read
        from the local Hugging Face cache when ``pretrained`` (extra input channels adapted by smp)."""
        from segmentation_models_pytorch.encoders import encoders

        a = self.arch
        if not self.pretrained:
            return factory(a["encoder"], encoder_weights=None, in_channels=a["in_channels"], **kwargs).to(self.device)
        if a["encoder"] not in encoders:
            raise MbenchError(f"pretrained=true is supported for smp's own encoders, not {a['encoder']!r}",
                              expected="e.g. resnet18, resnet34, resnet50, mobilenet_v2", found=a["encoder"],
                              fix="choose e.g. encoder=resnet34, or pretrained=false")
        from safetensors.torch import load_file

        net = factory(a["encoder"], encoder_weights=None, in_channels=3, **kwargs)
        settings = encoders[a["encoder"]]["pretrained_settings"]["imagenet"]
        path = cached_hub_file(settings["repo_id"], "model.safetensors", explicit=self.pretrained_path,
                               revision=settings.get("revision"))
        net.encoder.load_state_dict(load_file(str(path)))
        if a["in_channels"] != 3:
            net.encoder.set_in_channels(a["in_channels"], pretrained=True)
        return net.to(self.device)

    def _forward(self, x: torch.Tensor) -> torch.Tensor:
        x = replicate_channels(resize(x, self.image_size), self.arch["in_channels"])
        return self.net(x)

    def _loss(self, logits: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
        target = resize(masks.unsqueeze(1).float(), self.image_size, "nearest")[:, 0]
        return segmentation_loss(self.loss, logits, target)

    def _to_prediction(self, logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """Class-index map (N, H, W) uint8 at the input resolution (a binary mask when ``classes=2``)."""
        return resize(logits, tuple(x.shape[-2:])).argmax(dim=1).to(torch.uint8)
