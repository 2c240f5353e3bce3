"""A PanNuke-like stand-in: H&E patches with typed nuclei, written in the PanNuke release layout.

Writes ``<root>/Fold <k>/images/fold<k>/images.npy`` (N × S × S × 3 uint8 RGB; the release uses float64),
``<root>/Fold <k>/images/fold<k>/types.npy`` (tissue names) and ``<root>/Fold <k>/masks/fold<k>/masks.npy``
(N × S × S × 6 instance ids: 0 neoplastic, 1 inflammatory, 2 connective, 3 dead, 4 epithelial, 5 background),
so the real adapter reads it unchanged.

Appearance: a pink eosin background with fibrous texture; nuclei are haematoxylin-purple ellipses whose
class shows in size, shape and darkness (neoplastic large, dark and irregular; inflammatory small, round,
very dark; connective thin spindles; dead small, pale and fragmented; epithelial medium and lighter). The
class mix depends on the tissue; some patches lack some classes (and a few have no nuclei at all), which
exercises the empty-mask conventions. Stain jitter and Gaussian noise give a denoiser something to remove.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mbench.data.adapters.pannuke import PANNUKE_TISSUES
from mbench.data.synthetic.textures import ellipse_mask, smooth_field, to_uint8

__all__ = ["generate_pannuke"]

# per class: radius range (major), aspect range (minor / major), RGB colour of the nucleus
_CLASS_STYLE = {
    0: ((6.0, 10.0), (0.6, 0.9), (70, 30, 110)),     # neoplastic: large, dark, irregular
    1: ((2.5, 4.0), (0.85, 1.0), (45, 20, 85)),      # inflammatory: small, round, very dark
    2: ((7.0, 11.0), (0.2, 0.35), (110, 60, 150)),   # connective: spindle
    3: ((1.8, 3.2), (0.5, 0.9), (150, 95, 160)),     # dead: small, pale, fragmented
    4: ((4.0, 6.5), (0.6, 0.85), (120, 75, 165)),    # epithelial: medium, lighter
}


def _patch(rng: np.random.Generator, size: int, tissue_index: int) -> tuple[np.ndarray, np.ndarray]:
    shape = (size, size)
    fibres = smooth_field(rng, shape, size / 40)
    blotch = smooth_field(rng, shape, size / 8)
    rough = smooth_field(rng, shape, 2.0)  # nucleus outlines and chromatin
    base = np.asarray((232, 178, 204), np.float32) * rng.uniform(0.93, 1.05, 3)
    image = base[None, None] * (1 + 0.06 * blotch[..., None]) - 22 * np.abs(fibres)[..., None]
    image[blotch > 0.55] = (245, 232, 240)  # white lumen / fat gaps
    masks = np.zeros((size, size, 6), np.uint16)
    occupied = np.zeros(shape, bool)
    # the tissue sets the class mix, so tissues differ and stratified scores differ
    mix = np.roll(np.asarray([0.35, 0.25, 0.2, 0.05, 0.15]), tissue_index % 5)
    n_nuclei = 0 if rng.random() < 0.04 else int(rng.integers(15, 60) * (size / 256) ** 2) + 1
    present = rng.random(5) < 0.8  # some classes absent from some patches
    if not present.any():
        present[rng.integers(5)] = True
    probs = mix * present / (mix * present).sum()
    scale = max(size / 256, 0.35)
    next_id = 1
    for _ in range(n_nuclei * 2):  # attempts; overlapping ones are dropped
        if next_id > n_nuclei:
            break
        c = int(rng.choice(5, p=probs))
        (r_lo, r_hi), (a_lo, a_hi), colour = _CLASS_STYLE[c]
        major = rng.uniform(r_lo, r_hi) * scale
        minor = major * rng.uniform(a_lo, a_hi)
        cy, cx = rng.uniform(major, size - major), rng.uniform(major, size - major)
        r = int(np.ceil(major)) + 1
        y0, y1 = max(int(cy) - r, 0), min(int(cy) + r + 1, size)
        x0, x1 = max(int(cx) - r, 0), min(int(cx) + r + 1, size)
        local = ellipse_mask((y1 - y0, x1 - x0), (cy - y0, cx - x0), (minor, major), rng.uniform(0, np.pi))
        if c == 0:  # irregular outline
            local &= rough[y0:y1, x0:x1] > -0.5
        if c == 3:  # fragmented
            local &= rng.random(local.shape) > 0.35
        if not local.any() or (local & occupied[y0:y1, x0:x1]).any():
            continue
        occupied[y0:y1, x0:x1] |= local
        masks[y0:y1, x0:x1, c][local] = next_id
        next_id += 1
        shade = np.asarray(colour, np.float32) * rng.uniform(0.9, 1.1)
        image[y0:y1, x0:x1][local] = shade + 14 * rough[y0:y1, x0:x1][local][:, None]
    masks[..., 5] = (~occupied).astype(np.uint16)
    stain = rng.uniform(0.92, 1.08, 3).astype(np.float32)  # stain jitter per patch
    image = image * stain[None, None] + rng.normal(0, 6.0, image.shape)
    return to_uint8(image), masks


def generate_pannuke(root: Path, *, n_per_fold: int | list[int] = 40, size: int = 256, seed: int = 2020) -> list[str]:
    """Write three PanNuke-layout folds under ``root`` and return the case ids the adapter will see.

    Tissues cycle through the 19 PanNuke tissue names (shifted per fold), so every fold holds every
    tissue when it has at least 19 patches.

    Example:
        >>> import tempfile, pathlib
        >>> ids = generate_pannuke(pathlib.Path(tempfile.mkdtemp()), n_per_fold=2, size=64)
        >>> ids
        ['fold1_0000', 'fold1_0001', 'fold2_0000', 'fold2_0001', 'fold3_0000', 'fold3_0001']
    """
    counts = [int(n_per_fold)] * 3 if isinstance(n_per_fold, int) else [int(n) for n in n_per_fold]
    ids = []
    for k, (n, child) in enumerate(zip(counts, np.random.SeedSequence(seed).spawn(3)), start=1):
        rngs = [np.random.default_rng(s) for s in child.spawn(n)]
        tissue_idx = [(i + 7 * k) % len(PANNUKE_TISSUES) for i in range(n)]
        patches = [_patch(r, size, t) for r, t in zip(rngs, tissue_idx)]
        images_dir = Path(root) / f"Fold {k}" / "images" / f"fold{k}"
        masks_dir = Path(root) / f"Fold {k}" / "masks" / f"fold{k}"
        images_dir.mkdir(parents=True, exist_ok=True)
        masks_dir.mkdir(parents=True, exist_ok=True)
        shape = (0, size, size)
        np.save(images_dir / "images.npy", np.stack([p[0] for p in patches]) if n else np.zeros((*shape, 3), np.uint8))
        np.save(images_dir / "types.npy", np.asarray([PANNUKE_TISSUES[t] for t in tissue_idx], dtype="<U13"))
        np.save(masks_dir / "masks.npy", np.stack([p[1] for p in patches]) if n else np.zeros((*shape, 6), np.uint16))
        ids += [f"fold{k}_{i:04d}" for i in range(n)]
    return ids
