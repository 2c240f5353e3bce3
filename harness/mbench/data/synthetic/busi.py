"""BUSI-like breast ultrasound stand-in, in the release layout.

``<root>/Dataset_BUSI_with_GT/{benign,malignant,normal}/<class> (<n>).png`` with ``<class> (<n>)_mask.png``;
some lesion images get a second lesion stored as ``<class> (<n>)_mask_1.png`` (the adapter merges them).

Appearance: Rayleigh speckle over horizontal tissue layers, with depth attenuation, inside a rectangle or a
sector ("fan"); benign = a smooth round / oval hypo-echoic lesion with posterior enhancement; malignant = an
irregular, spiculated hypo-echoic blob with posterior shadowing; normal = no lesion and an all-zero mask. The last
``source_b[class]`` images of a class are rendered as a second "scanner" (other gain, contrast, speckle size and
resolution), mimicking paper 23's BUS B client.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy import ndimage

from mbench.data.synthetic.textures import ellipse_mask, smooth_field, to_uint8

__all__ = ["generate_busi"]

_SOURCES = {"A": {"gain": 1.0, "contrast": 1.0, "speckle": 1.0, "blur": 0.0},
            "B": {"gain": 0.8, "contrast": 1.3, "speckle": 1.8, "blur": 1.0}}


def _background(rng: np.random.Generator, size: int, src: dict) -> tuple[np.ndarray, np.ndarray]:
    h = w = size
    yy, xx = np.mgrid[:h, :w].astype(np.float32)
    depth = yy / h
    layers = 0.6 + 0.25 * np.sin(2 * np.pi * (depth * rng.uniform(2, 4) + rng.uniform(0, 1))
                                 + 0.6 * smooth_field(rng, (h, w), size / 8))
    echo = layers * (1.1 - 0.6 * depth)  # depth attenuation
    if rng.random() < 0.5:  # sector (fan) field of view
        angle = np.arctan2(xx - w / 2, yy + 0.3 * h)
        r = np.hypot(xx - w / 2, yy + 0.3 * h)
        fov = (np.abs(angle) < 0.6) & (r > 0.3 * h) & (r < 1.3 * h)
    else:
        fov = np.zeros((h, w), bool)
        fov[:, int(0.05 * w):int(0.95 * w)] = True
    return echo.astype(np.float32), fov


def _lesion(rng: np.random.Generator, size: int, malignant: bool) -> np.ndarray:
    shape = (size, size)
    centre = (rng.uniform(0.35, 0.6) * size, rng.uniform(0.3, 0.7) * size)
    radii = (rng.uniform(0.08, 0.16) * size, rng.uniform(0.1, 0.2) * size)
    if not malignant:
        return ellipse_mask(shape, centre, radii, rng.uniform(-0.3, 0.3))
    yy, xx = np.mgrid[:size, :size].astype(np.float32)
    theta = np.arctan2(yy - centre[0], xx - centre[1])
    spikes = 1 + 0.25 * np.sin(theta * rng.integers(5, 9) + rng.uniform(0, 6)) + 0.15 * smooth_field(rng, shape, 2)
    rad = np.hypot((yy - centre[0]) / radii[0], (xx - centre[1]) / radii[1])
    return ndimage.binary_fill_holes(rad < spikes)


def _render(rng: np.random.Generator, size: int, cls: str, source: str) -> tuple[np.ndarray, list[np.ndarray]]:
    src = _SOURCES[source]
    echo, fov = _background(rng, size, src)
    masks: list[np.ndarray] = []
    if cls != "normal":
        masks.append(_lesion(rng, size, cls == "malignant"))
        if rng.random() < 0.15:  # a second lesion, stored as <name>_mask_1.png
            extra = _lesion(rng, size, cls == "malignant") & ~ndimage.binary_dilation(masks[0], iterations=3)
            if extra.sum() > 20:
                masks.append(extra)
    for mask in masks:
        inside = ndimage.gaussian_filter(mask.astype(np.float32), 1.0)
        echo = echo * (1 - 0.8 * inside)
        below = np.zeros_like(mask)
        cols = mask.any(axis=0)
        bottom = mask.shape[0] - np.argmax(mask[::-1], axis=0)
        for c in np.flatnonzero(cols):
            below[bottom[c]:, c] = True
        factor = 1.35 if cls == "benign" else 0.45  # posterior enhancement vs acoustic shadowing
        echo = np.where(below & ~mask, echo * factor, echo)
    mask = np.zeros((size, size), bool)
    for m in masks:
        mask |= m
    fine = max(1.0, 0.6 * src["speckle"])
    speckle = rng.rayleigh(1.0, (size, size)).astype(np.float32)
    speckle = ndimage.gaussian_filter(speckle, fine - 0.4) if fine > 1 else speckle
    image = 110 * src["gain"] * (echo ** src["contrast"]) * speckle
    if src["blur"]:
        image = ndimage.gaussian_filter(image, src["blur"])
    image[~fov] = 0
    return to_uint8(image), [m & fov for m in masks] or [np.zeros((size, size), bool)]


def generate_busi(root: Path, *, n_benign: int = 61, n_malignant: int = 27, n_normal: int = 13,
                  source_b: dict[str, int] | None = None, size: int = 96, seed: int = 2020) -> list[str]:
    """Write a BUSI-layout stand-in and return its case ids (file stems, sorted).

    Example:
        >>> import tempfile, pathlib
        >>> generate_busi(pathlib.Path(tempfile.mkdtemp()), n_benign=1, n_malignant=1, n_normal=1, size=32)
        ['benign (1)', 'malignant (1)', 'normal (1)']
    """
    from PIL import Image

    source_b = source_b or {}
    base = Path(root) / "Dataset_BUSI_with_GT"
    counts = {"benign": n_benign, "malignant": n_malignant, "normal": n_normal}
    children = np.random.SeedSequence(seed).spawn(sum(counts.values()))
    ids, k = [], 0
    for cls, n in counts.items():
        (base / cls).mkdir(parents=True, exist_ok=True)
        for i in range(1, n + 1):
            source = "B" if i > n - int(source_b.get(cls, 0)) else "A"
            image, masks = _render(np.random.default_rng(children[k]), size, cls, source)
            k += 1
            name = f"{cls} ({i})"
            Image.fromarray(image).save(base / cls / f"{name}.png")
            for j, m in enumerate(masks):
                suffix = "_mask" if j == 0 else f"_mask_{j}"
                Image.fromarray(m.astype(np.uint8) * 255).save(base / cls / f"{name}{suffix}.png")
            ids.append(name)
    return sorted(ids)
