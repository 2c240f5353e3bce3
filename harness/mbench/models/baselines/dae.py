"""EfficientNet-B3 U-Net with a denoising-autoencoder preprocessing stage (Hammouda et al., MIUA 2023).

Stage 1 trains a denoising autoencoder (an smp U-Net with the same encoder and 3 output channels)
to reconstruct training images from copies with added Gaussian noise (MSE; checkpoint chosen by the
validation MSE). Stage 2 trains the segmentation U-Net on the autoencoder's reconstructions of the
training images; at prediction the image passes through the autoencoder, then the segmenter. Both
stages are retrained at every ``fit``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as nnf

from mbench.inference.batched import batched_predict
from mbench.models.baselines.torch_utils import seed_torch, to_tensor
from mbench.models.baselines.training import fit_supervised
from mbench.models.baselines.unet import UNetSegmenter
from mbench.models.capabilities import Progress, no_progress

__all__ = ["DenoisingAutoencoder", "DAEUNetSegmenter"]


class DenoisingAutoencoder:
    """An image-to-image smp U-Net trained to remove Gaussian noise of sd ``noise_std`` (in input units).

    Args:
        encoder, encoder_depth, decoder_channels: smp ``Unet`` architecture.
        in_channels: image channels (the reconstruction has the same number).
        noise_std: sd of the added noise, in the units of the model's input (e.g. ImageNet-normalised).
        optimizer, lr, epochs, batch_size: training settings.
        device: a torch device.
    """

    def __init__(self, encoder: str, encoder_depth: int, decoder_channels: list[int], in_channels: int,
                 noise_std: float, optimizer: str, lr: float, epochs: int, batch_size: int,
                 device: torch.device) -> None:
        self.arch = dict(encoder_name=encoder, encoder_depth=encoder_depth, decoder_channels=list(decoder_channels),
                         in_channels=in_channels, classes=in_channels, encoder_weights=None)
        self.noise_std, self.optimizer, self.lr = noise_std, optimizer, lr
        self.epochs, self.batch_size = epochs, batch_size
        self.device = device
        self.net: torch.nn.Module | None = None

    def _run(self, x: torch.Tensor) -> torch.Tensor:
        """The network on ``x``, padded (edge values) to a multiple of the encoder's stride and cropped back."""
        factor = 2 ** self.arch["encoder_depth"]
        h, w = x.shape[-2:]
        padded = nnf.pad(x, (0, (-w) % factor, 0, (-h) % factor), mode="replicate")
        return self.net(padded)[..., :h, :w]

    def _noisy(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        noise = torch.randn(x.shape, generator=generator, device="cpu").to(x.device)
        return x + self.noise_std * noise

    def fit(self, images: np.ndarray, val_images: np.ndarray, *, seed: int, progress: Progress) -> dict:
        """Train on noisy copies of ``images``; keep the checkpoint with the lowest validation MSE."""
        import segmentation_models_pytorch as smp

        seed_torch(seed)
        self.net = smp.Unet(**self.arch).to(self.device)
        net = self.net
        val_noise = torch.Generator().manual_seed(seed + 1)
        noisy_val = self._noisy(to_tensor(val_images, torch.device("cpu")), val_noise).numpy()

        def forward(x: torch.Tensor) -> torch.Tensor:
            return self._run(self._noisy(x) if net.training else x)

        def score(pred: np.ndarray, clean: np.ndarray) -> float:
            return -float(np.mean((pred - clean.reshape(pred.shape)) ** 2))

        images4 = images if images.ndim == 4 else images[:, None]
        log = fit_supervised(net, forward=forward, loss_fn=lambda out, y: nnf.mse_loss(out, y.to(out.dtype)),
                             predict=self.denoise, images=images4, targets=images4, val_images=noisy_val,
                             val_targets=val_images, score=score, optimizer=self.optimizer, lr=self.lr,
                             epochs=self.epochs, batch_size=self.batch_size, seed=seed, device=self.device,
                             progress=progress)
        log["n_parameters"] = int(sum(p.numel() for p in net.parameters()))
        return log

    def denoise(self, images: np.ndarray) -> np.ndarray:
        """Reconstructions of (N, H, W) or (N, C, H, W) images, with the input's shape."""
        self.net.eval()
        out = batched_predict(images, self._run, device=self.device, batch_size=self.batch_size)
        return out.reshape(images.shape).astype(np.float32)


class DAEUNetSegmenter:
    """Denoising-autoencoder stage, then an smp U-Net segmenter on the denoised images.

    Args:
        encoder, encoder_depth, decoder_channels, in_channels, classes, loss, optimizer, lr, epochs,
            batch_size, image_size, pretrained, pretrained_path: the segmenter (see ``UNetSegmenter``).
        dae_noise_std, dae_lr, dae_epochs, dae_batch_size, dae_optimizer: the autoencoder stage.
        device: ``auto``, ``cpu`` or ``cuda``.
    """

    def __init__(self, encoder: str = "efficientnet-b3", encoder_depth: int = 5,
                 decoder_channels: list[int] | tuple[int, ...] = (256, 128, 64, 32, 16), in_channels: int = 3,
                 classes: int = 6, loss: str = "ce", optimizer: str = "adam", lr: float = 1e-3, epochs: int = 65,
                 batch_size: int = 4, image_size: int | None = None, pretrained: bool = False,
                 pretrained_path: str | None = None, dae_noise_std: float = 0.5, dae_optimizer: str = "adam",
                 dae_lr: float = 3e-4, dae_epochs: int = 65, dae_batch_size: int = 4, device: str = "auto") -> None:
        self.segmenter = UNetSegmenter(encoder=encoder, encoder_depth=encoder_depth,
                                       decoder_channels=list(decoder_channels), in_channels=in_channels,
                                       optimizer=optimizer, lr=lr, epochs=epochs, batch_size=batch_size,
                                       image_size=image_size, pretrained=pretrained, pretrained_path=pretrained_path,
                                       classes=classes, loss=loss, device=device)
        self.dae = DenoisingAutoencoder(encoder, encoder_depth, list(decoder_channels), in_channels, dae_noise_std,
                                        dae_optimizer, dae_lr, dae_epochs, dae_batch_size, self.segmenter.device)

    def fit(self, images: np.ndarray, targets: np.ndarray, val_images: np.ndarray, val_targets: np.ndarray, *,
            score: Callable[[np.ndarray, np.ndarray], float], seed: int, progress: Progress = no_progress) -> dict:
        """Train the autoencoder, then the segmenter on its reconstructions; returns both training logs."""
        dae_log = self.dae.fit(images, val_images, seed=seed, progress=lambda s, d, t: progress("denoiser", d, t))
        seg_log = self.segmenter.fit(self.dae.denoise(images), targets, self.dae.denoise(val_images), val_targets,
                                     score=score, seed=seed, progress=progress)
        return {**seg_log, "denoiser": dae_log,
                "n_parameters": seg_log["n_parameters"] + dae_log["n_parameters"]}

    def predict(self, images: np.ndarray) -> np.ndarray:
        """Class-index maps of the denoised images."""
        return self.segmenter.predict(self.dae.denoise(images))
