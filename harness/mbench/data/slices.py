"""2D samples: axial slices of 3D cases or whole 2D images, with intensity preprocessing, as a :class:`SliceSet`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from mbench.data.adapter import DatasetAdapter

__all__ = ["SliceSet", "clip_and_scale", "extract_slices", "load_images", "resize_image"]


@dataclass
class SliceSet:
    """A set of 2D samples. ``ids`` are ``<case>:z<index>`` for slices of volumes, the case id for 2D images;
    ``groups`` the patient (group) of each; ``attrs`` optional per-sample attributes (e.g. ``{"tissue": [...]}``).
    """

    ids: list[str]
    groups: list[str]
    images: np.ndarray  # (N, H, W) grey or (N, 3, H, W) RGB float32 main modality, in [0, 1]
    aux: np.ndarray | None  # (N, H, W) float32 auxiliary modality, or None
    labelmaps: np.ndarray  # (N, H, W) uint8 reference label maps, or (N,) int64 class codes (image classification)
    spacing: np.ndarray | None = None  # (N, 2) in-plane pixel spacing in mm
    attrs: dict[str, list[str]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.ids)

    def take(self, index: np.ndarray | list[int]) -> "SliceSet":
        """The slices at the given positions."""
        index = np.asarray(index, dtype=int)
        return SliceSet([self.ids[i] for i in index], [self.groups[i] for i in index], self.images[index],
                        None if self.aux is None else self.aux[index], self.labelmaps[index],
                        None if self.spacing is None else self.spacing[index],
                        {k: [v[i] for i in index] for k, v in self.attrs.items()})

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


def resize_image(array: np.ndarray, size: tuple[int, int], *, labels: bool = False) -> np.ndarray:
    """Resize a 2D (H, W) or (H, W, C) array to ``size`` = (height, width): bilinear, or nearest for label maps.

    Example:
        >>> resize_image(np.eye(4, dtype=np.uint8), (2, 2), labels=True).shape
        (2, 2)
    """
    from PIL import Image

    if tuple(array.shape[:2]) == tuple(size):
        return array
    if labels:
        return np.asarray(Image.fromarray(array.astype(np.uint8)).resize(size[::-1], Image.NEAREST))
    chans = [array] if array.ndim == 2 else [array[..., c] for c in range(array.shape[2])]
    out = [np.asarray(Image.fromarray(c.astype(np.float32)).resize(size[::-1], Image.BILINEAR))
           for c in chans]
    return out[0] if array.ndim == 2 else np.stack(out, axis=-1)


def load_images(adapter: DatasetAdapter, case_ids: list[str], *, intensity: str, percentiles: tuple[float, float],
                resize: tuple[int, int] | None, progress: Callable[[int, int], None] | None = None,
                main: str = "image", aux: str | None = None) -> SliceSet:
    """Every case of a 2D adapter as one sample: image in [0, 1] ((H, W) grey or (3, H, W) RGB) and its label map.

    ``main`` / ``aux`` name the input modalities of ``adapter.load_input`` used as the image and the auxiliary
    channel (e.g. a chest X-ray's lung mask for an active-learning sampler; scaled like the image, (H, W)).
    An adapter whose reference is a scalar (image classification) gives ``labelmaps`` of shape (N,), int64.

    ``intensity`` is ``divide_255`` (8-bit images) or ``clip_percentiles`` (per image, over all pixels);
    ``resize`` = (height, width) resizes images bilinearly and label maps by nearest neighbour, so images of
    different native sizes stack. Case attributes of the adapter (e.g. tissue type) are kept in ``attrs``.
    """
    groups_of = adapter.groups()
    attributes = adapter.case_attributes()
    keys = sorted({k for c in case_ids for k in attributes.get(c, {})})
    images, auxes, labels, spacings = [], [], [], []
    for k, case in enumerate(case_ids):
        inputs = adapter.load_input(case)
        image = np.asarray(inputs[main], dtype=np.float32)
        reference = np.asarray(adapter.load_reference(case))
        seg = reference.astype(np.int64) if reference.ndim == 0 else reference.astype(np.uint8)
        spacing = adapter.spacing(case)
        spacing = tuple(spacing[:2]) if spacing else (1.0, 1.0)
        extra = None if aux is None else np.asarray(inputs[aux], dtype=np.float32)
        if resize is not None:
            spacing = (spacing[0] * image.shape[0] / resize[0], spacing[1] * image.shape[1] / resize[1])
            image = resize_image(image, resize)
            seg = seg if seg.ndim == 0 else resize_image(seg, resize, labels=True)
            extra = None if extra is None else resize_image(extra, resize)
        if intensity == "divide_255":
            image = np.clip(image / 255.0, 0.0, 1.0)
            extra = None if extra is None else np.clip(extra / 255.0, 0.0, 1.0)
        else:
            image = clip_and_scale(image, percentiles, "all")
            extra = None if extra is None else clip_and_scale(extra, percentiles, "all")
        images.append(np.moveaxis(image, -1, 0) if image.ndim == 3 else image)
        if extra is not None:
            auxes.append(extra)
        labels.append(seg)
        spacings.append(spacing)
        if progress:
            progress(k + 1, len(case_ids))
    if not case_ids:
        return SliceSet([], [], np.zeros((0, 0, 0), np.float32), None, np.zeros((0, 0, 0), np.uint8))
    shapes = {a.shape for a in images}
    if len(shapes) > 1:
        from mbench.errors import MbenchError

        raise MbenchError("2D images of different sizes cannot be stacked", expected="one image size, or "
                          "preprocessing.resize in the task card", found=f"sizes {sorted(shapes)[:4]}",
                          fix="set preprocessing.resize: [height, width] in the card")
    return SliceSet(list(case_ids), [groups_of.get(c, c) for c in case_ids], np.stack(images).astype(np.float32),
                    np.stack(auxes).astype(np.float32) if aux else None, np.stack(labels),
                    np.asarray(spacings, dtype=float),
                    {key: [attributes.get(c, {}).get(key, "") for c in case_ids] for key in keys})
