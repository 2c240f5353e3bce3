"""Faster R-CNN with FPN (torchvision) as a :class:`~mbench.models.capabilities.Detector`, with the optional
contextual-regularisation head of paper 11 (training only).

Backbones: ``resnet50_fpn`` (paper 11's baseline) and ``resnet18_fpn`` (a smaller, CPU-sized choice for quick
runs only). Pretrained weights come from the local torch hub cache only (``$TORCH_HOME/hub/checkpoints``, the files
torchvision itself would download) or ``pretrained_path``: ``coco`` = the whole torchvision COCO detector except its
class-specific box predictor (paper 11 starts from an MMDetection COCO model), ``imagenet`` = the ResNet backbone,
``none`` = random initialisation. With pretrained weights the backbone's batch norm is frozen (as torchvision and
MMDetection do); without, it is ordinary batch norm.

Training: SGD (momentum 0.9, weight decay 1e-4: MMDetection's defaults) at ``lr`` with a linear warm-up over
``warmup_iters`` iterations (MMDetection: 500, from lr x 0.001), random horizontal flips (MMDetection's default
pipeline), images at their own size (``image_size`` = the tile size, so no resizing). Labels are 1..``classes``.
Training-time sampling sizes default to MMDetection's Faster R-CNN config (RPN: 2000 proposals before NMS, 1000
after; 512 RoIs per image), test-time ones too (1000 before and after NMS); ``fpn_channels`` (256) and
``representation_size`` (1024, the box head's two fully connected layers) are torchvision's / MMDetection's. Quick
settings shrink them to fit a CPU (the box head runs on every test proposal: 1000 x 256 x 7 x 7 -> 1024 per tile).
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch import nn

from mbench.errors import MbenchError
from mbench.models.baselines.context_reg import ContextRegulariser
from mbench.models.baselines.pretrained import known_torch_checkpoint
from mbench.models.baselines.torch_utils import pick_device, seed_torch
from mbench.models.capabilities import Progress, no_progress

__all__ = ["FasterRCNNDetector", "RegularisedBackbone", "PRETRAINED_FILES"]

# (backbone, pretrained) -> file name in the torch hub checkpoint cache (torchvision's own download names)
PRETRAINED_FILES = {
    ("resnet50_fpn", "coco"): "fasterrcnn_resnet50_fpn_coco-258fb6c6.pth",
    ("resnet50_fpn", "imagenet"): "resnet50-0676ba61.pth",
    ("resnet18_fpn", "imagenet"): "resnet18-f37072fd.pth",
}


class RegularisedBackbone(nn.Module):
    """A detector backbone whose ``level`` feature map feeds a training-only regulariser (its loss in ``loss``)."""

    def __init__(self, backbone: nn.Module, regulariser: nn.Module, level: str) -> None:
        super().__init__()
        self.body, self.regulariser, self.level = backbone, regulariser, level
        self.out_channels = backbone.out_channels
        self.loss: torch.Tensor | None = None

    def forward(self, x: torch.Tensor):
        features = self.body(x)
        self.loss = self.regulariser(features[self.level]) if self.training else None
        return features


class FasterRCNNDetector:
    """Faster R-CNN + FPN; ``context_reg`` = ``none`` | ``scr`` | ``acr`` adds paper 11's regulariser (training only)."""

    def __init__(self, *, backbone: str = "resnet50_fpn", classes: int = 1, pretrained: str = "coco",
                 pretrained_path: str | None = None, trainable_backbone_layers: int = 3, image_size: int = 512,
                 optimizer: str = "sgd", lr: float = 1e-3, momentum: float = 0.9, weight_decay: float = 1e-4,
                 warmup_iters: int = 500, epochs: int = 32, batch_size: int = 2, hflip: bool = True,
                 context_reg: str = "none", context_q: float = 0.5, context_reduction: int = 16,
                 context_blocks: int = 2, context_heads: int = 8, context_weight: float = 1.0,
                 context_level: str = "3", score_threshold: float = 0.05, rpn_pre_nms_top_n: int = 2000,
                 rpn_post_nms_top_n: int = 1000, roi_batch_size: int = 512, rpn_pre_nms_top_n_test: int = 1000,
                 rpn_post_nms_top_n_test: int = 1000, fpn_channels: int = 256, representation_size: int = 1024,
                 device: str = "auto") -> None:
        if backbone not in ("resnet50_fpn", "resnet18_fpn"):
            raise MbenchError(f"unknown Faster R-CNN backbone {backbone!r}", expected="resnet50_fpn or resnet18_fpn",
                              found=backbone)
        if pretrained not in ("coco", "imagenet", "none"):
            raise MbenchError(f"unknown pretrained choice {pretrained!r}", expected="coco, imagenet or none",
                              found=str(pretrained))
        if context_reg not in ("none", "scr", "acr"):
            raise MbenchError(f"unknown context_reg {context_reg!r}", expected="none, scr or acr", found=context_reg)
        if optimizer != "sgd":
            raise MbenchError("the Faster R-CNN baseline trains with SGD (paper 11)", expected="sgd", found=optimizer)
        if pretrained == "coco" and (fpn_channels, representation_size) != (256, 1024):
            raise MbenchError("COCO-pretrained weights fix the FPN and box-head widths",
                              expected="fpn_channels=256, representation_size=1024",
                              found=f"fpn_channels={fpn_channels}, representation_size={representation_size}",
                              fix="keep the widths or use pretrained=imagenet|none")
        self.backbone, self.classes, self.pretrained, self.pretrained_path = backbone, classes, pretrained, pretrained_path
        self.trainable_backbone_layers, self.image_size = trainable_backbone_layers, image_size
        self.lr, self.momentum, self.weight_decay, self.warmup_iters = lr, momentum, weight_decay, warmup_iters
        self.epochs, self.batch_size, self.hflip = epochs, batch_size, hflip
        self.context_reg, self.context_weight, self.context_level = context_reg, context_weight, context_level
        self._context = dict(q=context_q, reduction=context_reduction, blocks=context_blocks, heads=context_heads)
        self.score_threshold = score_threshold
        self._sizes = dict(rpn_pre_nms_top_n_train=rpn_pre_nms_top_n, rpn_post_nms_top_n_train=rpn_post_nms_top_n,
                           box_batch_size_per_image=roi_batch_size, rpn_pre_nms_top_n_test=rpn_pre_nms_top_n_test,
                           rpn_post_nms_top_n_test=rpn_post_nms_top_n_test)
        self.fpn_channels, self.representation_size = fpn_channels, representation_size
        self.device = pick_device(device)
        self.net: nn.Module | None = None

    # -- network -------------------------------------------------------------------------------------------------
    def build(self) -> nn.Module:
        """A fresh detector (pretrained parts loaded from the local cache), with the regulariser when asked."""
        from torchvision.models.detection import FasterRCNN
        from torchvision.models.detection.backbone_utils import resnet_fpn_backbone
        from torchvision.models.detection.faster_rcnn import FastRCNNPredictor, TwoMLPHead
        from torchvision.ops import FeaturePyramidNetwork
        from torchvision.ops.feature_pyramid_network import LastLevelMaxPool
        from torchvision.ops.misc import FrozenBatchNorm2d

        norm = FrozenBatchNorm2d if self.pretrained != "none" else nn.BatchNorm2d
        fpn = resnet_fpn_backbone(backbone_name=self.backbone.removesuffix("_fpn"), weights=None, norm_layer=norm,
                                  trainable_layers=self.trainable_backbone_layers)
        if self.fpn_channels != fpn.out_channels:  # torchvision's builder fixes 256: swap in a narrower FPN
            widths = [block[0].in_channels for block in fpn.fpn.inner_blocks]
            fpn.fpn = FeaturePyramidNetwork(widths, self.fpn_channels, extra_blocks=LastLevelMaxPool())
            fpn.out_channels = self.fpn_channels
        # min_size = max_size = image_size: tiles of that size are never rescaled (torchvision's default is 800 px)
        net = FasterRCNN(fpn, min_size=self.image_size, max_size=self.image_size,
                         box_head=TwoMLPHead(fpn.out_channels * 7 * 7, self.representation_size),
                         box_predictor=FastRCNNPredictor(self.representation_size, self.classes + 1),
                         box_score_thresh=self.score_threshold, **self._sizes)
        if self.pretrained != "none":
            weights = known_torch_checkpoint(PRETRAINED_FILES, self.backbone, self.pretrained, self.pretrained_path)
            state = torch.load(weights, map_location="cpu", weights_only=True)
            if self.pretrained == "imagenet":
                missing, _ = net.backbone.body.load_state_dict({k: v for k, v in state.items() if not k.startswith("fc.")},
                                                               strict=False)
            else:
                state = {k: v for k, v in state.items() if not k.startswith("roi_heads.box_predictor.")}
                missing, _ = net.load_state_dict(state, strict=False)
                missing = [k for k in missing if not k.startswith("roi_heads.box_predictor.")]
            if missing:
                raise MbenchError(f"pretrained weights do not fit {self.backbone}", found=f"missing {missing[:3]}",
                                  fix="pass the matching torchvision checkpoint")
        if self.context_reg != "none":
            stride = {"0": 4, "1": 8, "2": 16, "3": 32, "pool": 64}[self.context_level]
            side = -(-self.image_size // stride)
            reg = ContextRegulariser(fpn.out_channels, mode=self.context_reg, tokens=side * side, **self._context)
            net.backbone = RegularisedBackbone(net.backbone, reg, self.context_level)
        return net.to(self.device)

    def _batch(self, images: Sequence[np.ndarray], targets: Sequence[dict] | None, idx: Sequence[int],
               flips: np.ndarray | None = None) -> tuple[list[torch.Tensor], list[dict] | None]:
        xs, ts = [], [] if targets is not None else None
        for k, i in enumerate(idx):
            x = torch.as_tensor(np.ascontiguousarray(images[i]), dtype=torch.float32)
            if targets is not None:
                boxes = torch.as_tensor(np.asarray(targets[i]["boxes"], dtype=np.float32).reshape(-1, 4))
                labels = torch.as_tensor(np.asarray(targets[i]["labels"], dtype=np.int64).reshape(-1))
                if flips is not None and flips[k]:
                    x = x.flip(-1)
                    boxes = torch.stack([x.shape[-1] - boxes[:, 2], boxes[:, 1], x.shape[-1] - boxes[:, 0],
                                         boxes[:, 3]], dim=1)
                ts.append({"boxes": boxes.to(self.device), "labels": labels.to(self.device)})
            xs.append(x.to(self.device))
        return xs, ts

    def losses(self, images: Sequence[np.ndarray], targets: Sequence[dict]) -> dict[str, torch.Tensor]:
        """The training losses of one batch (the network in train mode), ``loss_context`` included when enabled."""
        xs, ts = self._batch(images, targets, range(len(images)))
        losses = dict(self.net(xs, ts))
        if isinstance(self.net.backbone, RegularisedBackbone):
            losses["loss_context"] = self.context_weight * self.net.backbone.loss
        return losses

    # -- Detector capability -------------------------------------------------------------------------------------
    def fit(self, images: Sequence[np.ndarray], targets: Sequence[dict], val_images: Sequence[np.ndarray],
            val_targets: Sequence[dict], *, score: Callable[[list[dict], Sequence[dict]], float] | None = None,
            seed: int = 0, progress: Progress = no_progress) -> dict:
        """Train for ``epochs``; keep the last epoch, or the best by ``score`` on the validation set when it has images."""
        if len(images) != len(targets) or len(images) == 0:
            raise MbenchError("a detector needs training images, one target each",
                              expected="equal, non-zero lengths", found=f"{len(images)} images, {len(targets)} targets")
        gen = seed_torch(seed)
        rng = np.random.default_rng(seed)
        self.net = self.build()
        params = [p for p in self.net.parameters() if p.requires_grad]
        opt = torch.optim.SGD(params, lr=self.lr, momentum=self.momentum, weight_decay=self.weight_decay)
        warm = max(int(self.warmup_iters), 0)
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda it: 1.0 if it >= warm else 0.001 + 0.999 * it / warm)
        log: dict = {"epoch_loss": [], "val_score": [], "best_epoch": None}
        best, best_state, t0 = -np.inf, None, time.perf_counter()
        for epoch in range(self.epochs):
            self.net.train()
            total, n = 0.0, 0
            order = torch.randperm(len(images), generator=gen).tolist()
            for start in range(0, len(order), self.batch_size):
                idx = order[start:start + self.batch_size]
                flips = rng.random(len(idx)) < 0.5 if self.hflip else None
                xs, ts = self._batch(images, targets, idx, flips)
                losses = dict(self.net(xs, ts))
                if isinstance(self.net.backbone, RegularisedBackbone):
                    losses["loss_context"] = self.context_weight * self.net.backbone.loss
                loss = sum(losses.values())
                opt.zero_grad()
                loss.backward()
                opt.step()
                sched.step()
                total, n = total + float(loss.detach()) * len(idx), n + len(idx)
            log["epoch_loss"].append(total / n)
            if len(val_images) and score is not None:
                value = float(score(self.detect(val_images), val_targets))
                log["val_score"].append(value)
                if value > best:
                    best, best_state, log["best_epoch"] = value, copy.deepcopy(self.net.state_dict()), epoch
            progress("train", epoch + 1, self.epochs)
        if best_state is not None:
            self.net.load_state_dict(best_state)
        else:
            log["best_epoch"] = self.epochs - 1
        log["train_s"] = time.perf_counter() - t0
        log["n_parameters"] = self.inference_parameters()
        log["n_parameters_training"] = int(sum(p.numel() for p in self.net.parameters()))
        return log

    def inference_parameters(self) -> int:
        """Parameters used at inference (the regulariser excluded)."""
        skip = {id(p) for p in self.net.backbone.regulariser.parameters()} \
            if isinstance(self.net.backbone, RegularisedBackbone) else set()
        return int(sum(p.numel() for p in self.net.parameters() if id(p) not in skip))

    @torch.no_grad()
    def detect(self, images: Sequence[np.ndarray]) -> list[dict]:
        """Boxes (x1, y1, x2, y2) in each image's pixels, scores and labels (1..classes), per image."""
        if self.net is None:
            raise RuntimeError("detect() before fit()")
        self.net.eval()
        out = []
        for start in range(0, len(images), max(self.batch_size, 1)):
            xs, _ = self._batch(images, None, range(start, min(start + self.batch_size, len(images))))
            for det in self.net(xs):
                out.append({"boxes": det["boxes"].cpu().numpy().astype(float),
                            "scores": det["scores"].cpu().numpy().astype(float),
                            "labels": det["labels"].cpu().numpy().astype(int)})
        return out
