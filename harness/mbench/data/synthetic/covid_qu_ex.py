"""COVID-QU-Ex-like chest X-ray stand-in, in the release layout (see :mod:`mbench.data.adapters.covid_qu_ex`).

``<root>/<Train|Val|Test>/<COVID-19|Non-COVID|Normal>/{images,lung masks}/<name>.png``, grey PNGs.

Appearance (a PA chest radiograph): a bright soft-tissue thorax on a dark background, two radiolucent (dark) lung
fields, a bright mediastinum / spine and heart shadow, ribs as bright arcs over the lungs, film grain. The lung mask
is the union of the two lung fields. Classes: ``Normal`` = clear lungs; ``Non-COVID`` (other pneumonia) = one focal
(lobar) opacity in one lung; ``COVID-19`` = bilateral, peripheral and lower-zone diffuse ground-glass haze. The class
ratio follows the release's (about 2 : 1 : 1).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy import ndimage

from mbench.data.synthetic.textures import ellipse_mask, smooth_field, to_uint8

__all__ = ["generate_covid_qu_ex", "DEFAULT_COUNTS"]

# per split: (COVID-19, Non-COVID, Normal), about the release's 2 : 1 : 1 ratio
DEFAULT_COUNTS = {"Train": (120, 60, 60), "Val": (30, 15, 15), "Test": (36, 18, 18)}
_CLASSES = ("COVID-19", "Non-COVID", "Normal")
_PREFIX = {"COVID-19": "covid", "Non-COVID": "non_COVID", "Normal": "Normal"}


def _radiograph(rng: np.random.Generator, size: int) -> tuple[np.ndarray, np.ndarray, list[tuple]]:
    """A clear chest film (float, 0..255), its lung mask and the two lung ellipses (centre, radii, angle)."""
    h = w = size
    yy, xx = np.mgrid[:h, :w].astype(np.float32)
    thorax = ellipse_mask((h, w), (0.55 * h, 0.5 * w), (0.55 * h, 0.46 * w))
    img = 25 + 140 * ndimage.gaussian_filter(thorax.astype(np.float32), size / 25)
    lungs, lung_mask = [], np.zeros((h, w), bool)
    for side in (-1, 1):
        centre = (rng.uniform(0.45, 0.52) * h, (0.5 + side * rng.uniform(0.17, 0.21)) * w)
        radii = (rng.uniform(0.27, 0.32) * h, rng.uniform(0.12, 0.15) * w)
        angle = side * rng.uniform(0.05, 0.15)
        lungs.append((centre, radii, angle))
        lung_mask |= ellipse_mask((h, w), centre, radii, angle)
    img -= 95 * ndimage.gaussian_filter(lung_mask.astype(np.float32), size / 60)
    spine = np.exp(-((xx - 0.5 * w) / (0.045 * w)) ** 2) * (yy > 0.12 * h)
    heart = ellipse_mask((h, w), (0.62 * h, 0.46 * w), (0.14 * h, 0.12 * w)).astype(np.float32)
    img += 70 * spine + 55 * ndimage.gaussian_filter(heart, size / 40)
    for k in range(7):  # ribs: bright arcs across both lung fields
        y0 = (0.2 + 0.09 * k + rng.uniform(-0.01, 0.01)) * h
        arc = y0 + 0.12 * h * ((xx - 0.5 * w) / (0.5 * w)) ** 2
        img += 28 * np.exp(-((yy - arc) / (0.012 * h + 0.5)) ** 2) * thorax
    img += 6 * smooth_field(rng, (h, w), size / 30) + rng.normal(0, 3.0, (h, w))
    return img, lung_mask, lungs


def _opacity(rng: np.random.Generator, size: int, lung_mask: np.ndarray, lungs: list[tuple], cls: str) -> np.ndarray:
    """Added brightness of the class's opacities (zero for Normal), confined to the lungs."""
    h = w = size
    yy, xx = np.mgrid[:h, :w].astype(np.float32)
    if cls == "Normal":
        return np.zeros((h, w), np.float32)
    haze = np.zeros((h, w), np.float32)
    if cls == "Non-COVID":  # one focal lobar consolidation
        centre, radii, _ = lungs[int(rng.integers(2))]
        cy, cx = centre[0] + rng.uniform(-0.4, 0.5) * radii[0], centre[1] + rng.uniform(-0.3, 0.3) * radii[1]
        r = rng.uniform(0.06, 0.09) * size
        haze += 75 * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * r * r))
    else:  # COVID-19: bilateral, peripheral, lower-zone ground glass
        for centre, radii, _ in lungs:
            side = np.sign(centre[1] - w / 2)
            periphery = np.clip(side * (xx - centre[1]) / radii[1], 0, 1.2)
            lower = np.clip((yy - centre[0] + 0.5 * radii[0]) / radii[0], 0, 1.5)
            haze += 60 * periphery * lower
        haze *= 0.7 + 0.3 * (smooth_field(rng, (h, w), size / 20) + 1) / 2
    return haze * ndimage.gaussian_filter(lung_mask.astype(np.float32), 1.5)


def generate_covid_qu_ex(root: Path, counts: dict[str, list[int]] | None = None, size: int = 128,
                         seed: int = 2021) -> list[str]:
    """Write the stand-in; ``counts[split]`` = images of (COVID-19, Non-COVID, Normal). Returns the case ids."""
    from PIL import Image

    counts = {s: tuple(c) for s, c in (counts or DEFAULT_COUNTS).items()}
    ids = []
    for s_index, (split, per_class) in enumerate(sorted(counts.items())):
        for c_index, (cls, n) in enumerate(zip(_CLASSES, per_class)):
            images, masks = Path(root) / split / cls / "images", Path(root) / split / cls / "lung masks"
            images.mkdir(parents=True, exist_ok=True)
            masks.mkdir(parents=True, exist_ok=True)
            for k in range(n):
                rng = np.random.default_rng([seed, s_index, c_index, k])
                img, lung_mask, lungs = _radiograph(rng, size)
                img += _opacity(rng, size, lung_mask, lungs, cls)
                name = f"{_PREFIX[cls]}_{k + 1}.png"
                Image.fromarray(to_uint8(img)).save(images / name)
                Image.fromarray((lung_mask * 255).astype(np.uint8)).save(masks / name)
                ids.append(f"{split}/{cls}/{Path(name).stem}")
    return sorted(ids)
