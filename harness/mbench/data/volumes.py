"""Volumetric data with bounded memory: lazy per-case access and a foreground-oversampling patch sampler.

A :class:`VolumeSource` reads one case at a time from a dataset adapter: the input channels stacked
``(C, D, H, W)`` float32 (array axis order of the files; "D, H, W" are just the three array axes),
normalised as the task card says, the label map ``(D, H, W)`` as class indices (0 = background, then the
card's labels by code), and the voxel spacing in mm per axis. Nothing holds more than one case: with a
``cache`` folder, each case is preprocessed once into ``.npy`` files that later reads memory-map, so a
patch touches only its own voxels (nnU-Net's preprocessed-data design).

:class:`PatchSampler` draws training patches nnU-Net style: a batch picks random cases; a fraction of
the patches (``foreground_fraction``, nnU-Net: 1/3) is centred on a voxel of a random foreground class
present in the case, the rest at uniformly random positions; volumes smaller than the patch are
zero-padded.

Example:
    >>> import numpy as np
    >>> from mbench.data.volumes import ArrayVolumes, PatchSampler
    >>> img = np.zeros((1, 20, 20, 10), np.float32); lab = np.zeros((20, 20, 10), np.int16); lab[5:8, 5:8, 2:4] = 1
    >>> src = ArrayVolumes({"a": (img, lab, (1.0, 1.0, 2.0))})
    >>> x, y = PatchSampler(src, (8, 8, 8), foreground_fraction=1.0).sample(np.random.default_rng(0), 2)
    >>> x.shape, y.shape, bool((y == 1).any(axis=(1, 2, 3)).all())
    ((2, 1, 8, 8, 8), (2, 8, 8, 8), True)
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

from mbench.errors import MbenchError

__all__ = [
    "ArrayVolumes",
    "PatchSampler",
    "VolumeAccess",
    "VolumeCase",
    "VolumeSource",
    "class_locations",
    "indices_to_labels",
    "labels_to_indices",
    "normalise_volume",
    "resample",
]

log = logging.getLogger(__name__)

Spacing = tuple[float, float, float]


@dataclass
class VolumeCase:
    """One case as a volumetric model sees it (after the task's preprocessing)."""

    id: str
    image: np.ndarray  # (C, D, H, W) float32
    labelmap: np.ndarray  # (D, H, W) integer class indices
    spacing: Spacing  # mm per array axis (after resampling, if any)
    attrs: dict[str, str] = field(default_factory=dict)


class VolumeAccess(Protocol):
    """What volumetric models and the patch sampler need: case ids and one case at a time."""

    @property
    def ids(self) -> list[str]: ...

    def load(self, case: str) -> VolumeCase: ...

    def locations(self, case: str) -> dict[int, np.ndarray]: ...


def normalise_volume(image: np.ndarray, mode: str) -> np.ndarray:
    """Normalise a ``(C, *spatial)`` volume per channel.

    ``case_zscore``: z-score over the channel's nonzero voxels (nnU-Net's MRI scheme), zero stays zero;
    ``none``: unchanged. Other modes of the card (``train_zscore``, ``imagenet``) are 2D-only and refused.

    Example:
        >>> v = np.array([[[0.0, 1.0, 3.0]]])
        >>> normalise_volume(v, "case_zscore").round(3).tolist()
        [[[0.0, -1.0, 1.0]]]
    """
    image = np.asarray(image, dtype=np.float32)
    if mode == "none":
        return image
    if mode != "case_zscore":
        raise MbenchError(f"normalisation {mode!r} is not defined for volumes", expected="case_zscore or none",
                          found=mode, fix="set preprocessing.normalise: case_zscore in the card")
    out = np.zeros_like(image)
    for c in range(image.shape[0]):
        mask = image[c] != 0
        if not mask.any():
            continue
        values = image[c][mask]
        out[c][mask] = (values - values.mean()) / (values.std() + 1e-8)
    return out


def resample(array: np.ndarray, spacing: Sequence[float], target: Sequence[float], *, order: int,
             shape: Sequence[int] | None = None) -> np.ndarray:
    """Resample ``(C, *spatial)`` or ``(*spatial)`` from ``spacing`` to ``target`` mm (or to ``shape`` exactly).

    ``order`` 0 for label maps, 1 for probabilities, 3 for images (as nnU-Net).

    Example:
        >>> resample(np.ones((4, 4, 2)), (1, 1, 2), (1, 1, 1), order=0).shape
        (4, 4, 4)
    """
    from scipy import ndimage

    spatial = array.shape[-3:]
    if shape is None:
        shape = [max(1, round(n * s / t)) for n, s, t in zip(spatial, spacing, target)]
    if tuple(shape) == tuple(spatial):
        return array
    zoom = [n / m for n, m in zip(shape, spatial)]
    def one(a: np.ndarray) -> np.ndarray:
        out = ndimage.zoom(a, zoom, order=order, mode="nearest", grid_mode=True)
        return out[tuple(slice(0, n) for n in shape)]
    if array.ndim == 4:
        return np.stack([one(a) for a in array])
    return one(array)


def labels_to_indices(labelmap: np.ndarray, labels: dict[str, int]) -> np.ndarray:
    """Dataset label codes -> class indices (0 background, i + 1 for the card's i-th label, as
    :func:`mbench.tasks.targets.label_index`); codes the card does not declare are refused.

    Example:
        >>> labels_to_indices(np.array([0, 4, 2]), {"NCR": 1, "ED": 2, "ET": 4}).tolist()
        [0, 3, 2]
    """
    from mbench.tasks.targets import label_index

    labelmap = np.asarray(labelmap)
    bad = sorted(set(np.unique(labelmap).tolist()) - {0, *labels.values()})
    if bad:
        raise MbenchError("label map holds codes the task card does not declare",
                          expected=f"0 and {list(labels.values())}", found=str(bad),
                          fix="check the labels block of the card against the dataset")
    return label_index(labelmap, labels).astype(np.int16)


def indices_to_labels(indices: np.ndarray, labels: dict[str, int]) -> np.ndarray:
    """Inverse of :func:`labels_to_indices`.

    Example:
        >>> indices_to_labels(np.array([0, 3, 2]), {"NCR": 1, "ED": 2, "ET": 4}).tolist()
        [0, 4, 2]
    """
    from mbench.tasks.targets import index_to_labels

    return index_to_labels(indices, labels).astype(np.int16)


def class_locations(labelmap: np.ndarray, *, max_per_class: int = 10000, seed: int = 0) -> dict[int, np.ndarray]:
    """Up to ``max_per_class`` voxel coordinates ``(n, 3)`` of each foreground class (seeded subsample, as nnU-Net).

    Example:
        >>> lab = np.zeros((4, 4, 4), np.int16); lab[1, 2, 3] = 2
        >>> class_locations(lab)[2].tolist()
        [[1, 2, 3]]
    """
    rng = np.random.default_rng(seed)
    out = {}
    for c in np.unique(labelmap):
        if c == 0:
            continue
        where = np.argwhere(labelmap == c)
        if len(where) > max_per_class:
            where = where[np.sort(rng.choice(len(where), max_per_class, replace=False))]
        out[int(c)] = where.astype(np.int32)
    return out


class ArrayVolumes:
    """In-memory cases ``{id: (image (C, D, H, W), labelmap (D, H, W) class indices, spacing)}`` (tests, tiny data)."""

    def __init__(self, cases: dict[str, tuple[np.ndarray, np.ndarray, Sequence[float]]]) -> None:
        self._cases = cases

    @property
    def ids(self) -> list[str]:
        return list(self._cases)

    def load(self, case: str) -> VolumeCase:
        image, labelmap, spacing = self._cases[case]
        return VolumeCase(case, np.asarray(image, np.float32), np.asarray(labelmap), tuple(map(float, spacing)))

    def locations(self, case: str) -> dict[int, np.ndarray]:
        return class_locations(self._cases[case][1])


class VolumeSource:
    """Lazy access to the cases of one split of a dataset adapter, preprocessed for a volumetric model.

    Args:
        adapter: a 3D dataset adapter (``load_input`` -> modality arrays, ``load_reference`` -> codes).
        ids: the cases of this source.
        channels: modalities to stack, in order.
        labels: the card's label names -> codes.
        normalise: ``case_zscore`` or ``none`` (:func:`normalise_volume`).
        target_spacing: resample to this spacing (mm) or keep the native grid (None).
        cache: folder for preprocessed ``.npy`` files (memory-mapped on later reads); None reads the files every
            time. The folder name should identify the data and preprocessing (see :meth:`cache_key`).

    ``load`` returns at most one case; the source keeps no case arrays between calls.
    """

    def __init__(self, adapter, ids: Sequence[str], *, channels: Sequence[str], labels: dict[str, int],
                 normalise: str = "case_zscore", target_spacing: Sequence[float] | None = None,
                 cache: Path | None = None) -> None:
        self.adapter, self._ids = adapter, list(ids)
        self.channels, self.labels, self.normalise = list(channels), dict(labels), normalise
        self.target_spacing = None if target_spacing is None else tuple(float(s) for s in target_spacing)
        self.cache = None if cache is None else Path(cache)
        self._attrs = adapter.case_attributes()
        self.loads = 0  # how many cases were read from the dataset files (tests check the cache works)

    @property
    def ids(self) -> list[str]:
        return list(self._ids)

    def __len__(self) -> int:
        return len(self._ids)

    def subset(self, ids: Sequence[str]) -> VolumeSource:
        """A source over some of these cases (same preprocessing and cache)."""
        unknown = [c for c in ids if c not in self._ids]
        if unknown:
            raise MbenchError("subset asks for cases that are not in the source", found=str(unknown[:3]))
        return VolumeSource(self.adapter, ids, channels=self.channels, labels=self.labels, normalise=self.normalise,
                            target_spacing=self.target_spacing, cache=self.cache)

    @staticmethod
    def cache_key(data_hash: str, **settings) -> str:
        """A folder name for the cache of one dataset and preprocessing."""
        text = json.dumps({"data": data_hash, **settings}, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def attrs(self, case: str) -> dict[str, str]:
        return dict(self._attrs.get(case, {}))

    def native(self, case: str) -> tuple[np.ndarray, Spacing]:
        """The reference label map of a case as label codes on its native grid, and its native spacing."""
        spacing = self.adapter.spacing(case) or (1.0, 1.0, 1.0)
        return np.asarray(self.adapter.load_reference(case)), tuple(float(s) for s in spacing[:3])

    def _read(self, case: str) -> tuple[np.ndarray, np.ndarray, Spacing]:
        self.loads += 1
        inputs = self.adapter.load_input(case)
        missing = [c for c in self.channels if c not in inputs]
        if missing:
            raise MbenchError(f"case {case}: the adapter gives no channel {missing}", expected=str(self.channels),
                              found=str(sorted(inputs)), fix="check volume.channels in the task card")
        image = np.stack([np.asarray(inputs[c], np.float32) for c in self.channels])
        del inputs
        labelmap, spacing = self.native(case)
        if labelmap.shape != image.shape[1:]:
            raise MbenchError(f"case {case}: image and label map differ in shape", expected=str(image.shape[1:]),
                              found=str(labelmap.shape), fix="check the case's files")
        index = labels_to_indices(labelmap, self.labels)
        image = normalise_volume(image, self.normalise)
        if self.target_spacing is not None:
            image = resample(image, spacing, self.target_spacing, order=3)
            index = resample(index, spacing, self.target_spacing, order=0)
            spacing = self.target_spacing
        return image.astype(np.float32), index.astype(np.int16), spacing

    def _signature(self, case: str) -> str:
        """Names, sizes and modification times of the case's files: a changed file invalidates its cache entry."""
        stats = [(p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in self.adapter.files(case)]
        return hashlib.sha256(json.dumps(stats).encode()).hexdigest()[:16]

    def _cached(self, case: str) -> Path:
        assert self.cache is not None
        folder = self.cache / case
        signature = self._signature(case)
        done = folder / "done.json"
        if done.exists() and json.loads(done.read_text()).get("signature") == signature:
            return folder
        image, index, spacing = self._read(case)
        self.cache.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{case}-", dir=self.cache))
        np.save(staging / "image.npy", image)
        np.save(staging / "labels.npy", index)
        np.savez(staging / "locations.npz", **{str(k): v for k, v in class_locations(index).items()})
        (staging / "done.json").write_text(json.dumps({"spacing": list(spacing), "signature": signature}))
        try:
            if folder.exists():  # stale: the case's files changed
                import shutil

                shutil.rmtree(folder)
            os.replace(staging, folder)
        except OSError:  # another process finished it first
            import shutil

            shutil.rmtree(staging, ignore_errors=True)
        return folder

    def load(self, case: str) -> VolumeCase:
        """One preprocessed case (memory-mapped when cached)."""
        if case not in self._ids:
            raise MbenchError(f"case {case!r} is not in this split", found=f"{len(self._ids)} cases")
        if self.cache is None:
            image, index, spacing = self._read(case)
        else:
            folder = self._cached(case)
            image = np.load(folder / "image.npy", mmap_mode="r")
            index = np.load(folder / "labels.npy", mmap_mode="r")
            spacing = tuple(json.loads((folder / "done.json").read_text())["spacing"])
        return VolumeCase(case, image, index, spacing, self.attrs(case))

    def locations(self, case: str) -> dict[int, np.ndarray]:
        """Foreground voxel coordinates per class (cached with the case when there is a cache)."""
        if self.cache is None:
            return class_locations(np.asarray(self.load(case).labelmap))
        with np.load(self._cached(case) / "locations.npz") as z:
            return {int(k): z[k] for k in z.files}


class PatchSampler:
    """Random training patches with foreground oversampling (nnU-Net's scheme).

    Args:
        source: the training cases.
        patch_size: patch size per array axis.
        foreground_fraction: share of each batch (rounded down, at least one when > 0) centred on a foreground
            voxel of a random class present in the case; cases without foreground fall back to random patches.
    """

    def __init__(self, source: VolumeAccess, patch_size: Sequence[int], foreground_fraction: float = 1 / 3) -> None:
        if not source.ids:
            raise MbenchError("no training cases to sample patches from", fix="check the split")
        self.source, self.patch = source, tuple(int(p) for p in patch_size)
        self.foreground_fraction = float(foreground_fraction)

    def _crop(self, case: VolumeCase, centre: np.ndarray | None, rng: np.random.Generator
              ) -> tuple[np.ndarray, np.ndarray]:
        shape = np.asarray(case.labelmap.shape)
        patch = np.asarray(self.patch)
        if centre is None:
            lo = np.asarray([rng.integers(min(0, s - p), max(0, s - p) + 1) for s, p in zip(shape, patch)])
        else:
            lo = centre - patch // 2
            lo = np.clip(lo, np.minimum(0, shape - patch), np.maximum(0, shape - patch))
        hi = lo + patch
        src = tuple(slice(max(a, 0), min(b, s)) for a, b, s in zip(lo, hi, shape))
        dst = tuple(slice(s.start - a, s.stop - a) for s, a in zip(src, lo))
        x = np.zeros((case.image.shape[0], *self.patch), np.float32)
        y = np.zeros(self.patch, np.int64)
        x[(slice(None), *dst)] = case.image[(slice(None), *src)]
        y[dst] = case.labelmap[src]
        return x, y

    def sample(self, rng: np.random.Generator, batch_size: int) -> tuple[np.ndarray, np.ndarray]:
        """A batch ``(B, C, *patch)`` float32 images and ``(B, *patch)`` int64 class indices."""
        n_fg = int(batch_size * self.foreground_fraction)
        if self.foreground_fraction > 0 and n_fg == 0:
            n_fg = 1
        xs, ys = [], []
        ids = self.source.ids
        for k in range(batch_size):
            case_id = ids[int(rng.integers(len(ids)))]
            case = self.source.load(case_id)
            centre = None
            if k >= batch_size - n_fg:  # the last patches of the batch are forced to foreground, as nnU-Net
                locations = self.source.locations(case_id)
                if locations:
                    cls = sorted(locations)[int(rng.integers(len(locations)))]
                    centre = locations[cls][int(rng.integers(len(locations[cls])))]
            x, y = self._crop(case, centre, rng)
            del case
            xs.append(x)
            ys.append(y)
        return np.stack(xs), np.stack(ys)
