"""Shoulder-arthroplasty radiograph stand-in in the documented layout (:mod:`mbench.data.adapters.shoulder_implant`).

224 x 224 grey AP "radiographs": dark background with a soft-tissue gradient, the humeral shaft as a bright bar, the
scapula's glenoid on the medial side, and the implant drawn saturated: a tapered stem in the shaft and a hemispherical
head. Each of the 7 make / model classes has its own geometry (stem length and width, head radius, fins, holes, a
glenoid component or not); per image the pose, scale, exposure and noise vary. Class counts are the paper's Table 1
(26 / 10 / 20 / 22 / 15 / 37 / 34), one image per synthetic patient, plus a few lateral views the adapter skips.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
from scipy import ndimage

from mbench.data.synthetic.textures import ellipse_mask, smooth_field, to_uint8

__all__ = ["generate_shoulder_implant", "TABLE1_COUNTS", "GEOMETRY"]

TABLE1_COUNTS = (26, 10, 20, 22, 15, 37, 34)
# per class: stem length, stem half-width (fractions of the image), head radius, fins, holes, glenoid component
GEOMETRY = (
    dict(stem=0.50, width=0.030, head=0.110, fins=0, holes=0, glenoid=True),    # Biomet Biomodular
    dict(stem=0.40, width=0.040, head=0.095, fins=0, holes=2, glenoid=False),   # S&N Cofield II
    dict(stem=0.55, width=0.028, head=0.120, fins=2, holes=0, glenoid=True),    # Depuy Global Advantage
    dict(stem=0.45, width=0.032, head=0.115, fins=2, holes=0, glenoid=False),   # Depuy Global
    dict(stem=0.50, width=0.026, head=0.105, fins=3, holes=3, glenoid=False),   # Depuy Global Fracture
    dict(stem=0.35, width=0.036, head=0.130, fins=0, holes=1, glenoid=True),    # Depuy HRP
    dict(stem=0.60, width=0.024, head=0.100, fins=1, holes=0, glenoid=False),   # Zimmer Bigliani
)
_CLASSES = (("Biomet", "Biomodular"), ("Smith and Nephew", "Cofield II"), ("Depuy", "Global Advantage"),
            ("Depuy", "Global"), ("Depuy", "Global Fracture"), ("Depuy", "HRP"), ("Zimmer", "Bigliani"))


def _radiograph(rng: np.random.Generator, size: int, geo: dict) -> np.ndarray:
    h = w = size
    yy, xx = np.mgrid[:h, :w].astype(np.float32)
    img = 20 + 60 * np.clip(1.2 - xx / w, 0, 1) + 10 * smooth_field(rng, (h, w), size / 10)  # soft tissue
    tilt = rng.uniform(-0.12, 0.12)
    cx, top = rng.uniform(0.52, 0.6) * w, rng.uniform(0.28, 0.36) * h
    s = rng.uniform(0.9, 1.1)
    axis_x = cx + (yy - top) * np.tan(tilt)  # the humeral axis
    shaft = (np.abs(xx - axis_x) < 0.07 * w * s) & (yy > top)
    img += 70 * ndimage.gaussian_filter(shaft.astype(np.float32), 2)
    glen_c = (top - 0.02 * h, cx - 0.2 * w * s)
    img += 60 * ellipse_mask((h, w), glen_c, (0.12 * h * s, 0.04 * w * s), 0.2)  # scapular glenoid
    implant = np.zeros((h, w), bool)
    stem_len, half = geo["stem"] * h * s, geo["width"] * w * s
    along = (yy - top) / max(stem_len, 1)
    taper = half * (1.0 - 0.5 * np.clip(along, 0, 1))
    stem = (along >= 0) & (along <= 1) & (np.abs(xx - axis_x) <= taper)
    implant |= stem
    for k in range(geo["fins"]):  # fins: short oblique plates near the top of the stem
        y0 = top + (0.06 + 0.05 * k) * h * s
        fin = (np.abs(yy - y0 - 0.5 * (xx - axis_x)) < 0.008 * h + 1) & (np.abs(xx - axis_x) < half + 0.035 * w * s)
        implant |= fin
    head_c = (top - 0.02 * h, cx - 0.05 * w * s)
    head = ellipse_mask((h, w), head_c, (geo["head"] * h * s,) * 2) & (xx < head_c[1] + 0.02 * w * s)
    implant |= head
    for k in range(geo["holes"]):  # holes through the stem
        hc = (top + (0.15 + 0.1 * k) * stem_len, axis_x[0, 0] + (0.15 + 0.1 * k) * stem_len * np.tan(tilt))
        implant &= ~ellipse_mask((h, w), hc, (0.45 * half,) * 2)
    if geo["glenoid"]:  # polyethylene glenoid with a metal-marked peg
        implant |= ellipse_mask((h, w), (glen_c[0], glen_c[1] + 0.03 * w), (0.06 * h * s, 0.012 * w * s))
    img = np.where(implant, 245 + rng.normal(0, 3, (h, w)), img)
    img = ndimage.gaussian_filter(img, 0.8) * rng.uniform(0.85, 1.1) + rng.normal(0, 4, (h, w))
    return img


def generate_shoulder_implant(root: Path, counts: list[int] | None = None, size: int = 224, n_lateral: int = 6,
                              seed: int = 2023) -> list[str]:
    """Write ``images/*.png`` and ``labels.csv``; ``counts`` per class (default: Table 1). Returns the AP case ids."""
    from PIL import Image

    counts = list(counts or TABLE1_COUNTS)
    (Path(root) / "images").mkdir(parents=True, exist_ok=True)
    rows, ids, patient = [], [], 0
    for c, ((make, model), geo, n) in enumerate(zip(_CLASSES, GEOMETRY, counts)):
        for k in range(n + (1 if c < n_lateral else 0)):
            view = "AP" if k < n else "LAT"
            rng = np.random.default_rng([seed, c, k])
            name = f"{make.split()[0].lower()}_{model.replace(' ', '').lower()}_{k + 1:03d}.png"
            Image.fromarray(to_uint8(_radiograph(rng, size, geo))).save(Path(root) / "images" / name)
            patient += 1
            rows.append({"image": name, "make": make, "model": model, "view": view, "patient": f"P{patient:04d}"})
            if view == "AP":
                ids.append(Path(name).stem)
    with open(Path(root) / "labels.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=["image", "make", "model", "view", "patient"])
        writer.writeheader()
        writer.writerows(rows)
    return sorted(ids)
