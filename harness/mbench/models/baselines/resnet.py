"""Image classifiers on timm backbones: multi-label (sigmoid, BCE) or single-label multi-class (softmax, CE)."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as nnf

from mbench.errors import MbenchError
from mbench.models.baselines.pretrained import cached_hub_file
from mbench.models.baselines.torch_utils import replicate_channels, resize
from mbench.models.baselines.training import SupervisedLearner

__all__ = ["ResNetClassifier", "TimmClassifier", "timm_backbone"]


def timm_backbone(arch: str, n_outputs: int, in_channels: int, pretrained: bool, pretrained_path: str | None,
                  device: torch.device) -> torch.nn.Module:
    """A timm network with ``n_outputs`` logits; ImageNet weights from the local cache (or a file) when ``pretrained``.

    Raises:
        MbenchError: the weights are not cached (never downloaded), or the architecture has no hub weights and no
            ``pretrained_path`` was given.
    """
    import timm

    kwargs = dict(num_classes=n_outputs, in_chans=in_channels)
    if not pretrained:
        return timm.create_model(arch, pretrained=False, **kwargs).to(device)
    cfg = timm.create_model(arch, pretrained=False).pretrained_cfg
    if not cfg.get("hf_hub_id") and not pretrained_path:
        raise MbenchError(f"timm architecture {arch!r} has no Hugging Face hub weights",
                          expected="model.pretrained_path=/path/to/weights", found=f"weights url {cfg.get('url')!r}",
                          fix="download the file on a machine with internet and pass it as model.pretrained_path, or "
                              "set model.pretrained=false (an unofficial run)")
    path = cached_hub_file(cfg.get("hf_hub_id") or "", "model.safetensors", explicit=pretrained_path)
    net = timm.create_model(arch, pretrained=True, pretrained_cfg_overlay={"file": str(path)}, **kwargs)
    return net.to(device)


class ResNetClassifier(SupervisedLearner):
    """Image classifier on a timm backbone.

    The targets decide the head: (N, L) multi-hot targets give a multi-label classifier (sigmoid, binary
    cross-entropy); (N,) integer class codes a single-label one (softmax, cross-entropy) with ``num_classes``
    outputs. ``predict`` returns per-label probabilities (N, L) or class probabilities (N, C).

    Args:
        arch: timm architecture name (``resnet18``, ``inception_resnet_v2``, ...).
        in_channels: network input channels (a single-channel image is replicated).
        pretrained: ImageNet weights from the local Hugging Face cache (timm's ``hf_hub_id``).
        pretrained_path: an explicit weights file instead of the cache.
        num_classes: outputs of a single-label classifier; None: the largest training class code + 1.
        optimizer, lr, epochs, batch_size, image_size, device: as for :class:`UNetSegmenter`.

    Example:
        >>> clf = ResNetClassifier(pretrained=False, epochs=1, batch_size=4, image_size=32, num_classes=3, device="cpu")
        >>> x, y = np.random.default_rng(0).random((6, 32, 32), dtype=np.float32), np.array([0, 1, 2, 0, 1, 2])
        >>> _ = clf.fit(x, y, x, y, score=lambda p, t: float((p.argmax(1) == t).mean()), seed=0)
        >>> clf.predict(x).shape
        (6, 3)
    """

    def __init__(self, arch: str = "resnet18", in_channels: int = 3, optimizer: str = "adam", lr: float = 1e-5,
                 epochs: int = 50, batch_size: int = 32, image_size: int | None = None, pretrained: bool = True,
                 pretrained_path: str | None = None, num_classes: int | None = None, device: str = "auto") -> None:
        super().__init__(optimizer, lr, epochs, batch_size, image_size, device)
        self.arch, self.in_channels = arch, in_channels
        self.pretrained, self.pretrained_path = pretrained, pretrained_path
        self.num_classes = num_classes
        self.single_label = False

    def build(self, targets: np.ndarray | int) -> torch.nn.Module:
        """A fresh network with one output per target column, or per class for (N,) class codes."""
        self.single_label = not isinstance(targets, int) and np.asarray(targets).ndim == 1
        if isinstance(targets, int):
            n_outputs = targets
        elif self.single_label:
            n_outputs = self.num_classes or int(np.max(targets)) + 1
            if int(np.max(targets)) >= n_outputs:
                raise MbenchError("class codes exceed num_classes", expected=f"codes < {n_outputs}",
                                  found=str(int(np.max(targets))), fix="set model.num_classes to the number of classes")
        else:
            n_outputs = np.asarray(targets).shape[1]
        return timm_backbone(self.arch, n_outputs, self.in_channels, self.pretrained, self.pretrained_path,
                             self.device)

    def _forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(replicate_channels(resize(x, self.image_size), self.in_channels))

    def _loss(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        if self.single_label:
            return nnf.cross_entropy(logits, targets.long())
        return nnf.binary_cross_entropy_with_logits(logits, targets.float())

    def _to_prediction(self, logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """Per-label probabilities (N, L), or class probabilities (N, C) for a single-label classifier."""
        return (logits.softmax(dim=1) if self.single_label else logits.sigmoid()).float()


TimmClassifier = ResNetClassifier  # the same learner on any timm backbone (``arch``)
