"""A lung gross-pathology stand-in (paper 2, Gil et al.) in the user-data layout of
:mod:`mbench.data.adapters.lung_grosspath`: ``images/<id>.png``, ``masks/<id>.png``, ``patients.csv``.

Appearance: a pinkish-grey, mottled lung slice (an irregular ellipse) on a dark blue-black background;
one pale, greyish-white tumour with an irregular boundary, sometimes with a darker red necrotic core
(still tumour); dark red vessels and blue / black / green surgical-ink patches on the tissue as
distractors. Source A (controlled lighting, agar) is cleaner; source B (bench photographs) gets a grey
board, a ruler-like bar, specular highlights and more noise. Patients hold several photographs each
(slices of one specimen share its colour and tumour position roughly).
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
from scipy import ndimage

from mbench.data.synthetic.textures import ellipse_mask, smooth_field, to_uint8

__all__ = ["generate_lung_grosspath", "draw_photograph"]


def _blob(rng: np.random.Generator, shape: tuple[int, int], centre, radii, roughness: float) -> np.ndarray:
    mask = ellipse_mask(shape, centre, radii, rng.uniform(0, np.pi))
    mask &= smooth_field(rng, shape, max(min(radii) / 3, 1.0)) > -roughness
    labels, n = ndimage.label(ndimage.binary_opening(mask, iterations=2))
    if n > 1:
        mask = labels == 1 + int(np.argmax(np.bincount(labels.ravel())[1:]))
    return ndimage.binary_fill_holes(mask if n else ellipse_mask(shape, centre, radii))


def draw_photograph(rng: np.random.Generator, size: int, source: str, tissue_tint: np.ndarray,
                    tumour_at: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    """One (H, W, 3) uint8 photograph and its (H, W) bool tumour mask."""
    shape = (size, size)
    h = w = size
    yy, xx = np.mgrid[:h, :w].astype(np.float32)
    if source == "A":  # dark blue-black background
        image = np.zeros((h, w, 3), np.float32) + np.asarray((12, 16, 38), np.float32)
        image += 6 * smooth_field(rng, shape, size / 8)[..., None]
    else:  # grey bench board with a ruler
        image = np.zeros((h, w, 3), np.float32) + np.asarray((120, 124, 130), np.float32)
        image += 15 * smooth_field(rng, shape, size / 6)[..., None]
        bar = slice(int(0.9 * h), int(0.96 * h))
        image[bar] = (225, 220, 200)
        ticks = (xx.astype(int) % max(size // 25, 3) == 0) & (yy >= 0.9 * h) & (yy < 0.93 * h)
        image[ticks] = (30, 30, 30)
    centre = (rng.uniform(0.42, 0.55) * h, rng.uniform(0.42, 0.58) * w)
    tissue = _blob(rng, shape, centre, (rng.uniform(0.3, 0.38) * h, rng.uniform(0.32, 0.42) * w), 0.8)
    mottle = smooth_field(rng, shape, size / 40)
    fine = smooth_field(rng, shape, 1.2)
    lung = tissue_tint[None, None] * (1 + 0.12 * mottle[..., None] + 0.05 * fine[..., None])
    anthracosis = (smooth_field(rng, shape, size / 60) > 0.55)[..., None]  # dark pigment specks
    lung = np.where(anthracosis, lung * 0.45, lung)
    image[tissue] = lung[tissue]
    vessels = (np.abs(smooth_field(rng, shape, size / 25)) < 0.03) & tissue
    image[vessels] = np.asarray((120, 30, 35), np.float32) * rng.uniform(0.85, 1.15)
    # tumour: pale grey-white, irregular, inside the tissue near this patient's position
    dist = ndimage.distance_transform_edt(tissue)
    ty, tx = (np.asarray(tumour_at) * (h, w) + rng.normal(0, 0.03 * size, 2)).clip(0, size - 1)
    candidates = np.argwhere(dist > 0.12 * size)
    if len(candidates):
        ty, tx = candidates[np.argmin(np.hypot(candidates[:, 0] - ty, candidates[:, 1] - tx))]
    radius = rng.uniform(0.06, 0.13) * size
    tumour = _blob(rng, shape, (float(ty), float(tx)), (radius * rng.uniform(0.8, 1.2), radius * rng.uniform(0.8, 1.2)),
                   0.5) & tissue
    pale = np.asarray((225, 215, 205), np.float32) * rng.uniform(0.92, 1.04, 3)
    tex = 1 + 0.07 * smooth_field(rng, shape, 2.0)[..., None]
    image[tumour] = (pale[None, None] * tex)[tumour]
    if rng.random() < 0.35:  # necrotic core, still tumour
        core = ndimage.binary_erosion(tumour, iterations=max(int(radius * 0.45), 1))
        image[core] = (np.asarray((140, 50, 45), np.float32)[None, None] * tex)[core]
    # ink patches on the tissue margin (distractors)
    for _ in range(rng.integers(1, 4)):
        edge = np.argwhere(tissue & (dist < 0.05 * size))
        if not len(edge):
            break
        cy, cx = edge[rng.integers(len(edge))]
        ink = ellipse_mask(shape, (float(cy), float(cx)), (rng.uniform(3, 8) * size / 256,) * 2) & tissue & ~tumour
        image[ink] = ((30, 50, 140), (25, 25, 30), (40, 120, 60))[rng.integers(3)]
    if source == "B":
        highlights = (smooth_field(rng, shape, 1.8) > 0.8) & tissue
        image[highlights] = (250, 250, 248)
        image += rng.normal(0, 9.0, image.shape)
    else:
        image += rng.normal(0, 3.0, image.shape)
    lighting = 1 - 0.12 * np.hypot(yy / h - 0.5, xx / w - 0.5)
    return to_uint8(image * lighting[..., None]), tumour


def generate_lung_grosspath(root: Path, *, n_a: int = 9, n_b: int = 6, images_per_patient: tuple[int, int] = (3, 5),
                            size: int = 256, seed: int = 2023) -> list[str]:
    """Write ``images/``, ``masks/`` and ``patients.csv`` for ``n_a`` + ``n_b`` patients; return the image ids.

    Example:
        >>> import tempfile, pathlib
        >>> ids = generate_lung_grosspath(pathlib.Path(tempfile.mkdtemp()), n_a=1, n_b=1, images_per_patient=(2, 2),
        ...                               size=48)
        >>> ids
        ['LGP01_s1', 'LGP01_s2', 'LGP02_s1', 'LGP02_s2']
    """
    from PIL import Image

    root = Path(root)
    (root / "images").mkdir(parents=True, exist_ok=True)
    (root / "masks").mkdir(parents=True, exist_ok=True)
    rows, names = [], []
    sources = ["A"] * n_a + ["B"] * n_b
    for p, (source, child) in enumerate(zip(sources, np.random.SeedSequence(seed).spawn(len(sources)))):
        rng = np.random.default_rng(child)
        patient = f"LGP{p + 1:02d}"
        tint = np.asarray((200, 150, 150), np.float32) * rng.uniform(0.88, 1.08, 3)
        tumour_at = (rng.uniform(0.35, 0.65), rng.uniform(0.35, 0.65))
        for k in range(int(rng.integers(images_per_patient[0], images_per_patient[1] + 1))):
            name = f"{patient}_s{k + 1}"
            image, mask = draw_photograph(rng, size, source, tint, tumour_at)
            Image.fromarray(image).save(root / "images" / f"{name}.png")
            Image.fromarray(mask.astype(np.uint8) * 255).save(root / "masks" / f"{name}.png")
            rows.append({"image": f"{name}.png", "patient": patient, "source": source})
            names.append(name)
    with open(root / "patients.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, ["image", "patient", "source"])
        writer.writeheader()
        writer.writerows(rows)
    return sorted(names)
