"""Frozen evaluation inputs: made once, written to files, hashed, and read back only through the hash check.

A task whose inputs are synthesised from its targets (a random degradation chain) must show every model the
same inputs. :func:`freeze_inputs` writes one ``<case>.npy`` per case (uint8, 8-bit images in [0, 1] x 255:
NPY bytes are a fixed header plus raw data, so equal pixels give equal files on every machine) and
``manifest.json`` (case -> sha256 of its file, canonical JSON). The sha256 of the manifest is what a task card
pins. :meth:`FrozenInputs.load` re-hashes a file on every read and refuses one that changed by a single byte.

Example:
    >>> import numpy as np, tempfile, pathlib
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> fz = freeze_inputs(root / "x", ["a", "b"], lambda c: np.full((2, 2), 0.5, np.float32))
    >>> len(fz.manifest), fz.load("a").shape, round(float(fz.load("a")[0, 0]) * 255)
    (2, (2, 2), 128)
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mbench.data.atomic import atomic_folder
from mbench.errors import MbenchError

__all__ = ["FrozenInputs", "freeze_inputs", "open_frozen"]


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _manifest_bytes(manifest: dict[str, str]) -> bytes:
    return (json.dumps(manifest, indent=1, sort_keys=True) + "\n").encode()


def _file_name(case_id: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "._-" else "_" for ch in case_id) + ".npy"


@dataclass(frozen=True)
class FrozenInputs:
    """A folder of frozen inputs and its manifest (case id -> sha256 of the case's file)."""

    folder: Path
    manifest: dict[str, str]

    @property
    def manifest_sha256(self) -> str:
        """sha256 of ``manifest.json``: the value a task card pins."""
        return _sha256(_manifest_bytes(self.manifest))

    def check_pin(self, expected: str | None, what: str) -> None:
        """Refuse a manifest whose sha256 differs from the card's pin (None: nothing pinned, nothing checked)."""
        if expected is not None and expected != self.manifest_sha256:
            raise MbenchError(f"the frozen inputs of {what} do not match the hash pinned in the task card",
                              expected=f"manifest sha256 {expected}", found=f"manifest sha256 {self.manifest_sha256}"
                              f" ({self.folder})",
                              fix="use the distributed frozen inputs (delete the folder to regenerate them with "
                                  "the card's seed); a deliberately changed set is a new task version: pin the new "
                                  "hash and bump the version")

    def load(self, case_id: str) -> np.ndarray:
        """The case's frozen image as float32 in [0, 1], after checking its file against the manifest."""
        if case_id not in self.manifest:
            raise MbenchError(f"case {case_id!r} has no frozen input", expected=f"one of {len(self.manifest)} cases "
                              f"in {self.folder / 'manifest.json'}", found=case_id,
                              fix="delete the folder to regenerate the frozen inputs")
        path = self.folder / _file_name(case_id)
        if not path.is_file():
            raise MbenchError(f"frozen input of {case_id!r} is missing", expected=str(path), found="no such file",
                              fix="delete the folder to regenerate the frozen inputs")
        data = path.read_bytes()
        found = _sha256(data)
        if found != self.manifest[case_id]:
            raise MbenchError(f"frozen input of case {case_id!r} does not match its sha256 in the manifest: every "
                              "model must read the same inputs", expected=f"sha256 {self.manifest[case_id]}",
                              found=f"sha256 {found} ({path})",
                              fix="restore the file (or delete the folder to regenerate the set from the card's "
                                  "seed); never edit frozen inputs")
        return np.load(io.BytesIO(data), allow_pickle=False).astype(np.float32) / 255.0


def open_frozen(folder: Path) -> FrozenInputs | None:
    """The frozen set in ``folder`` (its manifest as written), or None when there is none yet."""
    path = Path(folder) / "manifest.json"
    if not path.is_file():
        return None
    return FrozenInputs(Path(folder), json.loads(path.read_text()))


def freeze_inputs(folder: Path, case_ids: Sequence[str], make: Callable[[str], np.ndarray]) -> FrozenInputs:
    """Open the frozen set in ``folder``, or make it: ``make(case)`` -> [0, 1] image, stored as 8-bit NPY.

    Written atomically (a staging folder renamed into place), so an interrupted run leaves no half set. An
    existing set must cover exactly ``case_ids``.
    """
    folder = Path(folder)
    existing = open_frozen(folder)
    if existing is not None:
        if sorted(existing.manifest) != sorted(case_ids):
            raise MbenchError(f"the frozen inputs in {folder} cover other cases than this split",
                              expected=f"{len(case_ids)} cases", found=f"{len(existing.manifest)} cases",
                              fix=f"delete {folder} to regenerate it")
        return existing
    manifest = {}
    with atomic_folder(folder) as staging:
        for case in case_ids:
            img = np.clip(np.round(np.asarray(make(case), np.float64) * 255.0), 0, 255).astype(np.uint8)
            buf = io.BytesIO()
            np.save(buf, img, allow_pickle=False)
            (staging / _file_name(case)).write_bytes(buf.getvalue())
            manifest[case] = _sha256(buf.getvalue())
        (staging / "manifest.json").write_bytes(_manifest_bytes(manifest))
    return FrozenInputs(folder, manifest)
