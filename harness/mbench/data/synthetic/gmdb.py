"""GMDB-like face stand-in in the documented GMDB layout (:mod:`mbench.data.adapters.gmdb`), with 68 landmarks.

256 x 256 RGB "face photographs": a skin-toned face (jaw line and forehead) on a plain background, brows, eyes with
irises, nose and mouth drawn at the positions of a 68-point (dlib / iBUG order) landmark template. Each synthetic
syndrome is a fixed perturbation of the template (eye spacing, eye slant, face width, philtrum length, mouth and
nose width, brow height); each image adds landmark jitter, pose (rotation, scale, shift), skin tone and lighting.
The landmarks written to ``gmdb_landmarks.csv`` are the drawn ones, so alignment and guided mixup need no detector.

Base ("frequent") syndromes: ``n_base`` classes of ``images_per_base`` images, 80 % train / 20 % test per class.
Rare syndromes: ``n_rare`` classes of 2 .. 6 images; 10 episodes, each taking one query image per class (rotating
through the class's images) with the rest as support, written like GMDB's rare gallery / test files.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

__all__ = ["generate_gmdb", "face_template"]


def face_template(traits: dict[str, float] | None = None) -> np.ndarray:
    """68 landmarks (x, y) in [0, 1] image units, iBUG order, with syndrome ``traits`` applied (0 = average face)."""
    t = {"eye_gap": 0.0, "slant": 0.0, "width": 0.0, "philtrum": 0.0, "mouth": 0.0, "nose": 0.0, "brow": 0.0,
         **(traits or {})}
    pts = np.zeros((68, 2))
    theta = np.linspace(np.pi, 0, 17)
    pts[:17] = np.c_[0.5 + (0.36 + t["width"]) * np.cos(theta), 0.42 + 0.46 * np.sin(theta)]
    gap = 0.15 + t["eye_gap"]
    for side, (brow, eye) in ((-1, (17, 36)), (1, (22, 42))):
        cx = 0.5 + side * gap
        bx = np.linspace(cx - 0.08, cx + 0.08, 5)
        pts[brow:brow + 5] = np.c_[bx, 0.37 - t["brow"] - 0.025 * np.cos((bx - cx) / 0.08 * np.pi / 2)]
        ang = np.linspace(np.pi, -np.pi, 7)[:6]  # outer corner first, clockwise like dlib
        ex, ey = 0.055 * np.cos(ang), -0.022 * np.sin(ang)
        slant = side * t["slant"]
        pts[eye:eye + 6] = np.c_[cx + ex * np.cos(slant) - ey * np.sin(slant),
                                 0.45 + ex * np.sin(slant) + ey * np.cos(slant)]
    pts[27:31] = np.c_[np.full(4, 0.5), np.linspace(0.45, 0.6, 4)]
    pts[31:36] = np.c_[np.linspace(0.45 - t["nose"], 0.55 + t["nose"], 5), 0.64 + 0.01 * np.abs(np.linspace(-2, 2, 5))]
    my, mw = 0.76 + t["philtrum"], 0.1 + t["mouth"]
    outer = np.linspace(np.pi, -np.pi, 13)[:12]
    pts[48:60] = np.c_[0.5 + mw * np.cos(outer), my - 0.03 * np.sin(outer)]
    inner = np.linspace(np.pi, -np.pi, 9)[:8]
    pts[60:68] = np.c_[0.5 + 0.7 * mw * np.cos(inner), my - 0.01 * np.sin(inner)]
    return pts


def _traits(rng: np.random.Generator) -> dict[str, float]:
    return {"eye_gap": rng.uniform(-0.035, 0.035), "slant": rng.uniform(-0.2, 0.2), "width": rng.uniform(-0.06, 0.06),
            "philtrum": rng.uniform(-0.035, 0.035), "mouth": rng.uniform(-0.03, 0.04), "nose": rng.uniform(-0.02, 0.03),
            "brow": rng.uniform(-0.02, 0.03)}


def _render(rng: np.random.Generator, traits: dict[str, float], size: int) -> tuple[np.ndarray, np.ndarray]:
    """An RGB face (H, W, 3) uint8 and its 68 landmarks in pixels."""
    from PIL import Image, ImageDraw, ImageFilter

    pts = face_template(traits) + rng.normal(0, 0.004, (68, 2))
    angle, scale, shift = rng.uniform(-0.14, 0.14), rng.uniform(0.92, 1.08), rng.uniform(-0.03, 0.03, 2)
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    centre = np.array([0.5, 0.55])
    pts = ((pts - centre) @ rot.T * scale + centre + shift) * size
    forehead = np.c_[0.5 + (0.36 + traits["width"]) * np.cos(np.linspace(0, np.pi, 12)),
                     0.42 - 0.3 * np.sin(np.linspace(0, np.pi, 12))]
    forehead = ((forehead - centre) @ rot.T * scale + centre + shift) * size
    skin = np.array([rng.uniform(170, 235), rng.uniform(125, 190), rng.uniform(95, 160)])
    background = tuple(int(v) for v in rng.uniform(40, 220, 3))
    img = Image.new("RGB", (size, size), background)
    draw = ImageDraw.Draw(img)
    draw.polygon([tuple(p) for p in np.vstack([pts[:17], forehead[1:-1]])], fill=tuple(int(v) for v in skin))
    line = max(1, size // 80)
    for a, b in ((17, 22), (22, 27)):
        draw.line([tuple(p) for p in pts[a:b]], fill=(70, 45, 30), width=line + 1)
    for a in (36, 42):
        eye = pts[a:a + 6]
        draw.polygon([tuple(p) for p in eye], fill=(245, 245, 240))
        c, r = eye.mean(axis=0), 0.45 * np.ptp(eye[:, 1]) + 1
        draw.ellipse([c[0] - r, c[1] - r, c[0] + r, c[1] + r], fill=(60, 40, 25))
    draw.line([tuple(p) for p in pts[27:31]], fill=tuple(int(v * 0.8) for v in skin), width=line)
    draw.line([tuple(p) for p in pts[31:36]], fill=tuple(int(v * 0.7) for v in skin), width=line)
    draw.polygon([tuple(p) for p in pts[48:60]], fill=(170, 70, 75))
    draw.line([tuple(p) for p in pts[60:68]] + [tuple(pts[60])], fill=(110, 40, 45), width=1)
    img = img.filter(ImageFilter.GaussianBlur(size / 256))
    arr = np.asarray(img, dtype=np.float32)
    yy, xx = np.mgrid[:size, :size] / size
    light = 1 + rng.uniform(-0.15, 0.15) * (xx - 0.5) + rng.uniform(-0.1, 0.1) * (yy - 0.5)
    arr = arr * light[..., None] * rng.uniform(0.85, 1.1) + rng.normal(0, 4, arr.shape)
    return np.clip(np.round(arr), 0, 255).astype(np.uint8), pts


def generate_gmdb(root: Path, n_base: int = 12, images_per_base: int = 30, n_rare: int = 16, n_episodes: int = 10,
                  size: int = 256, version: str = "v1.0.3", seed: int = 2023) -> list[str]:
    """Write the stand-in (images, metadata CSVs, landmarks); returns the image ids."""
    from PIL import Image

    root = Path(root)
    for sub in ("gmdb_images", "gmdb_metadata"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    tables: dict[str, list[dict]] = {n: [] for n in ("frequent_train", "frequent_test", "rare_gallery", "rare_test")}
    landmarks, image_id = [], 0
    rare_images: dict[int, list[str]] = {}
    for c in range(n_base + n_rare):
        rare = c >= n_base
        label = (500 + c - n_base) if rare else (100 + c)
        traits = _traits(np.random.default_rng([seed, c]))
        count = int(np.random.default_rng([seed, c, 99]).integers(2, 7)) if rare else images_per_base
        n_test = int(round(0.2 * count))
        for k in range(count):
            image_id += 1
            img, pts = _render(np.random.default_rng([seed, c, k]), traits, size)
            Image.fromarray(img).save(root / "gmdb_images" / f"{image_id}.jpg", quality=95)
            landmarks.append({"image_id": image_id, **{f"{a}{i}": round(float(pts[i, j]), 2)
                                                       for i in range(68) for j, a in enumerate("xy")}})
            row = {"image_id": image_id, "label": label, "patient_id": f"S{image_id:05d}"}
            if rare:
                rare_images.setdefault(label, []).append(str(image_id))
            else:
                tables["frequent_test" if k >= count - n_test else "frequent_train"].append(row)
    for episode in range(n_episodes):
        for label, ids in sorted(rare_images.items()):
            query = ids[episode % len(ids)]
            tables["rare_test"].append({"image_id": query, "label": label, "split": episode})
            tables["rare_gallery"] += [{"image_id": i, "label": label, "split": episode} for i in ids if i != query]
    for name, rows in tables.items():
        with open(root / "gmdb_metadata" / f"gmdb_{name}_images_{version}.csv", "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    with open(root / "gmdb_landmarks.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(landmarks[0]))
        writer.writeheader()
        writer.writerows(landmarks)
    return [str(i) for i in range(1, image_id + 1)]
