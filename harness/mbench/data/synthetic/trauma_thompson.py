"""Deterministic Trauma THOMPSON stand-in in the adapter's layout (:mod:`mbench.data.adapters.trauma_thompson`).

Five procedures (TOUR, CRIC, CT, ND, IO), each a template of verb-noun actions over the release's vocabulary sizes
(37 verbs, 41 nouns, 127 actions). Every video is one instance of a procedure: its template with perturbations
(a repeated step, a dropped optional step, two adjacent steps swapped, a distractor action), so action frequencies
are as imbalanced as real life (shared steps such as taking gloves are frequent, most actions rare). Clips are
split 70 / 10 / 20 at the clip level like paper 16; the test file has timestamps only and the test labels go to
``withheld/TT_test_labels.csv`` (the organiser's copy; no adapter reads it).

Frames look egocentric: a skin-coloured patient surface under uneven light seen by a slightly shaking head camera,
gloved hands around the object being handled. The noun decides the object (shape and colour), the verb its motion
(direction, speed, rotation, growth), so verb and noun are learnable from the pixels. ``frames=False`` writes the
annotations only (the task-graph task needs no pixels).
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

__all__ = ["generate_trauma_thompson", "VERBS", "NOUNS", "PROCEDURES"]

VERBS = ["take", "put", "apply", "tighten", "cut", "insert", "remove", "open", "close", "clean", "wipe", "palpate",
         "inject", "attach", "connect", "hold", "press", "pull", "push", "tie", "place", "check", "drape", "incise",
         "dissect", "suture", "secure", "flush", "aspirate", "inflate", "advance", "withdraw", "tape", "adjust",
         "position", "mark", "drill"]
NOUNS = ["tourniquet", "strap", "swab", "scalpel", "gloves", "skin", "trachea", "tube", "needle", "syringe",
         "catheter", "drill", "gauze", "tape", "forceps", "clamp", "chest", "rib", "dressing", "suture", "scissors",
         "windlass", "limb", "bone", "saline", "chlorhexidine", "bag", "valve", "hook", "dilator", "flange", "tie",
         "kit", "drape", "marker", "stopcock", "extension-set", "hemostat", "finger", "cap", "bandage"]
PROCEDURES = ["TOUR", "CRIC", "CT", "ND", "IO"]
N_ACTIONS = 127
HEADER = ["clip_id", "video_id", "procedure", "start_frame", "stop_frame", "verb", "verb_class", "noun", "noun_class",
          "action_class"]


def _vocabulary(rng: np.random.Generator) -> list[tuple[int, int]]:
    """127 distinct (verb, noun) pairs covering every verb and noun."""
    pairs = {(v, int(rng.integers(len(NOUNS)))) for v in range(len(VERBS))}
    pairs |= {(int(rng.integers(len(VERBS))), n) for n in range(len(NOUNS))}
    while len(pairs) < N_ACTIONS:
        pairs.add((int(rng.integers(len(VERBS))), int(rng.integers(len(NOUNS)))))
    return sorted(pairs)  # at most 37 + 41 covering pairs, filled up to exactly 127


def _templates(rng: np.random.Generator) -> list[list[int]]:
    """An ordered action template per procedure: a few shared steps, then procedure-specific ones."""
    order = rng.permutation(N_ACTIONS)
    shared = [int(a) for a in order[:4]]  # e.g. take gloves, clean skin: in every procedure
    own = np.array_split(order[4:], len(PROCEDURES))
    return [shared[:2] + [int(a) for a in own[p][:int(rng.integers(10, 16))]] + shared[2:]
            for p in range(len(PROCEDURES))]


def _instance(template: list[int], rng: np.random.Generator) -> list[int]:
    """One performance of a procedure: the template with repeats, drops, swaps and distractors."""
    steps = list(template)
    if rng.random() < 0.5:
        k = int(rng.integers(len(steps)))
        steps.insert(k, steps[k])  # a repeated step (e.g. take swab again)
    if rng.random() < 0.5:
        del steps[int(rng.integers(2, len(steps) - 2))]  # an optional step left out
    if rng.random() < 0.5:
        k = int(rng.integers(len(steps) - 1))
        steps[k], steps[k + 1] = steps[k + 1], steps[k]
    if rng.random() < 0.3:
        steps.insert(int(rng.integers(len(steps))), int(rng.integers(N_ACTIONS)))  # a distractor
    return steps


def _hsv_to_rgb(h: float, s: float, v: float) -> np.ndarray:
    i, f = int(h * 6) % 6, h * 6 - int(h * 6)
    p, q, t = v * (1 - s), v * (1 - f * s), v * (1 - (1 - f) * s)
    return np.asarray([(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)][i])


def _render(verb: int, noun: int, n: int, size: int, rng: np.random.Generator) -> np.ndarray:
    """(n, size, size, 3) uint8 frames of one clip."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    light = 0.75 + 0.25 * np.cos(3.0 * (xx - rng.random()) + 2.0 * (yy - rng.random()))
    skin = np.asarray([0.86, 0.68, 0.56]) * rng.uniform(0.8, 1.05)
    surface = (yy > 0.25 + 0.1 * np.sin(4 * xx + rng.random() * 6))[..., None]
    base = np.where(surface, skin, np.asarray([0.18, 0.2, 0.24]))[..., :] * light[..., None]
    colour = _hsv_to_rgb(noun / len(NOUNS), 0.85, 0.95)
    shape = noun % 4
    angle = 2 * np.pi * verb / len(VERBS)
    speed = 0.025 * (1 + verb % 3)
    spin, grow = (0.35 if verb % 2 else 0.0), (0.04 if verb % 4 == 1 else -0.03 if verb % 4 == 3 else 0.0)
    cx, cy = 0.5 - 0.5 * n * speed * np.cos(angle) + rng.normal(0, 0.03), 0.55 - 0.5 * n * speed * np.sin(angle)
    glove = np.asarray([0.35, 0.45, 0.85])
    frames = []
    for t in range(n):
        shake = rng.normal(0, 0.012, 2)  # head motion
        x0, y0 = cx + t * speed * np.cos(angle) + shake[0], cy + t * speed * np.sin(angle) + shake[1]
        r = max(0.06, 0.12 + grow * t)
        theta = spin * t
        u = (xx - x0) * np.cos(theta) + (yy - y0) * np.sin(theta)
        v = -(xx - x0) * np.sin(theta) + (yy - y0) * np.cos(theta)
        inside = {0: u ** 2 + v ** 2 < r ** 2, 1: (np.abs(u) < r) & (np.abs(v) < r),
                  2: (np.abs(u) < 1.6 * r) & (np.abs(v) < 0.35 * r), 3: (v > -r) & (np.abs(u) < (r - v) * 0.6)}[shape]
        img = base.copy()
        img[inside] = colour * light[inside][:, None]
        for side in (-1, 1):  # two gloved hands holding the object
            hand = (xx - x0 - side * 1.6 * r) ** 2 / 0.012 + (yy - y0 - 0.6 * r) ** 2 / 0.02 < 1
            img[hand & ~inside] = glove * light[hand & ~inside][:, None]
        img += rng.normal(0, 0.03, img.shape)
        frames.append((np.clip(img, 0, 1) * 255).astype(np.uint8))
    return np.stack(frames)


