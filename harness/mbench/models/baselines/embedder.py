"""Syndrome embedder of paper 10 (Campbell et al. 2023): a classifier on the base classes whose pooled features
are the embedding ("Clinical Face Phenotype Space") for 1-NN identification of unseen classes.

Training follows the paper: AMSGrad, batch 64, epochs 1..``head_epochs`` train the final layer only at
``head_lr`` (1e-3), then end to end at ``lr`` (1e-4) up to ``lr_drop_epoch`` (50) and ``lr_final`` (1e-5) up to
``epochs`` (100); early stopping on validation accuracy with ``patience`` 20, best checkpoint kept. Augmentation
(``augment``): horizontal flip p = 0.5, then Gaussian blur, Gaussian noise, brightness / contrast and greyscale,
each p = 0.2 (the paper's JPEG-artefact step is not reproduced). ``mixup``: ``none``, ``input`` or ``keypoint``
(guided, :mod:`mbench.models.baselines.mixup`), lam ~ U(0, 1) once per batch, labels mixed with the same lam.
``freeze_backbone`` is the paper's transfer-learning row (only the head trains). ResNet-50 VGGFace2 weights are
not redistributable: pass them as ``pretrained_path`` (``pretrained=true`` alone loads timm's ImageNet weights from
the local cache).
"""

from __future__ import annotations

import copy
import time

import numpy as np
import torch
import torch.nn as nn

from mbench.errors import MbenchError
from mbench.models.baselines.mixup import input_mixup, keypoint_mixup
from mbench.models.baselines.resnet import timm_backbone
from mbench.models.baselines.torch_utils import batches, make_optimizer, pick_device, seed_torch, to_tensor
from mbench.models.capabilities import Progress, check_embeddings, no_progress

__all__ = ["FaceEmbedder", "augment_batch"]


