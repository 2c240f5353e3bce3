"""Video action recognition baselines with verb, noun and action heads (paper 16, Trauma THOMPSON).

* ``tsn``: Temporal Segment Network (Wang et al. 2016), the paper's reference method ([22]): a 2D ResNet
  (torchvision; ImageNet weights from the local torch hub cache) applied to each of the T sampled segment frames,
  segment features averaged (TSN's average consensus), dropout, one linear classifier per head. RGB stream only.
* ``r3d_18``: torchvision's 3D ResNet-18 (Kinetics-400 weights from the local cache), a 3D-CNN baseline (harness
  choice; the paper's SlowFast, Ego-RNN and ReViT are not implemented).
* ``c3d_small``: a 3-block 3D CNN for CPU-sized quick runs.

:class:`VideoActionClassifier` implements :class:`~mbench.models.capabilities.VideoClassifier`: clips (N, T, C, H, W)
in [0, 1] -> per-head softmax scores; the loss is the sum of the heads' cross-entropies; after each epoch the
checkpoint with the best mean validation top-1 accuracy over the heads is kept (the shared training loop).

Example:
    >>> import torch
    >>> net = build_network("c3d_small", {"verb": 3, "noun": 4}, pretrained="none")
    >>> {k: tuple(v.shape) for k, v in net(torch.zeros(2, 4, 3, 32, 32)).items()}
    {'verb': (2, 3), 'noun': (2, 4)}
"""

from __future__ import annotations


import numpy as np
import torch
from torch import nn

from mbench.errors import MbenchError
from mbench.models.baselines.pretrained import known_torch_checkpoint
from mbench.models.baselines.torch_utils import IMAGENET_MEAN, IMAGENET_STD, pick_device, seed_torch
from mbench.models.baselines.training import fit_supervised
from mbench.models.capabilities import Progress, no_progress

__all__ = ["build_network", "VideoActionClassifier", "MultiHead", "PRETRAINED_FILES", "ARCHITECTURES"]

KINETICS_MEAN, KINETICS_STD = (0.43216, 0.394666, 0.37645), (0.22803, 0.22145, 0.216989)
# (arch, pretrained) -> torchvision's download name in the torch hub checkpoint cache
PRETRAINED_FILES = {("r3d_18", "kinetics"): "r3d_18-b3b3357e.pth", ("tsn_resnet18", "imagenet"): "resnet18-f37072fd.pth",
                    ("tsn_resnet50", "imagenet"): "resnet50-0676ba61.pth"}
ARCHITECTURES = ("c3d_small", "r3d_18", "tsn_resnet18", "tsn_resnet50")


class MultiHead(nn.Module):
    """Dropout, then one linear classifier per head on a shared feature vector."""

    def __init__(self, features: int, n_classes: dict[str, int], dropout: float) -> None:
        super().__init__()
        self.drop = nn.Dropout(dropout)
        self.heads = nn.ModuleDict({h: nn.Linear(features, k) for h, k in n_classes.items()})

    def forward(self, feat: torch.Tensor) -> dict[str, torch.Tensor]:
        feat = self.drop(feat)
        return {h: layer(feat) for h, layer in self.heads.items()}


