"""Prepare volumetric cases for the super-image protocol (paper 24): axial axis first, intensities, crop, resize.

:class:`PreparedVolumes` wraps a lazy :class:`~mbench.data.volumes.VolumeSource` (one case at a time) and applies
a :class:`~mbench.config.schema.SuperImagePrepSpec`; with a ``cache`` folder each prepared case is written once
as ``.npy`` files and memory-mapped afterwards, so training never holds more than the cases of one batch.

Example:
    >>> import numpy as np
    >>> v = np.zeros((1, 10, 8, 6), np.float32); v[0, 4:6, 3:5, 2:4] = 1
    >>> crop_centred(v, (4, 4, 4), centre=(5.0, 4.0, 3.0)).sum() == v.sum()
    np.True_
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from mbench.config.schema import SuperImagePrepSpec
from mbench.data.volumes import VolumeCase
from mbench.errors import MbenchError

__all__ = ["apply_intensity", "crop_centred", "crop_centre", "resize_volume", "prepare_case", "PreparedVolumes"]


def apply_intensity(channel: np.ndarray, mode: str, ct_window: tuple[float, float] = (-1024.0, 1024.0)) -> np.ndarray:
    """``ct_window``: clip to the window and scale linearly to [-1, 1]; ``zscore``: (x - mean) / std over the case.

    Example:
        >>> apply_intensity(np.array([-2000.0, 0.0, 512.0, 3000.0]), "ct_window").tolist()
        [-1.0, 0.0, 0.5, 1.0]
    """
    x = np.asarray(channel, np.float32)
    if mode == "ct_window":
        lo, hi = ct_window
        return ((np.clip(x, lo, hi) - lo) / (hi - lo) * 2 - 1).astype(np.float32)
    if mode == "zscore":
        return ((x - x.mean()) / (x.std() + 1e-8)).astype(np.float32)
    if mode == "none":
        return x
    raise MbenchError(f"unknown intensity mode {mode!r}", expected="ct_window, zscore or none", found=mode)


def crop_centre(labelmap: np.ndarray, how: str) -> tuple[float, float, float]:
    """The crop centre: the reference's centre of mass (``reference``; the volume centre when it is empty) or
    the volume centre (``image``)."""
    shape = np.asarray(labelmap.shape, float)
    if how == "reference" and np.any(labelmap):
        return tuple(float(c) for c in np.argwhere(labelmap > 0).mean(axis=0))  # type: ignore[return-value]
    return tuple(float(c) for c in (shape - 1) / 2)  # type: ignore[return-value]


def crop_centred(volume: np.ndarray, size: Sequence[int], centre: Sequence[float]) -> np.ndarray:
    """A ``size`` (D, H, W) block of ``volume`` (..., D, H, W) centred on ``centre``; zero outside the volume."""
    shape = volume.shape[-3:]
    lo = [int(round(c - s / 2 + 0.5)) if s % 2 == 0 else int(round(c)) - s // 2 for c, s in zip(centre, size)]
    out = np.zeros((*volume.shape[:-3], *size), volume.dtype)
    src = tuple(slice(max(a, 0), min(a + s, n)) for a, s, n in zip(lo, size, shape))
    dst = tuple(slice(r.start - a, r.stop - a) for r, a in zip(src, lo))
    if all(r.stop > r.start for r in src):
        out[(..., *dst)] = volume[(..., *src)]
    return out


def resize_volume(volume: np.ndarray, shape: Sequence[int], *, labels: bool) -> np.ndarray:
    """Resize (..., D, H, W) to ``shape``: linear for images, nearest for label maps (scipy ``zoom``, grid mode)."""
    from mbench.data.volumes import resample

    if tuple(volume.shape[-3:]) == tuple(shape):
        return volume
    return resample(volume, (1, 1, 1), (1, 1, 1), order=0 if labels else 1, shape=shape)


def prepare_case(case: VolumeCase, channels: Sequence[str], prep: SuperImagePrepSpec) -> VolumeCase:
    """The case as the super-image protocol tiles it: image (C, D, H, W), labelmap (D, H, W), spacing (mm)."""
    image = np.moveaxis(np.asarray(case.image, np.float32), 1 + prep.axial_axis, 1)
    labelmap = np.moveaxis(np.asarray(case.labelmap), prep.axial_axis, 0)
    spacing = np.asarray(case.spacing, float)
    spacing = np.concatenate([spacing[[prep.axial_axis]], np.delete(spacing, prep.axial_axis)])
    image = np.stack([apply_intensity(image[c], prep.intensity.get(name, "none"), prep.ct_window)
                      for c, name in enumerate(channels)])
    if prep.crop is not None:
        centre = crop_centre(labelmap, prep.crop_centre)
        image, labelmap = crop_centred(image, prep.crop, centre), crop_centred(labelmap, prep.crop, centre)
    if prep.resize is not None:
        spacing = spacing * np.asarray(labelmap.shape, float) / np.asarray(prep.resize, float)
        image = resize_volume(image, prep.resize, labels=False)
        labelmap = resize_volume(labelmap, prep.resize, labels=True)
    return VolumeCase(case.id, np.ascontiguousarray(image, np.float32), np.ascontiguousarray(labelmap),
                      tuple(float(s) for s in spacing), dict(case.attrs))  # type: ignore[arg-type]


class PreparedVolumes:
    """Prepared cases of a :class:`~mbench.data.volumes.VolumeSource`, one at a time, optionally cached on disk."""

    def __init__(self, source, channels: Sequence[str], prep: SuperImagePrepSpec, cache: Path | None = None) -> None:
        self.source, self.channels, self.prep = source, list(channels), prep
        self.cache = None if cache is None else Path(cache)

    @property
    def ids(self) -> list[str]:
        return list(self.source.ids)

    def __len__(self) -> int:
        return len(self.source.ids)

    @staticmethod
    def cache_key(base: str, channels: Sequence[str], prep: SuperImagePrepSpec) -> str:
        text = json.dumps({"base": base, "channels": list(channels), "prep": prep.model_dump(mode="json")},
                          sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def load(self, case: str) -> VolumeCase:
        """One prepared case (memory-mapped arrays when cached)."""
        if self.cache is None:
            return prepare_case(self.source.load(case), self.channels, self.prep)
        folder = self.cache / case
        if not (folder / "done.json").exists():
            prepared = prepare_case(self.source.load(case), self.channels, self.prep)
            self.cache.mkdir(parents=True, exist_ok=True)
            staging = Path(tempfile.mkdtemp(prefix=f".{case}-", dir=self.cache))
            np.save(staging / "image.npy", prepared.image)
            np.save(staging / "labels.npy", prepared.labelmap)
            (staging / "done.json").write_text(json.dumps({"spacing": list(prepared.spacing),
                                                           "attrs": prepared.attrs}))
            try:
                os.replace(staging, folder)
            except OSError:  # another process prepared it first
                shutil.rmtree(staging, ignore_errors=True)
        meta = json.loads((folder / "done.json").read_text())
        return VolumeCase(case, np.load(folder / "image.npy", mmap_mode="r"),
                          np.load(folder / "labels.npy", mmap_mode="r"), tuple(meta["spacing"]), meta["attrs"])
