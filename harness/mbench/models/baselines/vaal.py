"""VAAL and M-VAAL samplers: a beta-VAE with a latent discriminator, trained adversarially.

VAAL (Sinha et al., ICCV 2019): the discriminator learns to tell labelled from unlabelled latents
(BCE); the VAE learns to fool it; the sampler labels the unlabelled images the discriminator finds
least "labelled-like".

M-VAAL (Khanal et al., MIUA 2023): the same encoder, a second decoder that reconstructs the
auxiliary modality (FLAIR for BraTS) from the same latent, a discriminator with batch norm after
each linear layer, trained as a WGAN-GP critic (gradient penalty weight ``gp_lambda`` = 1). VAE loss
``gamma1 * L_adv + gamma2 * L_main + gamma3 * L_aux + beta * L_KL``. Selection: the ``n`` unlabelled
samples with the lowest critic score.

Both are retrained from scratch at every query, as in the papers' code.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as nnf

from mbench.models.baselines.torch_utils import pick_device, replicate_channels, seed_torch, to_tensor
from mbench.errors import MbenchError
from mbench.models.capabilities import Progress, SamplerView, no_progress

__all__ = ["BetaVAE", "LatentDiscriminator", "VAALSampler", "MVAALSampler"]


def _conv_stack(channels: list[int]) -> nn.Sequential:
    layers = []
    for cin, cout in zip(channels[:-1], channels[1:]):
        layers += [nn.Conv2d(cin, cout, 4, 2, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(True)]
    return nn.Sequential(*layers)


def _deconv_stack(channels: list[int], out_channels: int) -> nn.Sequential:
    layers = []
    for cin, cout in zip(channels[:-1], channels[1:]):
        layers += [nn.ConvTranspose2d(cin, cout, 4, 2, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(True)]
    layers.append(nn.ConvTranspose2d(channels[-1], out_channels, 4, 2, 1))
    return nn.Sequential(*layers)


class BetaVAE(nn.Module):
    """Convolutional beta-VAE (VAAL's layout: 4 stride-2 convs, widths base, 2b, 4b, 8b) with one or two decoders."""

    def __init__(self, image_size: int, channels: int, latent_dim: int, base_channels: int, aux_decoder: bool) -> None:
        super().__init__()
        if image_size % 16:
            raise MbenchError("VAE input size must be a multiple of 16", found=str(image_size),
                              fix="set protocol.sampler_input.image_size to e.g. 64 or 128")
        widths = [base_channels * m for m in (1, 2, 4, 8)]
        self.spatial = image_size // 16
        self.feat = widths[-1] * self.spatial ** 2
        self.encoder = _conv_stack([channels, *widths])
        self.mu, self.logvar = nn.Linear(self.feat, latent_dim), nn.Linear(self.feat, latent_dim)
        self.widths, self.channels = widths, channels
        self.decoders = nn.ModuleList([self._decoder(latent_dim) for _ in range(2 if aux_decoder else 1)])

    def _decoder(self, latent_dim: int) -> nn.Module:
        return nn.ModuleDict({"fc": nn.Linear(latent_dim, self.feat),
                              "deconv": _deconv_stack(self.widths[::-1][:-1] + [self.widths[0]], self.channels)})

    def decode(self, z: torch.Tensor, which: int = 0) -> torch.Tensor:
        dec = self.decoders[which]
        h = dec["fc"](z).view(len(z), self.widths[-1], self.spatial, self.spatial)
        return dec["deconv"](h)

    def forward(self, x: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor, torch.Tensor, torch.Tensor]:
        h = self.encoder(x).flatten(1)
        mu, logvar = self.mu(h), self.logvar(h)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar) if self.training else mu
        return [self.decode(z, k) for k in range(len(self.decoders))], z, mu, logvar


