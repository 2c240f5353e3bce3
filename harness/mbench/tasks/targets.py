"""Targets derived from BraTS-style label maps, by task problem type."""

from __future__ import annotations

import numpy as np

from mbench.errors import MbenchError

__all__ = ["TARGETS", "make_targets", "index_to_labels"]


def whole_tumour(labelmaps: np.ndarray, labels: dict[str, int]) -> np.ndarray:
    """Binary whole-tumour masks: every labelled class (BraTS WT = {1, 2, 4})."""
    return np.isin(labelmaps, list(labels.values())).astype(np.uint8)


def label_presence(labelmaps: np.ndarray, labels: dict[str, int]) -> np.ndarray:
    """Multi-hot (N, L) presence of each label in each slice, in the order of ``labels``."""
    flat = labelmaps.reshape(len(labelmaps), -1)
    return np.stack([(flat == code).any(axis=1) for code in labels.values()], axis=1).astype(np.float32)


def label_index(labelmaps: np.ndarray, labels: dict[str, int]) -> np.ndarray:
    """Class-index maps: 0 background, i + 1 for the i-th label of ``labels`` (for multi-class learners)."""
    out = np.zeros(labelmaps.shape, dtype=np.uint8)
    for i, code in enumerate(labels.values()):
        out[labelmaps == code] = i + 1
    return out


def index_to_labels(indices: np.ndarray, labels: dict[str, int]) -> np.ndarray:
    """Inverse of :func:`label_index`: class indices back to the dataset's label codes."""
    codes = np.asarray([0, *labels.values()], dtype=np.int64)
    return codes[np.asarray(indices, dtype=np.int64)]


def foreground(labelmaps: np.ndarray, labels: dict[str, int]) -> np.ndarray:
    """Binary masks of every labelled class (a polyp, an instrument); the same as :func:`whole_tumour`."""
    return whole_tumour(labelmaps, labels)


def class_code(labels_per_image: np.ndarray, labels: dict[str, int]) -> np.ndarray:
    """Image classification: the adapter's one class code per image (N,), as int64 class indices.

    Example:
        >>> class_code(np.array([2, 0, 1], np.uint8), {"a": 0, "b": 1, "c": 2}).tolist()
        [2, 0, 1]
    """
    codes = np.asarray(labels_per_image)
    if codes.ndim != 1:
        raise MbenchError("class_code targets need one class code per image",
                          expected="an adapter whose load_reference returns a scalar class code",
                          found=f"references of shape {codes.shape[1:]}", fix="use a mask target for label maps")
    known = set(labels.values())
    if known and not set(np.unique(codes).tolist()) <= known:
        raise MbenchError("class codes outside the card's labels", expected=str(sorted(known)),
                          found=str(sorted(set(np.unique(codes).tolist()) - known)[:5]),
                          fix="list every class of the data under labels in the card")
    return codes.astype(np.int64)


TARGETS = {"whole_tumour": whole_tumour, "foreground": foreground, "label_presence": label_presence,
           "label_index": label_index, "class_code": class_code}


def make_targets(kind: str, labelmaps: np.ndarray, labels: dict[str, int]) -> np.ndarray:
    """Targets of the given kind from label maps."""
    if kind not in TARGETS:
        raise MbenchError(f"unknown target {kind!r}", expected=" or ".join(TARGETS), found=kind)
    return TARGETS[kind](labelmaps, labels)
