"""Deterministic colour-fundus stand-ins in the APTOS 2019, iChallenge-AMD and ORIGA release layouts.

Each photograph: a black background outside a circular field of view, an orange-red retina with vignetting, a
bright optic disc with its cup, a darker macula, a branching vessel tree leaving the disc, sensor noise, and mixed
image sizes (as the releases). Class signal follows paper 21's reading of the Betti curves:

* diabetic retinopathy, grade g (0-4): Poisson(6 g + 1) bright exudates, Poisson(8 g + 1) micro-aneurysms,
  haemorrhage blots from grade 3, extra fine tortuous vessels at grade 4 (more loops / components at mid grey);
* glaucoma: an enlarged cup (cup-to-disc ratio 0.5-0.8 against 0.25-0.6) and a darker periphery;
* AMD: more yellowish drusen around the macula (6-30 against 0-10).

Example:
    >>> import tempfile, pathlib
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> len(generate_ichallenge_amd(root, n_amd=2, n_normal=3, size=64, seed=0))
    5
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

__all__ = ["render_fundus", "generate_aptos2019", "generate_ichallenge_amd", "generate_origa"]


def _blob(yy: np.ndarray, xx: np.ndarray, cy: float, cx: float, r: float) -> np.ndarray:
    return np.exp(-(((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * r * r)))


def _vessels(rng: np.random.Generator, h: int, w: int, start: tuple[float, float], n: int, length: float,
             width: float, tortuous: float = 0.25) -> np.ndarray:
    """A vessel-density map: ``n`` random-walk trees from ``start``, each branching once or twice."""
    from PIL import Image, ImageDraw

    canvas = Image.new("F", (w, h), 0.0)
    draw = ImageDraw.Draw(canvas)
    stack = [(start[1], start[0], rng.uniform(0, 2 * np.pi), width, length) for _ in range(n)]
    while stack:
        x, y, angle, wd, ln = stack.pop()
        steps = max(2, int(ln / 4))
        for s in range(steps):
            angle += rng.normal(0, tortuous)
            nx, ny = x + 4 * np.cos(angle), y + 4 * np.sin(angle)
            draw.line([(x, y), (nx, ny)], fill=1.0, width=max(1, int(round(wd))))
            x, y = nx, ny
            if wd > 1.2 and s == steps // 2 and rng.random() < 0.8:
                stack.append((x, y, angle + rng.choice([-1, 1]) * rng.uniform(0.4, 0.9), wd * 0.7, ln * 0.6))
    return np.asarray(canvas)


def _spots(rng: np.random.Generator, yy: np.ndarray, xx: np.ndarray, n: int, centre: tuple[float, float],
           spread: float, radius: tuple[float, float]) -> np.ndarray:
    out = np.zeros(yy.shape, np.float32)
    for _ in range(n):
        cy, cx = rng.normal(centre[0], spread), rng.normal(centre[1], spread)
        out = np.maximum(out, _blob(yy, xx, cy, cx, rng.uniform(*radius)))
    return out


def render_fundus(rng: np.random.Generator, height: int, width: int, *, dr_grade: int = 0, cup_ratio: float = 0.35,
                  drusen: int = 0, periphery_dark: float = 0.0) -> np.ndarray:
    """One synthetic fundus photograph, (height, width, 3) uint8 RGB."""
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    cy, cx, radius = height / 2, width / 2, 0.47 * min(height, width)
    rr = np.sqrt((yy - cy) ** 2 + (xx - cx) ** 2) / radius
    fov = rr <= 1.0
    tone = rng.uniform(0.85, 1.1)
    vignette = 1.0 - (0.35 + periphery_dark) * rr ** 2
    rgb = np.stack([205 * tone * vignette, 95 * tone * vignette, 45 * tone * vignette], axis=-1)
    side = rng.choice([-1, 1])
    disc = (cy + rng.normal(0, 0.03) * radius, cx + side * 0.5 * radius)
    macula = (cy + rng.normal(0, 0.03) * radius, cx - side * 0.08 * radius)
    disc_r = 0.11 * radius
    rgb -= 45 * _blob(yy, xx, *macula, 0.13 * radius)[..., None] * np.array([1.0, 0.8, 0.5])
    rgb += _blob(yy, xx, *disc, disc_r)[..., None] * np.array([45, 95, 70])
    rgb += _blob(yy, xx, *disc, cup_ratio * disc_r)[..., None] * np.array([10, 60, 70])
    vessel = _vessels(rng, height, width, disc, n=7, length=1.2 * radius, width=max(1.5, radius / 45))
    if dr_grade >= 4:
        vessel = np.maximum(vessel, 0.7 * _vessels(rng, height, width, macula, n=4, length=0.5 * radius, width=1,
                                                   tortuous=0.9))
    rgb -= vessel[..., None] * np.array([75, 55, 25])
    lesion_r = (0.6, max(1.2, radius / 60))
    spread = 0.35 * radius
    # lesion counts are Poisson draws, so neighbouring grades overlap (grade 0 has a few benign spots too)
    exudates = _spots(rng, yy, xx, int(rng.poisson(6 * dr_grade + 1)), macula, spread, lesion_r)
    rgb += exudates[..., None] * np.array([40, 120, 50])
    aneurysms = _spots(rng, yy, xx, int(rng.poisson(8 * dr_grade + 1)), macula, 1.5 * spread, (0.5, 1.0))
    rgb -= aneurysms[..., None] * np.array([90, 60, 30])
    if dr_grade >= 3:
        blots = _spots(rng, yy, xx, 3 * dr_grade, macula, spread, (1.5, max(2.0, radius / 25)))
        rgb -= blots[..., None] * np.array([100, 60, 30])
    if drusen:
        dr = _spots(rng, yy, xx, drusen, macula, 0.12 * radius, lesion_r)
        rgb += dr[..., None] * np.array([30, 110, 60])
    rgb += rng.normal(0, 4.0, rgb.shape)
    rgb[~fov] = rng.uniform(0, 4, (int((~fov).sum()), 3))
    return np.clip(rgb, 0, 255).astype(np.uint8)


def _size(rng: np.random.Generator, size: int, aspect: float) -> tuple[int, int]:
    scale = rng.choice([1.0, 1.25, 1.5])
    return int(size * scale), int(size * scale * aspect)


def generate_aptos2019(root: Path, counts: tuple[int, ...] = (50, 10, 27, 5, 8), size: int = 128,
                       seed: int = 2019) -> list[str]:
    """APTOS layout: ``train.csv`` (id_code, diagnosis) and ``train_images/<id_code>.png`` (12-hex-digit ids)."""
    from PIL import Image

    root = Path(root)
    (root / "train_images").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    grades = [g for g, n in enumerate(counts) for _ in range(n)]
    order = rng.permutation(len(grades))
    rows = []
    for k in order:
        case = f"{int(rng.integers(0, 2 ** 48)):012x}"
        h, w = _size(rng, size, 4 / 3)
        Image.fromarray(render_fundus(rng, h, w, dr_grade=grades[k])).save(root / "train_images" / f"{case}.png")
        rows.append((case, grades[k]))
    with open(root / "train.csv", "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["id_code", "diagnosis"])
        writer.writerows(rows)
    return sorted(r[0] for r in rows)


def generate_ichallenge_amd(root: Path, n_amd: int = 22, n_normal: int = 78, size: int = 128,
                            seed: int = 2020) -> list[str]:
    """iChallenge-AMD layout: ``Training400/AMD/A0001.jpg`` ..., ``Training400/Non-AMD/N0001.jpg`` ..."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    ids = []
    for folder, prefix, n, drusen in (("AMD", "A", n_amd, (6, 30)), ("Non-AMD", "N", n_normal, (0, 10))):
        out = Path(root) / "Training400" / folder
        out.mkdir(parents=True, exist_ok=True)
        for i in range(1, n + 1):
            h, w = _size(rng, size, 1.0)
            image = render_fundus(rng, h, w, drusen=int(rng.integers(*drusen)), dr_grade=int(rng.random() < 0.1))
            Image.fromarray(image).save(out / f"{prefix}{i:04d}.jpg", quality=92)
            ids.append(f"{prefix}{i:04d}")
    return sorted(ids)


def generate_origa(root: Path, n_glaucoma: int = 26, n_normal: int = 74, size: int = 128,
                   seed: int = 2010) -> list[str]:
    """ORIGA layout (as read by the adapter's defaults): ``OrigaList.csv`` (Filename, Glaucoma) + ``Images/*.jpg``."""
    from PIL import Image

    root = Path(root)
    (root / "Images").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    labels = [1] * n_glaucoma + [0] * n_normal
    labels = [labels[i] for i in rng.permutation(len(labels))]
    rows = []
    for i, label in enumerate(labels, start=1):
        h, w = _size(rng, size, 1.5)
        image = render_fundus(rng, h, w, cup_ratio=rng.uniform(0.5, 0.8) if label else rng.uniform(0.25, 0.6),
                              periphery_dark=rng.uniform(0.0, 0.2) if label else rng.uniform(0.0, 0.1))
        Image.fromarray(image).save(root / "Images" / f"{i:03d}.jpg", quality=92)
        rows.append((f"{i:03d}.jpg", label))
    with open(root / "OrigaList.csv", "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["Filename", "Glaucoma"])
        writer.writerows(rows)
    return sorted(f"{i:03d}" for i in range(1, len(labels) + 1))
