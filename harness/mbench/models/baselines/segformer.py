"""SegFormer (Xie et al. 2021) learners through Hugging Face ``transformers``, built from a config.

The MiT-b0 / MiT-b4 encoder sizes are the published ones; the all-MLP decoder predicts at 1/4 of the
input resolution, so logits are upsampled bilinearly to the label size for the loss and to the input
size before the argmax. ImageNet-1k encoder weights (``nvidia/mit-b0``, ``nvidia/mit-b4``) are read from
the local Hugging Face cache only, never downloaded.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from mbench.errors import MbenchError
from mbench.models.baselines.pretrained import cached_hub_file
from mbench.models.baselines.torch_utils import replicate_channels, resize
from mbench.models.baselines.training import SupervisedLearner
from mbench.models.baselines.unet import segmentation_loss

__all__ = ["SegFormerSegmenter", "SEGFORMER_VARIANTS", "segformer_config"]

# MiT encoder sizes (Xie et al. 2021, Table 6; the configs of nvidia/mit-b0 and nvidia/mit-b4)
SEGFORMER_VARIANTS: dict[str, dict] = {
    "b0": dict(depths=[2, 2, 2, 2], hidden_sizes=[32, 64, 160, 256], decoder_hidden_size=256),
    "b1": dict(depths=[2, 2, 2, 2], hidden_sizes=[64, 128, 320, 512], decoder_hidden_size=256),
    "b2": dict(depths=[3, 4, 6, 3], hidden_sizes=[64, 128, 320, 512], decoder_hidden_size=768),
    "b4": dict(depths=[3, 8, 27, 3], hidden_sizes=[64, 128, 320, 512], decoder_hidden_size=768),
}


def segformer_config(variant: str, classes: int):
    """A ``transformers.SegformerConfig`` for a MiT variant and ``classes`` output classes.

    Example:
        >>> segformer_config("b0", 4).hidden_sizes
        [32, 64, 160, 256]
    """
    from transformers import SegformerConfig

    if variant not in SEGFORMER_VARIANTS:
        raise MbenchError(f"unknown SegFormer variant {variant!r}", expected=", ".join(SEGFORMER_VARIANTS),
                          found=variant)
    return SegformerConfig(num_labels=classes, num_attention_heads=[1, 2, 5, 8], **SEGFORMER_VARIANTS[variant])


def _pretrained_net(variant: str, classes: int, explicit: str | None) -> torch.nn.Module:
    """SegFormer with the MiT encoder of a local checkpoint folder (hub cache or ``explicit``); a fresh decoder.

    The folder holds the checkpoint's ``config.json`` and ``model.safetensors`` (or ``pytorch_model.bin``);
    ``transformers`` maps its tensor names (they changed between major versions) and leaves the decode head
    randomly initialised for ``classes`` outputs.
    """
    from transformers import SegformerForSemanticSegmentation

    repo_id = f"nvidia/mit-{variant}"
    if explicit:
        folder = Path(explicit).expanduser()
        folder = folder if folder.is_dir() else folder.parent
        if not (folder / "config.json").is_file():
            raise MbenchError(f"no SegFormer checkpoint folder at {folder}", expected="config.json and "
                              "model.safetensors (a save_pretrained folder or a hub snapshot)",
                              fix="point model.pretrained_path at the snapshot folder of " + repo_id)
    else:
        try:
            weights = cached_hub_file(repo_id, "model.safetensors")
        except MbenchError as first:
            try:
                weights = cached_hub_file(repo_id, "pytorch_model.bin")
            except MbenchError:
                raise first from None
        folder = cached_hub_file(repo_id, "config.json").parent
        if weights.parent != folder:
            raise MbenchError(f"the cached {repo_id} weights and config are from different snapshots",
                              found=f"{weights.parent} and {folder}", fix=f"re-download {repo_id} completely")
    net = SegformerForSemanticSegmentation.from_pretrained(str(folder), num_labels=classes, local_files_only=True,
                                                           ignore_mismatched_sizes=True)
    want = SEGFORMER_VARIANTS[variant]
    got = {"depths": list(net.config.depths), "hidden_sizes": list(net.config.hidden_sizes)}
    if got != {"depths": want["depths"], "hidden_sizes": want["hidden_sizes"]}:
        raise MbenchError(f"the checkpoint in {folder} is not the MiT-{variant} encoder",
                          expected=f"depths {want['depths']}, hidden sizes {want['hidden_sizes']}", found=str(got),
                          fix=f"use the {repo_id} checkpoint for variant {variant}")
    return net


class SegFormerSegmenter(SupervisedLearner):
    """SegFormer for semantic segmentation, retrained from scratch (or from ImageNet MiT weights) at every ``fit``.

    Args:
        variant: MiT encoder size, ``b0`` (3.7 M parameters) or ``b4`` (64 M).
        classes: output classes including background; predictions are class indices.
        in_channels: channels of the task's images (grey images are replicated to the 3 the encoder takes).
        loss: ``ce`` or ``ce_dice``.
        optimizer, lr, epochs, batch_size: training settings.
        image_size: train and predict at this square size (predictions are resized back); None = native.
        pretrained: ImageNet-1k MiT weights from the local Hugging Face cache (``nvidia/mit-<variant>``).
        pretrained_path: a checkpoint folder (``save_pretrained`` layout) instead of the cache.
        device: ``auto``, ``cpu`` or ``cuda``.
    """

    def __init__(self, variant: str = "b0", classes: int = 2, in_channels: int = 3, loss: str = "ce",
                 optimizer: str = "adam", lr: float = 1e-4, epochs: int = 50, batch_size: int = 10,
                 image_size: int | None = None, pretrained: bool = False, pretrained_path: str | None = None,
                 device: str = "auto") -> None:
        super().__init__(optimizer, lr, epochs, batch_size, image_size, device)
        if variant not in SEGFORMER_VARIANTS:
            raise MbenchError(f"unknown SegFormer variant {variant!r}", expected=", ".join(SEGFORMER_VARIANTS),
                              found=variant)
        self.variant, self.classes, self.in_channels, self.loss = variant, classes, in_channels, loss
        self.pretrained, self.pretrained_path = pretrained, pretrained_path

    def build(self, targets: np.ndarray | None = None) -> torch.nn.Module:
        """A fresh SegFormer (encoder weights from the local cache when ``pretrained``)."""
        from transformers import SegformerForSemanticSegmentation

        if self.pretrained:
            return _pretrained_net(self.variant, self.classes, self.pretrained_path).to(self.device)
        return SegformerForSemanticSegmentation(segformer_config(self.variant, self.classes)).to(self.device)

    def _forward(self, x: torch.Tensor) -> torch.Tensor:
        x = replicate_channels(resize(x, self.image_size), 3)
        return self.net(pixel_values=x).logits  # (N, C, H / 4, W / 4)

    def _loss(self, logits: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
        target = resize(masks.unsqueeze(1).float(), self.image_size, "nearest")[:, 0]
        return segmentation_loss(self.loss, resize(logits, tuple(target.shape[-2:])), target)

    def _to_prediction(self, logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """Class-index map at the input resolution: bilinear upsampling of the logits, then argmax."""
        return resize(logits, tuple(x.shape[-2:])).argmax(dim=1).to(torch.uint8)
