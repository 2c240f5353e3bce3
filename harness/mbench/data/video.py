"""Video clips as model inputs: deterministic frame sampling and a lazy (N, T, C, H, W) clip sequence.

A clip is a frame range ``[start, stop]`` (1-based, inclusive, as EPIC-Kitchens-style annotations give it) of one
video whose frames were extracted to JPEG files. :func:`sample_frame_indices` picks ``T`` frames uniformly: the
centre of each of ``T`` equal segments (TSN's test-time sampling), so the same clip always gives the same frames.
:class:`VideoClips` reads the sampled frames of a clip only when indexed, so a training set never sits in memory
whole; indexing with an integer array (or a torch index tensor) returns the stacked batch.

Example:
    >>> sample_frame_indices(1, 10, 4).tolist()
    [2, 4, 7, 9]
    >>> sample_frame_indices(5, 6, 4).tolist()  # fewer frames than T: frames repeat
    [5, 5, 6, 6]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from mbench.errors import MbenchError

__all__ = ["sample_frame_indices", "read_jpeg_frames", "VideoClips"]


def sample_frame_indices(start: int, stop: int, n_frames: int) -> np.ndarray:
    """``n_frames`` frame numbers in ``[start, stop]``: the centre of each of ``n_frames`` equal segments."""
    if n_frames < 1:
        raise MbenchError("a clip needs at least one sampled frame", found=f"n_frames={n_frames}")
    if stop < start:
        raise MbenchError("a clip's stop frame precedes its start frame", found=f"start={start}, stop={stop}",
                          fix="check the annotation file's start_frame / stop_frame columns")
    length = stop - start + 1
    centres = (np.arange(n_frames) + 0.5) * length / n_frames
    return (start + np.floor(centres)).astype(np.int64)


def read_jpeg_frames(paths: Sequence[Path], size: int | None) -> np.ndarray:
    """(T, 3, H, W) float32 in [0, 1] from RGB image files, resized (bilinear) to ``size`` x ``size`` if given."""
    from PIL import Image

    frames = []
    for path in paths:
        try:
            with Image.open(path) as img:
                img = img.convert("RGB")
                if size is not None and img.size != (size, size):
                    img = img.resize((size, size), Image.BILINEAR)
                frames.append(np.asarray(img, dtype=np.float32) / 255.0)
        except FileNotFoundError:
            raise MbenchError(f"frame file not found: {path}", expected="extracted frames frame_%010d.jpg per video",
                              fix="extract every frame of the video (see the task family README)") from None
    return np.stack(frames).transpose(0, 3, 1, 2)


class VideoClips:
    """A lazy sequence of clips: ``len()``, ``clips[i]`` -> (T, C, H, W), ``clips[array]`` -> (n, T, C, H, W).

    ``reader(clip_id)`` returns one clip's sampled frames (T, C, H, W) float32. ``lazy`` tells the shared training
    loop to index batches instead of converting the whole sequence to a tensor.
    """

    lazy = True

    def __init__(self, ids: Sequence[str], reader: Callable[[str], np.ndarray], shape: tuple[int, int, int, int]):
        self.ids, self.reader, self.clip_shape = list(ids), reader, tuple(shape)

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def shape(self) -> tuple[int, ...]:
        return (len(self.ids), *self.clip_shape)

    def __getitem__(self, index):
        if isinstance(index, (int, np.integer)):
            return self.reader(self.ids[int(index)])
        idx = np.asarray(index.tolist() if hasattr(index, "tolist") else index)
        if idx.dtype == bool:
            idx = np.flatnonzero(idx)
        batch = np.stack([self.reader(self.ids[int(i)]) for i in idx.ravel()]) if idx.size else \
            np.zeros((0, *self.clip_shape), np.float32)
        if type(index).__module__.startswith("torch"):
            import torch

            return torch.as_tensor(batch)
        return batch

    def take(self, positions: Sequence[int]) -> "VideoClips":
        """The clips at ``positions``, still lazy."""
        return VideoClips([self.ids[int(i)] for i in positions], self.reader, self.clip_shape)
