"""Deterministic MIDOG 2021 stand-in in the release layout: ``MIDOG.json`` + ``images/<id>.tiff``.

Each image is an H&E-like region rendered in stain-concentration space (haematoxylin H, eosin E): pink stroma
with fibres and white gaps, purple nuclei with chromatin texture, **mitotic figures** (category 1: very dark,
irregular clumps of condensed chromosomes, some as a metaphase band) and **imposters** (category 2, hard
negatives: dark but round, smooth nuclei). Optical density -> RGB by Beer-Lambert with a per-scanner stain
matrix, gamma, brightness and blur, so the same kind of objects look different per scanner (the domain gap).

Image ids keep the release's scanner ranges (001-050 Hamamatsu XR, 051-100 S360, 101-150 Aperio CS2, 151-200
Leica GT450, the last unlabelled), so :class:`~mbench.data.adapters.midog.MidogAdapter` reads it unchanged.
Sizes keep the real regions' proportions scaled by ``scale`` (paper 11: A 7215 x 5412, B 7094 x 5370,
C 6475 x 4840); objects keep their real pixel size (boxes 50 x 50 px, as in the release).

Example:
    >>> import tempfile
    >>> ids = generate_midog(Path(tempfile.mkdtemp()), n_per_scanner=1, n_unlabelled=0, scale=0.03)
    >>> ids
    ['001', '051', '101']
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from scipy import ndimage

from mbench.data.synthetic.textures import ellipse_mask, smooth_field, to_uint8

__all__ = ["generate_midog", "SCANNER_LOOK"]

# (first id, full region size (w, h), H OD vector, E OD vector, gamma, brightness, blur sigma)
SCANNER_LOOK = {
    "Hamamatsu XR": (1, (7215, 5412), (0.65, 0.70, 0.29), (0.07, 0.99, 0.11), 1.00, 1.00, 0.0),
    "Hamamatsu S360": (51, (7094, 5370), (0.55, 0.78, 0.30), (0.10, 0.95, 0.28), 0.90, 0.97, 0.9),
    "Aperio CS2": (101, (6475, 4840), (0.72, 0.62, 0.30), (0.03, 0.90, 0.40), 1.20, 1.04, 0.4),
    "Leica GT450": (151, (7215, 5412), (0.60, 0.72, 0.35), (0.12, 0.85, 0.45), 1.10, 1.02, 0.6),
}
BOX = 50  # px, the release's box size around a cell centre


def _place(rng: np.random.Generator, shape: tuple[int, int], taken: list[tuple[float, float]],
           margin: float, min_dist: float) -> tuple[float, float] | None:
    for _ in range(50):
        cy, cx = rng.uniform(margin, shape[0] - margin), rng.uniform(margin, shape[1] - margin)
        if all((cy - y) ** 2 + (cx - x) ** 2 >= min_dist ** 2 for y, x in taken):
            return cy, cx
    return None


def _stamp(h: np.ndarray, mask: np.ndarray, y0: int, x0: int, value: np.ndarray | float) -> None:
    region = h[y0:y0 + mask.shape[0], x0:x0 + mask.shape[1]]
    m = mask[:region.shape[0], :region.shape[1]]
    val = value if np.isscalar(value) else value[:region.shape[0], :region.shape[1]][m]
    region[m] = val


def _mitosis(rng: np.random.Generator, size: int = 41) -> np.ndarray:
    """Condensed chromatin: a ragged metaphase band or a cluster of small clumps, as a boolean mask."""
    c = size / 2
    mask = np.zeros((size, size), bool)
    if rng.random() < 0.5:  # metaphase plate: elongated, ragged band
        mask |= ellipse_mask((size, size), (c, c), (rng.uniform(3, 5), rng.uniform(10, 15)), rng.uniform(0, np.pi))
        mask &= rng.random((size, size)) > 0.25
    else:  # prophase / anaphase clumps
        for _ in range(int(rng.integers(5, 10))):
            oy, ox = rng.normal(0, 5, 2)
            mask |= ellipse_mask((size, size), (c + oy, c + ox), (rng.uniform(1.8, 3.5), rng.uniform(2, 4.5)),
                                 rng.uniform(0, np.pi))
    return ndimage.binary_dilation(mask, iterations=1)


def _region(rng: np.random.Generator, width: int, height: int, labelled: bool, density: float
            ) -> tuple[np.ndarray, np.ndarray, list[list[float]]]:
    shape = (height, width)
    fibres, blotch, rough = smooth_field(rng, shape, 6.0), smooth_field(rng, shape, 40.0), smooth_field(rng, shape, 1.5)
    e = 0.35 + 0.12 * blotch + 0.18 * np.abs(fibres)
    h = 0.04 + 0.03 * np.abs(fibres)
    gaps = blotch > 0.6
    e[gaps], h[gaps] = 0.03, 0.01
    taken: list[tuple[float, float]] = []
    special: list[tuple[float, float]] = []
    annotations: list[list[float]] = []
    n_nuclei = int(density * width * height / 1000)
    for _ in range(n_nuclei):  # ordinary nuclei: pale-ish purple with chromatin texture
        pos = _place(rng, shape, taken, 8, 14)
        if pos is None or gaps[int(pos[0]), int(pos[1])]:
            continue
        taken.append(pos)
        r = rng.uniform(5, 9)
        m = ellipse_mask((25, 25), (12, 12), (r * rng.uniform(0.6, 0.9), r), rng.uniform(0, np.pi))
        y0, x0 = int(pos[0]) - 12, int(pos[1]) - 12
        if y0 < 0 or x0 < 0:
            continue
        tex = rng.uniform(0.45, 0.7) + 0.15 * rough[y0:y0 + 25, x0:x0 + 25]
        _stamp(h, m, y0, x0, tex)
    for category, count in ((1, int(rng.integers(4, 8))), (2, int(rng.integers(4, 8)))):
        for _ in range(count):
            pos = _place(rng, shape, special, 30, 45)  # away from the other figures; may cover ordinary nuclei
            if pos is None:
                continue
            special.append(pos)
            cy, cx = pos
            if category == 1:
                m = _mitosis(rng)
                value = rng.uniform(1.5, 1.9)
            else:  # imposter: dark, round and smooth (pyknotic / apoptotic nucleus, lymphocyte)
                r = rng.uniform(6, 9)
                m = ellipse_mask((41, 41), (20, 20), (r * rng.uniform(0.85, 1.0), r), rng.uniform(0, np.pi))
                value = rng.uniform(1.1, 1.4)
            y0, x0 = int(round(cy)) - 20, int(round(cx)) - 20
            clear = ndimage.binary_dilation(m, iterations=3)  # clear halo: no overlap with a nucleus below
            _stamp(h, clear, y0, x0, 0.05)
            _stamp(h, m, y0, x0, value)
            if labelled:
                annotations.append([cx - BOX / 2, cy - BOX / 2, cx + BOX / 2, cy + BOX / 2, float(category)])
    return h, e, annotations


def _render(h: np.ndarray, e: np.ndarray, look: tuple, rng: np.random.Generator) -> np.ndarray:
    _, _, h_vec, e_vec, gamma, bright, blur = look
    hv, ev = np.asarray(h_vec) / np.linalg.norm(h_vec), np.asarray(e_vec) / np.linalg.norm(e_vec)
    od = h[..., None] * hv * 1.3 + e[..., None] * ev
    rgb = bright * np.exp(-od)
    if blur > 0:
        rgb = ndimage.gaussian_filter(rgb, (blur, blur, 0))
    rgb = np.clip(rgb, 0, 1) ** gamma * 255 + rng.normal(0, 3.0, rgb.shape)
    return to_uint8(rgb)


def generate_midog(root: Path, *, n_per_scanner: int = 4, n_unlabelled: int = 2, scale: float = 1 / 14,
                   density: float = 1.2, seed: int = 2021) -> list[str]:
    """Write the stand-in under ``root`` and return the labelled image ids.

    ``n_per_scanner`` images for each labelled scanner, ``n_unlabelled`` Leica GT450 images (listed in MIDOG.json
    without annotations, as in the release); region sizes are the paper's scaled by ``scale``; ``density`` ordinary
    nuclei per 1000 px^2.
    """
    import tifffile

    root = Path(root)
    (root / "images").mkdir(parents=True, exist_ok=True)
    images, annotations, labelled_ids = [], [], []
    for name, look in SCANNER_LOOK.items():
        first, (w_full, h_full) = look[0], look[1]
        labelled = name != "Leica GT450"
        for k in range(n_per_scanner if labelled else n_unlabelled):
            image_id = first + k
            rng = np.random.default_rng([seed, image_id])
            width, height = max(int(round(w_full * scale)), 64), max(int(round(h_full * scale)), 64)
            h, e, boxes = _region(rng, width, height, labelled, density)
            file_name = f"{image_id:03d}.tiff"
            tifffile.imwrite(root / "images" / file_name, _render(h, e, look, rng), photometric="rgb")
            images.append({"license": 1, "file_name": file_name, "id": image_id, "width": width, "height": height})
            for b in boxes:
                annotations.append({"iscrowd": 0, "area": BOX * BOX, "bbox": [round(v, 2) for v in b[:4]],
                                    "category_id": int(b[4]), "image_id": image_id, "id": len(annotations) + 1})
            if labelled:
                labelled_ids.append(f"{image_id:03d}")
    coco = {"info": {"description": "mbench synthetic MIDOG 2021 stand-in"}, "images": images,
            "categories": [{"id": 1, "name": "mitotic figure"}, {"id": 2, "name": "hard negative"}],
            "annotations": annotations}
    (root / "MIDOG.json").write_text(json.dumps(coco))
    return labelled_ids