class LatentDiscriminator(nn.Module):
    """MLP on the latent with batch norm after each hidden linear layer; one raw score per sample."""

    def __init__(self, latent_dim: int, hidden: int = 512) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(latent_dim, hidden), nn.BatchNorm1d(hidden), nn.ReLU(True),
                                 nn.Linear(hidden, hidden), nn.BatchNorm1d(hidden), nn.ReLU(True),
                                 nn.Linear(hidden, 1))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z).squeeze(1)


def _kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    return -0.5 * torch.mean(torch.sum(1 + logvar - mu.pow(2) - logvar.exp(), dim=1))


def _gradient_penalty(disc: nn.Module, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    n = min(len(real), len(fake))
    alpha = torch.rand(n, 1, device=real.device)
    mix = (alpha * real[:n] + (1 - alpha) * fake[:n]).requires_grad_(True)
    grad, = torch.autograd.grad(disc(mix).sum(), mix, create_graph=True)
    return ((grad.norm(2, dim=1) - 1) ** 2).mean()


class _AdversarialVAESampler(ABC):
    """Shared training and selection of VAAL-style samplers; subclasses set the loss flavour."""

    uses_aux = False
    wgan = False

    def __init__(self, latent_dim: int = 64, base_channels: int = 128, epochs: int = 100, batch_size: int = 16,
                 lr: float = 1e-4, beta: float = 1.0, device: str = "auto", **weights: float) -> None:
        self.latent_dim, self.base_channels, self.epochs, self.batch_size = latent_dim, base_channels, epochs, batch_size
        self.lr, self.beta, self.weights = lr, beta, weights
        self.device = pick_device(device)
        self.last_log: dict = {}

    # --- losses -------------------------------------------------------------------------------------------
    @abstractmethod
    def _recon_loss(self, outs: list[torch.Tensor], x: torch.Tensor, aux: torch.Tensor | None) -> torch.Tensor:
        """Reconstruction loss of the decoders' outputs."""

    def _vae_adv_loss(self, d_lab: torch.Tensor, d_unl: torch.Tensor) -> torch.Tensor:
        if self.wgan:  # the encoder wants every latent to score as labelled
            return -(d_lab.mean() + d_unl.mean())
        ones = torch.ones_like(d_lab)
        return nnf.binary_cross_entropy_with_logits(d_lab, ones) + nnf.binary_cross_entropy_with_logits(
            d_unl, torch.ones_like(d_unl))

    def _disc_loss(self, disc: nn.Module, z_lab: torch.Tensor, z_unl: torch.Tensor) -> torch.Tensor:
        d_lab, d_unl = disc(z_lab), disc(z_unl)
        if self.wgan:
            return d_unl.mean() - d_lab.mean() + self.weights.get("gp_lambda", 1.0) * _gradient_penalty(disc, z_lab,
                                                                                                      z_unl)
        return nnf.binary_cross_entropy_with_logits(d_lab, torch.ones_like(d_lab)) + \
            nnf.binary_cross_entropy_with_logits(d_unl, torch.zeros_like(d_unl))

    # --- training and selection ---------------------------------------------------------------------------
    def _inputs(self, view: SamplerView, ids, channels: int) -> tuple[torch.Tensor, torch.Tensor | None]:
        idx = view.index(ids)
        x = replicate_channels(to_tensor(view.images[idx], self.device), channels)
        aux = None
        if self.uses_aux:
            aux = replicate_channels(to_tensor(view.aux[idx], self.device), channels)
        return x, aux

    def query(self, view: SamplerView, n: int, *, seed: int, progress: Progress = no_progress) -> list[str]:
        """Train the VAE and discriminator on the pool, then return the ``n`` lowest-scoring unlabelled ids."""
        if self.uses_aux and view.aux is None:
            raise MbenchError(f"{type(self).__name__} needs an auxiliary modality and the task provides none",
                              expected="a task with slicing.aux_modality", fix="use model=vaal or model=random")
        labelled, unlabelled = list(view.labelled_ids), list(view.unlabelled_ids)
        if n >= len(unlabelled):
            return unlabelled
        generator = seed_torch(seed)
        channels = 3
        vae = BetaVAE(view.images.shape[-1], channels, self.latent_dim, self.base_channels, self.uses_aux).to(self.device)
        disc = LatentDiscriminator(self.latent_dim).to(self.device)
        opt_v = torch.optim.Adam(vae.parameters(), lr=self.lr)
        opt_d = torch.optim.Adam(disc.parameters(), lr=self.lr)
        steps = self.epochs * max(1, math.ceil(len(view.pool_ids) / self.batch_size))
        bs = max(2, self.batch_size)
        g1 = self.weights.get("gamma1", self.weights.get("adversary_weight", 1.0))
        losses = []
        for step in range(steps):
            lab = [labelled[i] for i in torch.randint(len(labelled), (bs,), generator=generator)]
            unl = [unlabelled[i] for i in torch.randint(len(unlabelled), (bs,), generator=generator)]
            (x_l, a_l), (x_u, a_u) = self._inputs(view, lab, channels), self._inputs(view, unl, channels)
            vae.train()
            disc.train()
            outs_l, _, mu_l, lv_l = vae(x_l)
            outs_u, _, mu_u, lv_u = vae(x_u)
            vae_loss = (self._recon_loss(outs_l, x_l, a_l) + self._recon_loss(outs_u, x_u, a_u)
                        + self.beta * (_kl(mu_l, lv_l) + _kl(mu_u, lv_u))
                        + g1 * self._vae_adv_loss(disc(mu_l), disc(mu_u)))
            opt_v.zero_grad(set_to_none=True)
            vae_loss.backward()
            opt_v.step()
            d_loss = self._disc_loss(disc, mu_l.detach(), mu_u.detach())
            opt_d.zero_grad(set_to_none=True)
            d_loss.backward()
            opt_d.step()
            losses.append((vae_loss.item(), d_loss.item()))
            progress("sampler", step + 1, steps + 1)
        scores = self.score(vae, disc, view, unlabelled, channels)
        progress("sampler", steps + 1, steps + 1)
        self.last_log = {"steps": steps, "final_vae_loss": losses[-1][0] if losses else None,
                         "final_disc_loss": losses[-1][1] if losses else None}
        order = np.argsort(scores, kind="stable")[:n]
        return [unlabelled[i] for i in sorted(order)]

    @torch.inference_mode()
    def score(self, vae: BetaVAE, disc: nn.Module, view: SamplerView, ids: list[str], channels: int) -> np.ndarray:
        """Discriminator score of each id's latent mean (higher = more like the labelled set)."""
        vae.eval()
        disc.eval()
        out = []
        for start in range(0, len(ids), 256):
            x, _ = self._inputs(view, ids[start:start + 256], channels)
            _, _, mu, _ = vae(x)
            out.append(disc(mu).float().cpu().numpy())
        return np.concatenate(out)


class VAALSampler(_AdversarialVAESampler):
    """VAAL: one decoder (main modality), BCE discriminator, ``adversary_weight`` on the VAE's adversarial term."""

    def __init__(self, adversary_weight: float = 1.0, **kwargs) -> None:
        super().__init__(adversary_weight=adversary_weight, **kwargs)

    def _recon_loss(self, outs, x, aux):
        return nnf.mse_loss(outs[0], x)


class MVAALSampler(_AdversarialVAESampler):
    """M-VAAL: main + auxiliary decoders, WGAN-GP critic; ``gamma3`` weighs the auxiliary reconstruction."""

    uses_aux = True
    wgan = True

    def __init__(self, gamma1: float = 1.0, gamma2: float = 1.0, gamma3: float = 1.0, gp_lambda: float = 1.0,
                 **kwargs) -> None:
        super().__init__(gamma1=gamma1, gamma2=gamma2, gamma3=gamma3, gp_lambda=gp_lambda, **kwargs)

    def _recon_loss(self, outs, x, aux):
        return self.weights["gamma2"] * nnf.mse_loss(outs[0], x) + self.weights["gamma3"] * nnf.mse_loss(outs[1], aux)
