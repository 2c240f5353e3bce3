"""2D axial slices from 3D cases: intensity preprocessing, the foreground filter, and the slice set."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from mbench.data.adapter import DatasetAdapter

__all__ = ["SliceSet", "clip_and_scale", "extract_slices"]


@dataclass
class SliceSet:
    """A set of 2D slices. ``ids`` are ``<case>:z<index>``; ``groups`` the case (patient) of each."""

    ids: list[str]
    groups: list[str]
    images: np.ndarray  # (N, H, W) float32 main modality, in [0, 1]
    aux: np.ndarray | None  # (N, H, W) float32 auxiliary modality, or None
    labelmaps: np.ndarray  # (N, H, W) uint8 reference label maps
    spacing: np.ndarray | None = None  # (N, 2) in-plane pixel spacing in mm

    def __len__(self) -> int:
        return len(self.ids)

    def take(self, index: np.ndarray | list[int]) -> "SliceSet":
        """The slices at the given positions."""
        index = np.asarray(index, dtype=int)
        return SliceSet([self.ids[i] for i in index], [self.groups[i] for i in index], self.images[index],
                        None if self.aux is None else self.aux[index], self.labelmaps[index],
                        None if self.spacing is None else self.spacing[index])

    def positions(self, ids: list[str]) -> np.ndarray:
        """Positions of the given ids in this set."""
        where = {c: i for i, c in enumerate(self.ids)}
        return np.asarray([where[c] for c in ids], dtype=int)


def clip_and_scale(volume: np.ndarray, percentiles: tuple[float, float], region: str = "nonzero") -> np.ndarray:
    """Clip to the given intensity percentiles and scale linearly to [0, 1].

    Percentiles are taken over nonzero (head) voxels when ``region="nonzero"``; background stays 0.

    Example:
        >>> v = np.array([0, 1, 2, 3, 4, 100], dtype=float)
        >>> [round(float(x), 2) for x in clip_and_scale(v, (0, 75))]
        [0.0, 0.0, 0.33, 0.67, 1.0, 1.0]
    """
    volume = np.asarray(volume, dtype=np.float32)
    sample = volume[volume != 0] if region == "nonzero" else volume.ravel()
    if sample.size == 0:
        return np.zeros_like(volume)
    lo, hi = np.percentile(sample, percentiles)
    if hi <= lo:
        return np.zeros_like(volume)
    out = (np.clip(volume, lo, hi) - lo) / (hi - lo)
    if region == "nonzero":
        out[volume == 0] = 0.0
    return out.astype(np.float32)


def extract_slices(adapter: DatasetAdapter, case_ids: list[str], *, main: str, aux: str | None, min_pixels: int,
                   percentiles: tuple[float, float], region: str,
                   progress: Callable[[int, int], None] | None = None) -> SliceSet:
    """Axial (last-axis) slices of each case whose reference has at least ``min_pixels`` foreground pixels."""
    ids, groups, images, auxes, labels, spacings = [], [], [], [], [], []
    for k, case in enumerate(case_ids):
        seg = adapter.load_reference(case)
        keep = np.flatnonzero((seg > 0).sum(axis=(0, 1)) >= min_pixels)
        if keep.size:
            volumes = adapter.load_input(case)
            main_vol = clip_and_scale(volumes[main], percentiles, region)
            aux_vol = clip_and_scale(volumes[aux], percentiles, region) if aux else None
            spacing = adapter.spacing(case)
            in_plane = tuple(spacing[:2]) if spacing else (1.0, 1.0)
            for z in keep:
                ids.append(f"{case}:z{z:03d}")
                groups.append(case)
                images.append(main_vol[:, :, z])
                labels.append(seg[:, :, z])
                spacings.append(in_plane)
                if aux_vol is not None:
                    auxes.append(aux_vol[:, :, z])
        if progress:
            progress(k + 1, len(case_ids))
    if not ids:
        shape = (0, 0, 0)
        return SliceSet([], [], np.zeros(shape, np.float32), np.zeros(shape, np.float32) if aux else None,
                        np.zeros(shape, np.uint8))
    return SliceSet(ids, groups, np.stack(images), np.stack(auxes) if aux else None, np.stack(labels),
                    np.asarray(spacings, dtype=float))
