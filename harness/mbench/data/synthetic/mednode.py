"""Deterministic MED-NODE stand-in: skin photographs mixed from known chromophore maps, in the release layout
``complete_mednode_dataset/{melanoma,naevus}/<n>.jpg``.

Each image: three nonnegative source maps (oxy-haemoglobin, deoxy-haemoglobin, melanin): smooth random fields decide
which chromophore dominates each skin zone (the others join near the seams, so single-source zones exist, as SCA
assumes), with fine independent texture; a pigmented lesion with an irregular border in which melanin rises
(naevus: moderately, melanoma: more, with a more irregular border and more deoxy-haemoglobin). The sources are mixed
with the paper's empirical matrix perturbed per photograph (each entry times a log-normal factor, sd 0.12; optical
density ``b = M c`` in B, G, R order), turned into reflectance ``exp(-b)`` and stored as 8-bit RGB JPEG with slight
sensor noise. Class sizes default to the paper's 51 naevus / 34 melanoma.

Example:
    >>> import tempfile, pathlib
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> generate_mednode(root, n_melanoma=1, n_naevus=2, size=48, seed=0)
    ['melanoma_1', 'naevus_1', 'naevus_2']
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mbench.models.baselines.chromophores import M_EMPIRICAL

__all__ = ["render_skin", "generate_mednode"]


def _field(rng: np.random.Generator, h: int, w: int, scale: float) -> np.ndarray:
    from scipy import ndimage as ndi

    f = ndi.gaussian_filter(rng.normal(size=(h, w)), scale)
    return (f - f.mean()) / (f.std() + 1e-12)


def render_skin(rng: np.random.Generator, height: int, width: int, *, melanoma: bool) -> tuple[np.ndarray, np.ndarray]:
    """One photograph (H, W, 3) uint8 RGB and its true concentrations (3, H, W) (oxy, deoxy, melanin)."""
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float64)
    cy, cx = height / 2 + rng.normal(0, height / 20), width / 2 + rng.normal(0, width / 20)
    theta = np.arctan2(yy - cy, xx - cx)
    r0 = min(height, width) * rng.uniform(0.22, 0.32)
    wobble = sum(rng.uniform(0.03, 0.16 if melanoma else 0.07) * np.sin(k * theta + rng.uniform(0, 2 * np.pi))
                 for k in (2, 3, 5, 7))
    lesion = np.hypot(yy - cy, xx - cx) <= r0 * (1 + wobble)
    scale = min(height, width) / 16
    fields = np.stack([_field(rng, height, width, scale) for _ in range(3)])
    active = list(fields >= fields.max(axis=0) - 0.2)  # mostly one chromophore per zone, mixtures at the seams
    texture = [np.exp(0.3 * _field(rng, height, width, 1.0)) for _ in range(3)]  # fine, independent, never flat
    oxy = 0.016 * active[0] * texture[0]
    deoxy = 0.018 * active[1] * texture[1]
    melanin = 0.003 * active[2] * texture[2]
    level = rng.uniform(0.010, 0.020) if melanoma else rng.uniform(0.005, 0.013)
    melanin = np.where(lesion, level * texture[2], melanin)
    if melanoma:
        deoxy = np.where(lesion & active[1], deoxy * rng.uniform(1.2, 2.0), deoxy)
    c = np.stack([oxy, deoxy, melanin])
    mixing = M_EMPIRICAL * rng.lognormal(0.0, 0.12, (3, 3))  # camera / skin variability per photograph
    od = np.einsum("ij,jhw->ihw", mixing, c)  # B, G, R
    reflectance = np.exp(-od)[::-1].transpose(1, 2, 0)  # -> R, G, B file order
    rgb = np.clip(reflectance * 255 + rng.normal(0, 0.8, reflectance.shape), 0, 255)
    return rgb.round().astype(np.uint8), c


def generate_mednode(root: Path, n_melanoma: int = 34, n_naevus: int = 51, size: int = 112,
                     seed: int = 2015) -> list[str]:
    """MED-NODE layout with ``n_melanoma`` + ``n_naevus`` JPEGs (sizes between ``size`` and 1.3 ``size``)."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    ids = []
    for cls, n in (("melanoma", n_melanoma), ("naevus", n_naevus)):
        folder = Path(root) / "complete_mednode_dataset" / cls
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(1, n + 1):
            h, w = int(size * rng.uniform(1.0, 1.3)), int(size * rng.uniform(1.0, 1.3))
            rgb, _ = render_skin(rng, h, w, melanoma=cls == "melanoma")
            Image.fromarray(rgb).save(folder / f"{i}.jpg", quality=95)
            ids.append(f"{cls}_{i}")
    return sorted(ids)
