"""Kvasir-SEG-like (polyps) and Kvasir-Instrument-like (endoscopic tools) stand-ins, in the release layouts.

Kvasir-SEG: ``<root>/images/<id>.jpg`` and ``<root>/masks/<id>.jpg`` (JPEG masks, as released).
Kvasir-Instrument: ``<root>/images/<id>.jpg``, ``<root>/masks/<id>.png``, ``<root>/train.txt`` and
``<root>/test.txt`` (the release's own split lists).

Appearance: pinkish-red mucosa with folds, vessels and specular highlights inside a dark endoscope
vignette, images of varying size; a polyp is a smooth, raised, lighter and shaded blob; an instrument
is a grey metallic shaft entering from the border with a highlight along its axis and a wider tip. A
few images hold no object (an empty mask), which exercises the empty-mask conventions.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy import ndimage

from mbench.data.synthetic.textures import ellipse_mask, smooth_field, to_uint8

__all__ = ["generate_kvasir_seg", "generate_kvasir_instrument", "mucosa"]


def mucosa(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    """An (H, W, 3) float RGB endoscopic background: mucosa, folds, vessels, highlights, vignette."""
    h, w = shape
    folds = smooth_field(rng, shape, min(shape) / 10)
    fine = smooth_field(rng, shape, 1.5)
    vessels = np.abs(smooth_field(rng, shape, min(shape) / 30)) < 0.025
    base = np.asarray((205, 105, 95), np.float32) * rng.uniform(0.9, 1.1, 3)
    image = base[None, None] * (1 + 0.18 * folds[..., None] + 0.04 * fine[..., None])
    image[vessels] *= np.asarray((0.75, 0.55, 0.55), np.float32)
    highlights = smooth_field(rng, shape, 2.0) > 0.82
    image[highlights] = (250, 245, 240)
    yy, xx = np.mgrid[:h, :w].astype(np.float32)
    r = np.hypot((yy - h / 2) / (h / 2), (xx - w / 2) / (w / 2))
    image *= np.clip(1.25 - 0.55 * r, 0, 1)[..., None]
    image[r > 1.3] = 0  # the black corners of the endoscope frame
    return image


def _size(rng: np.random.Generator, size_range: tuple[int, int]) -> tuple[int, int]:
    h = int(rng.integers(size_range[0], size_range[1] + 1))
    return h, int(round(h * rng.uniform(1.15, 1.35)))


def _polyp(rng: np.random.Generator, image: np.ndarray) -> np.ndarray:
    h, w = image.shape[:2]
    centre = (rng.uniform(0.3, 0.7) * h, rng.uniform(0.3, 0.7) * w)
    radii = (rng.uniform(0.1, 0.28) * h, rng.uniform(0.1, 0.28) * w)
    mask = ellipse_mask((h, w), centre, radii, rng.uniform(0, np.pi))
    mask &= smooth_field(rng, (h, w), max(h / 25, 1.0)) > -0.6
    mask = ndimage.binary_fill_holes(ndimage.binary_opening(mask, iterations=2))
    dist = ndimage.distance_transform_edt(mask)
    dome = dist / (dist.max() + 1e-6)
    colour = np.asarray((235, 150, 130), np.float32) * rng.uniform(0.92, 1.08, 3)
    shade = (0.75 + 0.35 * dome)[..., None]
    image[mask] = (colour[None, None] * shade)[mask]
    return mask


def _instrument(rng: np.random.Generator, image: np.ndarray) -> np.ndarray:
    h, w = image.shape[:2]
    yy, xx = np.mgrid[:h, :w].astype(np.float32)
    side = rng.integers(4)
    start = [(0.0, rng.uniform(0.2, 0.8) * w), (h - 1.0, rng.uniform(0.2, 0.8) * w),
             (rng.uniform(0.2, 0.8) * h, 0.0), (rng.uniform(0.2, 0.8) * h, w - 1.0)][side]
    tip = (rng.uniform(0.3, 0.7) * h, rng.uniform(0.3, 0.7) * w)
    d = np.asarray(tip) - np.asarray(start)
    length = float(np.hypot(*d)) + 1e-6
    u = ((yy - start[0]) * d[0] + (xx - start[1]) * d[1]) / length  # along the shaft
    v = (-(yy - start[0]) * d[1] + (xx - start[1]) * d[0]) / length  # across
    width = rng.uniform(0.04, 0.08) * min(h, w)
    mask = (np.abs(v) < width) & (u > -width) & (u < length)
    mask |= ellipse_mask((h, w), tip, (1.8 * width, 1.3 * width), float(np.arctan2(d[0], d[1])))
    metal = 150 + 70 * np.exp(-(v / (0.35 * width)) ** 2) + 12 * smooth_field(rng, (h, w), 3.0)
    grey = np.stack([metal, metal * 1.02, metal * 1.05], axis=-1)
    image[mask] = grey[mask]
    return mask


def _write(rng: np.random.Generator, root: Path, name: str, size_range: tuple[int, int], draw, mask_ext: str,
           empty_fraction: float) -> None:
    from PIL import Image

    image = mucosa(rng, _size(rng, size_range))
    mask = np.zeros(image.shape[:2], bool) if rng.random() < empty_fraction else draw(rng, image)
    image = image + rng.normal(0, 4.0, image.shape)
    Image.fromarray(to_uint8(image)).save(root / "images" / f"{name}.jpg", quality=90)
    Image.fromarray(mask.astype(np.uint8) * 255).save(root / "masks" / f"{name}{mask_ext}",
                                                      **({"quality": 95} if mask_ext == ".jpg" else {}))


def _names(seed: np.random.SeedSequence, n: int, prefix: str) -> list[str]:
    """Release-like opaque ids: a prefix and 21 base-36 characters."""
    rng = np.random.default_rng(seed)
    alphabet = np.asarray(list("0123456789abcdefghijklmnopqrstuvwxyz"))
    return [prefix + "".join(rng.choice(alphabet, 21)) for _ in range(n)]


def generate_kvasir_seg(root: Path, *, n_images: int = 100, size_range: tuple[int, int] = (120, 180),
                        empty_fraction: float = 0.03, seed: int = 2020) -> list[str]:
    """Write a Kvasir-SEG-layout stand-in and return its image ids (sorted).

    Example:
        >>> import tempfile, pathlib
        >>> len(generate_kvasir_seg(pathlib.Path(tempfile.mkdtemp()), n_images=3, size_range=(40, 48)))
        3
    """
    root = Path(root)
    (root / "images").mkdir(parents=True, exist_ok=True)
    (root / "masks").mkdir(parents=True, exist_ok=True)
    names_seed, *children = np.random.SeedSequence(seed).spawn(n_images + 1)
    names = _names(names_seed, n_images, "cju")
    for name, child in zip(names, children):
        _write(np.random.default_rng(child), root, name, tuple(size_range), _polyp, ".jpg", empty_fraction)
    return sorted(names)


def generate_kvasir_instrument(root: Path, *, n_train: int = 60, n_test: int = 15,
                               size_range: tuple[int, int] = (120, 180), empty_fraction: float = 0.03,
                               seed: int = 2021) -> list[str]:
    """Write a Kvasir-Instrument-layout stand-in (with ``train.txt`` / ``test.txt``) and return its ids (sorted).

    Example:
        >>> import tempfile, pathlib
        >>> len(generate_kvasir_instrument(pathlib.Path(tempfile.mkdtemp()), n_train=2, n_test=1, size_range=(40, 48)))
        3
    """
    root = Path(root)
    (root / "images").mkdir(parents=True, exist_ok=True)
    (root / "masks").mkdir(parents=True, exist_ok=True)
    names_seed, *children = np.random.SeedSequence(seed).spawn(n_train + n_test + 1)
    names = _names(names_seed, n_train + n_test, "ckc")
    for name, child in zip(names, children):
        _write(np.random.default_rng(child), root, name, tuple(size_range), _instrument, ".png", empty_fraction)
    (root / "train.txt").write_text("".join(f"{n}\n" for n in names[:n_train]))
    (root / "test.txt").write_text("".join(f"{n}\n" for n in names[n_train:]))
    return sorted(names)