def _write_csv(path: Path, header: list[str], rows: list[dict]) -> None:
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=header, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)


def generate_trauma_thompson(root: Path, *, n_videos: int = 40, frames: bool = True, frame_size: int = 64,
                             min_clip_frames: int = 6, max_clip_frames: int = 12,
                             fractions: tuple[float, float, float] = (0.7, 0.1, 0.2), seed: int = 2023) -> list[str]:
    """Write the stand-in under ``root`` and return its clip ids (videos cycle through the five procedures)."""
    from PIL import Image

    root = Path(root)
    rng = np.random.default_rng(seed)
    vocab = _vocabulary(rng)
    templates = _templates(rng)
    ann = root / "annotations"
    ann.mkdir(parents=True, exist_ok=True)
    _write_csv(ann / "TT_verb_classes.csv", ["id", "key"], [{"id": i, "key": k} for i, k in enumerate(VERBS)])
    _write_csv(ann / "TT_noun_classes.csv", ["id", "key"], [{"id": i, "key": k} for i, k in enumerate(NOUNS)])
    _write_csv(ann / "TT_action_classes.csv", ["id", "key", "verb_class", "noun_class"],
               [{"id": i, "key": f"{VERBS[v]} {NOUNS[n]}", "verb_class": v, "noun_class": n}
                for i, (v, n) in enumerate(vocab)])
    clips: list[dict] = []
    for k in range(n_videos):
        proc = k % len(PROCEDURES)
        video = f"V{k + 1:03d}"
        frame_no = 1 + int(rng.integers(0, 3))
        pixels = []
        for j, action in enumerate(_instance(templates[proc], rng)):
            verb, noun = vocab[action]
            length = int(rng.integers(min_clip_frames, max_clip_frames + 1))
            clips.append({"clip_id": f"{video}_{j:03d}", "video_id": video, "procedure": PROCEDURES[proc],
                          "start_frame": frame_no, "stop_frame": frame_no + length - 1, "verb": VERBS[verb],
                          "verb_class": verb, "noun": NOUNS[noun], "noun_class": noun, "action_class": action})
            if frames:
                pixels.append((frame_no, _render(verb, noun, length, frame_size, rng)))
            frame_no += length + int(rng.integers(0, 3))
        if frames:
            folder = root / "frames" / video
            folder.mkdir(parents=True, exist_ok=True)
            for start, stack in pixels:
                for t, img in enumerate(stack):
                    Image.fromarray(img).save(folder / f"frame_{start + t:010d}.jpg", quality=90)
    order = rng.permutation(len(clips))
    n_train, n_val = int(round(fractions[0] * len(clips))), int(round(fractions[1] * len(clips)))
    parts = {"train": order[:n_train], "validation": order[n_train:n_train + n_val], "test": order[n_train + n_val:]}
    for name, idx in parts.items():
        rows = sorted((clips[i] for i in idx), key=lambda r: r["clip_id"])
        if name == "test":
            _write_csv(ann / "TT_test_timestamps.csv", HEADER[:5], rows)
            (root / "withheld").mkdir(exist_ok=True)
            _write_csv(root / "withheld" / "TT_test_labels.csv", HEADER, rows)
        else:
            _write_csv(ann / f"TT_{name}.csv", HEADER, rows)
    return sorted(c["clip_id"] for c in clips)