class _VideoNet(nn.Module):
    """Normalise (N, T, C, H, W) clips, extract a feature per clip, classify per head."""

    def __init__(self, arch: str, n_classes: dict[str, int], pretrained: str, pretrained_path: str | None,
                 dropout: float) -> None:
        super().__init__()
        self.arch = arch
        mean, std = (KINETICS_MEAN, KINETICS_STD) if arch == "r3d_18" else (IMAGENET_MEAN, IMAGENET_STD)
        self.register_buffer("mean", torch.tensor(mean).view(1, 1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(std).view(1, 1, 3, 1, 1))
        if arch == "c3d_small":
            def block(i: int, o: int, pool: tuple) -> list[nn.Module]:
                return [nn.Conv3d(i, o, 3, padding=1, bias=False), nn.BatchNorm3d(o), nn.ReLU(inplace=True),
                        nn.MaxPool3d(pool)]
            self.backbone = nn.Sequential(*block(3, 16, (1, 2, 2)), *block(16, 32, (2, 2, 2)), *block(32, 64, (1, 2, 2)),
                                          nn.AdaptiveAvgPool3d(1), nn.Flatten())
            width = 64
        elif arch in ("r3d_18", "tsn_resnet18", "tsn_resnet50"):  # torchvision ResNets: (optional) weights, no fc
            import torchvision
            from torchvision.models.video import r3d_18

            build = r3d_18 if arch == "r3d_18" else getattr(torchvision.models, arch.removeprefix("tsn_"))
            self.backbone = build(weights=None)
            if pretrained != "none":
                weights = known_torch_checkpoint(PRETRAINED_FILES, arch, pretrained, pretrained_path)
                self.backbone.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
            width = self.backbone.fc.in_features
            self.backbone.fc = nn.Identity()
        else:
            raise MbenchError(f"unknown video architecture {arch!r}", expected=", ".join(ARCHITECTURES))
        self.head = MultiHead(width, n_classes, dropout)

    def forward(self, clips: torch.Tensor) -> dict[str, torch.Tensor]:
        if clips.ndim != 5 or clips.shape[2] != 3:
            raise MbenchError("video networks take clips (N, T, 3, H, W)", found=f"shape {tuple(clips.shape)}")
        x = (clips - self.mean) / self.std
        n, t = x.shape[:2]
        if self.arch.startswith("tsn_"):  # per-segment 2D features, averaged (TSN consensus)
            feat = self.backbone(x.flatten(0, 1)).view(n, t, -1).mean(dim=1)
        else:
            feat = self.backbone(x.permute(0, 2, 1, 3, 4))
        return self.head(feat)


def build_network(arch: str, n_classes: dict[str, int], *, pretrained: str = "none", pretrained_path: str | None = None,
                  dropout: float = 0.5) -> nn.Module:
    """A freshly initialised video network with one head per entry of ``n_classes``."""
    return _VideoNet(arch, dict(n_classes), pretrained, pretrained_path, dropout)


class VideoActionClassifier:
    """A :class:`~mbench.models.capabilities.VideoClassifier` over :func:`build_network` (see the module docstring)."""

    def __init__(self, *, arch: str = "tsn_resnet50", pretrained: str = "imagenet", pretrained_path: str | None = None,
                 dropout: float = 0.5, optimizer: str = "sgd_momentum", lr: float = 1e-3, epochs: int = 80,
                 batch_size: int = 512, device: str = "auto") -> None:
        if arch not in ARCHITECTURES:
            raise MbenchError(f"unknown video architecture {arch!r}", expected=", ".join(ARCHITECTURES), found=arch)
        self.arch, self.pretrained, self.pretrained_path, self.dropout = arch, pretrained, pretrained_path, dropout
        self.optimizer, self.lr, self.epochs, self.batch_size = optimizer, lr, epochs, batch_size
        self.device = pick_device(device)
        self.heads: list[str] = []
        self.net: nn.Module | None = None

    def _loss(self, out: dict[str, torch.Tensor], y: torch.Tensor) -> torch.Tensor:
        return sum(nn.functional.cross_entropy(out[h], y[:, k]) for k, h in enumerate(self.heads))

    def _score(self, scores: dict[str, np.ndarray], y: np.ndarray) -> float:
        return float(np.mean([np.mean(scores[h].argmax(axis=1) == y[:, k]) for k, h in enumerate(self.heads)]))

    def fit(self, clips, targets: dict[str, np.ndarray], val_clips, val_targets: dict[str, np.ndarray], *,
            n_classes: dict[str, int], seed: int, progress: Progress = no_progress) -> dict:
        """Train from scratch (or from local pretrained weights); keep the best mean validation top-1 epoch."""
        self.heads = list(n_classes)
        seed_torch(seed)
        self.net = build_network(self.arch, n_classes, pretrained=self.pretrained,
                                 pretrained_path=self.pretrained_path, dropout=self.dropout).to(self.device)
        y = np.stack([np.asarray(targets[h], dtype=np.int64) for h in self.heads], axis=1)
        y_val = np.stack([np.asarray(val_targets[h], dtype=np.int64) for h in self.heads], axis=1)
        log = fit_supervised(self.net, forward=self.net, loss_fn=self._loss, predict=self.predict, images=clips,
                             targets=y, val_images=val_clips, val_targets=y_val, score=self._score,
                             optimizer=self.optimizer, lr=self.lr, epochs=self.epochs, batch_size=self.batch_size,
                             seed=seed, device=self.device, progress=progress)
        log["n_parameters"] = int(sum(p.numel() for p in self.net.parameters()))
        log["selection"] = "mean validation top-1 accuracy over the heads"
        return log

    @torch.no_grad()
    def predict(self, clips) -> dict[str, np.ndarray]:
        """Softmax scores per head, (N, n_classes[head]), computed in batches."""
        if self.net is None:
            raise MbenchError("predict() called before fit()", fix="fit the model first")
        self.net.eval()
        out: dict[str, list[np.ndarray]] = {h: [] for h in self.heads}
        for start in range(0, len(clips), self.batch_size):
            batch = clips[np.arange(start, min(start + self.batch_size, len(clips)))]
            logits = self.net(torch.as_tensor(np.asarray(batch), dtype=torch.float32, device=self.device))
            for h in self.heads:
                out[h].append(torch.softmax(logits[h], dim=1).cpu().numpy())
        return {h: np.concatenate(v) if v else np.zeros((0, 1)) for h, v in out.items()}