def augment_batch(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The paper's standard augmentation on a (B, C, H, W) batch (after mixup, so flips need no keypoint mirroring)."""
    from scipy import ndimage

    out = x.copy()
    for i in range(len(out)):
        if rng.random() < 0.5:
            out[i] = out[i][:, :, ::-1]
        if rng.random() < 0.2:
            out[i] = ndimage.gaussian_filter(out[i], (0, rng.uniform(0.5, 1.5), rng.uniform(0.5, 1.5)))
        if rng.random() < 0.2:
            out[i] = out[i] + rng.normal(0, 0.05, out[i].shape) * out[i].std()
        if rng.random() < 0.2:
            mean = out[i].mean()
            out[i] = (out[i] - mean) * rng.uniform(0.8, 1.2) + mean + rng.uniform(-0.2, 0.2) * out[i].std()
        if rng.random() < 0.2 and out[i].shape[0] == 3:
            out[i] = np.repeat(out[i].mean(axis=0, keepdims=True), 3, axis=0)
    return out.astype(np.float32)


class FaceEmbedder:
    """Embedder on a timm backbone (see the module docstring); ``predict_proba`` scores the base classes.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> x, y = rng.random((8, 3, 32, 32), dtype=np.float32), np.array([5, 5, 7, 7, 9, 9, 5, 7])
        >>> emb = FaceEmbedder(arch="resnet18", epochs=2, head_epochs=1, batch_size=4, device="cpu")
        >>> _ = emb.fit(x, y, x, y, seed=0)
        >>> emb.embed(x).shape, emb.predict_proba(x).shape, emb.classes_.tolist()
        ((8, 512), (8, 3), [5, 7, 9])
    """

    def __init__(self, arch: str = "resnet50", pretrained: bool = False, pretrained_path: str | None = None,
                 freeze_backbone: bool = False, mixup: str = "none", augment: bool = True, optimizer: str = "amsgrad",
                 batch_size: int = 64, epochs: int = 100, head_epochs: int = 10, head_lr: float = 1e-3,
                 lr: float = 1e-4, lr_drop_epoch: int = 50, lr_final: float = 1e-5, patience: int = 20,
                 device: str = "auto") -> None:
        if mixup not in ("none", "input", "keypoint"):
            raise MbenchError(f"unknown mixup {mixup!r}", expected="none, input or keypoint", found=mixup)
        self.arch, self.pretrained, self.pretrained_path = arch, pretrained, pretrained_path
        self.freeze_backbone, self.mixup, self.augment = freeze_backbone, mixup, augment
        self.optimizer, self.batch_size, self.epochs, self.head_epochs = optimizer, batch_size, epochs, head_epochs
        self.head_lr, self.lr, self.lr_drop_epoch, self.lr_final = head_lr, lr, lr_drop_epoch, lr_final
        self.patience = patience
        self.device = pick_device(device)
        self.backbone: nn.Module | None = None
        self.head: nn.Linear | None = None
        self.classes_ = np.zeros(0, dtype=np.int64)

    def _lr(self, epoch: int) -> tuple[float, bool]:
        """(learning rate, whether the backbone trains) of an epoch (1-based)."""
        if self.freeze_backbone or epoch <= self.head_epochs:
            return self.head_lr, False
        return (self.lr if epoch <= self.lr_drop_epoch else self.lr_final), True

    def _mixed_batch(self, x: np.ndarray, y: np.ndarray, kp: np.ndarray | None,
                     rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        if self.mixup == "none" or len(x) < 2:
            return x, y
        lam, perm = float(rng.uniform()), rng.permutation(len(x))
        if self.mixup == "input":
            return input_mixup(x, y, lam, perm)
        mixed = np.stack([keypoint_mixup(x[i], x[j], kp[i], kp[j], lam)[0] for i, j in enumerate(perm)])
        return mixed, lam * y + (1 - lam) * y[perm]

    def fit(self, images: np.ndarray, labels: np.ndarray, val_images: np.ndarray, val_labels: np.ndarray, *,
            keypoints: np.ndarray | None = None, seed: int = 0, progress: Progress = no_progress) -> dict:
        """Train on the base classes; keep the checkpoint with the best validation accuracy (early stopping)."""
        if self.mixup == "keypoint" and (keypoints is None or len(keypoints) != len(images)):
            raise MbenchError("keypoint-guided mixup needs keypoints for every training image",
                              expected=f"({len(images)}, K, 2) keypoints", found="none" if keypoints is None
                              else str(np.shape(keypoints)), fix="use a dataset with landmarks, or mixup: none")
        generator = seed_torch(seed)
        rng = np.random.default_rng(seed)
        x_all = np.asarray(images, np.float32)
        x_all = x_all[:, None] if x_all.ndim == 3 else x_all
        self.classes_ = np.unique(np.asarray(labels))
        y_idx = np.searchsorted(self.classes_, labels)
        onehot = np.eye(len(self.classes_), dtype=np.float32)[y_idx]
        self.backbone = timm_backbone(self.arch, 0, x_all.shape[1], self.pretrained, self.pretrained_path, self.device)
        self.head = nn.Linear(self.backbone.num_features, len(self.classes_)).to(self.device)
        params = [{"params": self.head.parameters()}, {"params": self.backbone.parameters()}]
        opt = make_optimizer(self.optimizer, params, self.head_lr)
        val_known = np.isin(val_labels, self.classes_)
        best, best_epoch, best_state, history, start = -np.inf, 0, None, [], time.perf_counter()
        for epoch in range(1, self.epochs + 1):
            lr, train_backbone = self._lr(epoch)
            opt.param_groups[0]["lr"], opt.param_groups[1]["lr"] = lr, (lr if train_backbone else 0.0)
            for p in self.backbone.parameters():
                p.requires_grad_(train_backbone)
            self.backbone.train(train_backbone)
            self.head.train()
            total, count = 0.0, 0
            for idx in batches(len(x_all), self.batch_size, generator):
                idx = idx.numpy()
                if len(idx) < 2 and len(x_all) >= 2:
                    continue
                xb, yb = self._mixed_batch(x_all[idx], onehot[idx], None if keypoints is None else keypoints[idx], rng)
                if self.augment:
                    xb = augment_batch(xb, rng)
                logits = self.head(self.backbone(to_tensor(xb, self.device)))
                loss = -(torch.as_tensor(yb, device=self.device) * logits.log_softmax(dim=1)).sum(dim=1).mean()
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                total, count = total + loss.item() * len(idx), count + len(idx)
            val = float(np.mean(self.classes_[self.predict_proba(val_images[val_known]).argmax(1)]
                                == np.asarray(val_labels)[val_known])) if val_known.any() else -total / max(count, 1)
            history.append({"epoch": epoch, "loss": total / max(count, 1), "val_score": val, "lr": lr})
            if val > best:
                best, best_epoch = val, epoch
                best_state = copy.deepcopy((self.backbone.state_dict(), self.head.state_dict()))
            progress("train", epoch, self.epochs)
            if epoch - best_epoch >= self.patience:
                break
        if best_state is not None:
            self.backbone.load_state_dict(best_state[0])
            self.head.load_state_dict(best_state[1])
        return {"history": history, "best_epoch": best_epoch, "best_val_score": best,
                "seconds": time.perf_counter() - start, "n_classes": int(len(self.classes_)),
                "n_parameters": int(sum(p.numel() for p in self.backbone.parameters())
                                    + sum(p.numel() for p in self.head.parameters()))}

    @torch.inference_mode()
    def _features(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if self.backbone is None or self.head is None:
            raise RuntimeError("embed() before fit()")
        self.backbone.eval()
        self.head.eval()
        feats, logits = [], []
        x_all = np.asarray(images, np.float32)
        x_all = x_all[:, None] if x_all.ndim == 3 else x_all
        for s in range(0, len(x_all), self.batch_size):
            f = self.backbone(to_tensor(x_all[s:s + self.batch_size], self.device))
            feats.append(f.float().cpu().numpy())
            logits.append(self.head(f).softmax(dim=1).float().cpu().numpy())
        if not feats:
            return np.zeros((0, 1), np.float32), np.zeros((0, len(self.classes_)), np.float32)
        return np.concatenate(feats), np.concatenate(logits)

    def embed(self, images: np.ndarray) -> np.ndarray:
        """L2-normalised pooled backbone features (N, d)."""
        feats = self._features(images)[0]
        return check_embeddings(feats, len(images)) if len(images) else feats

    def predict_proba(self, images: np.ndarray) -> np.ndarray:
        """Probabilities (N, n_base_classes), columns in the order of ``classes_``."""
        return self._features(images)[1]
