"""The predictions format, and validation of everything a submission hands back to the harness.

**Format** (``npy-per-sample``): one ``.npy`` file per evaluation sample, at ``<case>/<slice>.npy`` for the
sample id ``<case>:<slice>`` (BraTS slice tasks: ``Brats18_2013_10_1/z071.npy``). Segmentation: a 2D mask of
the slice's shape, dtype as declared in ``io.output.dtype`` (``uint8``, ``bool`` or ``float32``), values in
the task's label set ({0, 1} for whole tumour). Multi-label classification: one score per label, float, in
[0, 1]. Files are read with ``allow_pickle=False``.

**Checks**, each failing with the case it concerns: every sample present; no other file, folder entry,
link or special file; readable ``.npy``; dtype as declared; shape as expected; finite values; values in
the label set or the score range. Sampler selections: a JSON list of distinct unlabelled ids of the
requested length.

Example:
    >>> str(sample_relpath("Brats18_2013_10_1:z071"))
    'Brats18_2013_10_1/z071.npy'
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Callable, Sequence
from pathlib import Path, PurePosixPath

import numpy as np

from mbench.errors import MbenchError
from mbench.submissions.manifest import OutputSpec, safe_relative_path
from mbench.submissions.sandbox import SubmissionViolation

__all__ = ["check_tree", "read_predictions", "read_selection", "sample_relpath", "write_predictions"]

_NPY_HEADER = 4096


def sample_relpath(sample_id: str) -> PurePosixPath:
    """Relative path of one sample's prediction file: ``<case>:<slice>`` -> ``<case>/<slice>.npy``."""
    try:
        return PurePosixPath(safe_relative_path(str(sample_id).replace(":", "/") + ".npy"))
    except ValueError:
        raise MbenchError(f"sample id {sample_id!r} cannot name a prediction file",
                          expected="ids of letters, digits, '.', '_', '-' and ':'",
                          fix="this task's ids need another predictions format; report it") from None


def write_predictions(folder: Path, ids: Sequence[str], predictions: np.ndarray | Sequence[np.ndarray]) -> None:
    """Write one ``.npy`` per sample (the format predictions-only packages carry).

    Example:
        >>> import tempfile
        >>> root = Path(tempfile.mkdtemp())
        >>> write_predictions(root, ["c1:z000"], np.zeros((1, 4, 4), np.uint8))
        >>> sorted(p.relative_to(root).as_posix() for p in root.rglob("*.npy"))
        ['c1/z000.npy']
    """
    for sample_id, pred in zip(ids, predictions, strict=True):
        path = Path(folder) / sample_relpath(sample_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        np.save(path, np.asarray(pred), allow_pickle=False)


def _violation(what: str, case: str | None = None, **extra: str) -> SubmissionViolation:
    return SubmissionViolation({"kind": "output", "what": what, "case": case, **extra})


def check_tree(folder: Path, allowed: set[str], label: str, also: Callable[[str], bool] | None = None) -> None:
    """Every entry under ``folder`` must be a folder or regular file, and every file one of ``allowed``
    (or accepted by ``also``)."""
    folder = Path(folder)
    if not folder.is_dir() or folder.is_symlink():
        raise _violation(f"no {label} folder", expected=f"{label}/ with one file per sample")
    for root, dirs, files in os.walk(folder):
        for name in [*dirs, *files]:
            path = Path(root, name)
            rel = path.relative_to(folder).as_posix()
            st = os.lstat(path)
            if stat.S_ISLNK(st.st_mode):
                raise _violation(f"{label}/{rel} is a symbolic link", found=f"link to {os.readlink(path)!r}",
                                 expected="regular files only", fix="write real files")
            if stat.S_ISDIR(st.st_mode):
                continue
            if not stat.S_ISREG(st.st_mode):
                raise _violation(f"{label}/{rel} is a special file", expected="regular files only")
            if rel not in allowed and not (also and also(rel)):
                raise _violation(f"unexpected file {label}/{rel}", found=rel,
                                 expected=f"only <case>/<slice>.npy for the {len(allowed)} requested samples",
                                 fix="write exactly one file per sample id, nothing else")


def _load(path: Path, case: str, max_bytes: int) -> np.ndarray:
    st = os.lstat(path)
    if st.st_size > max_bytes:
        raise _violation(f"prediction file is {st.st_size} bytes", case=case, expected=f"at most {max_bytes} bytes")
    try:
        with open(path, "rb") as fh:
            return np.load(fh, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise _violation(f"unreadable .npy file ({exc})", case=case, expected="a file written by numpy.save, "
                         "without pickled objects") from None


def _check_values(arr: np.ndarray, case: str, spec: OutputSpec, expected_shape: tuple[int, ...]) -> None:
    if arr.dtype != np.dtype(spec.dtype):
        raise _violation(f"dtype {arr.dtype}", case=case, expected=f"dtype {spec.dtype} (io.output.dtype)",
                         found=str(arr.dtype), fix=f"return arrays of dtype {spec.dtype}")
    if tuple(arr.shape) != tuple(expected_shape):
        raise _violation(f"shape {tuple(arr.shape)}", case=case, expected=f"shape {tuple(expected_shape)}",
                         found=str(tuple(arr.shape)), fix="return one array per sample with the sample's shape")
    if arr.dtype.kind == "f":
        bad = int(np.size(arr) - np.count_nonzero(np.isfinite(arr)))
        if bad:
            raise _violation(f"{bad} non-finite values (NaN or inf)", case=case, expected="finite values",
                             found=f"{bad} of {arr.size} values NaN/inf")
    if spec.range is not None:
        lo, hi = spec.range
        if arr.size and (float(arr.min()) < lo or float(arr.max()) > hi):
            raise _violation(f"values outside [{lo}, {hi}]", case=case,
                             found=f"min {float(arr.min()):.4g}, max {float(arr.max()):.4g}")
    elif spec.labels:
        values = set(np.unique(arr).tolist())
        extra = sorted(v for v in values if v not in spec.labels)
        if extra:
            raise _violation(f"values {extra[:5]} outside the label set", case=case,
                             expected=f"values in {sorted(spec.labels)} ({', '.join(map(str, spec.labels.values()))})",
                             found=f"values {sorted(values)[:8]}")


def read_predictions(folder: Path, ids: Sequence[str], spec: OutputSpec, shapes: Sequence[tuple[int, ...]],
                     *, label: str = "predictions", also: Callable[[str], bool] | None = None) -> np.ndarray:
    """Validate a predictions folder against the requested samples and return the predictions stacked.

    Args:
        folder: the folder of ``<case>/<slice>.npy`` files.
        ids: the samples that must all be present, in order.
        spec: the expected output (dtype as declared by the package, label set or range from the task).
        shapes: the expected shape of each sample's prediction.
        also: accepts further files that are allowed but not read (a predictions package run with ``--limit``
            holds predictions for test samples the run leaves out).

    Raises:
        SubmissionViolation: naming the first case that fails a check, or the missing cases.
    """
    wanted = {str(sample_relpath(i)): i for i in ids}
    check_tree(folder, set(wanted), label, also)
    missing = [i for rel, i in wanted.items() if not (Path(folder) / rel).is_file()]
    if missing:
        raise _violation(f"{len(missing)} of {len(ids)} samples have no prediction", case=missing[0],
                         expected=f"one file per sample ({len(ids)})", found=f"missing: {', '.join(missing[:5])}"
                         + (" ..." if len(missing) > 5 else ""), fix="predict every sample you are given")
    out = []
    for sample_id, shape in zip(ids, shapes):
        limit = _NPY_HEADER + int(np.prod(shape)) * 8 * 4  # room for a wrong dtype or shape, reported below
        arr = _load(Path(folder) / sample_relpath(sample_id), sample_id, limit)
        _check_values(arr, sample_id, spec, shape)
        out.append(arr)
    return np.stack(out) if out else np.zeros((0, *spec.shape), spec.dtype)


def read_selection(path: Path, unlabelled: Sequence[str], n: int) -> list[str]:
    """Validate a sampler's ``selection.json``: distinct unlabelled ids, exactly ``min(n, len(unlabelled))``."""
    path = Path(path)
    if not path.is_file() or path.is_symlink():
        raise _violation("no selection.json", expected="a JSON list of ids", fix="return a list of ids from query()")
    if path.stat().st_size > 16 * (len(unlabelled) + 1) * 64:
        raise _violation("selection.json is far larger than any valid selection")
    try:
        chosen = json.loads(path.read_text())
    except ValueError as exc:
        raise _violation(f"selection.json is not JSON ({exc})") from None
    if not isinstance(chosen, list) or not all(isinstance(c, str) for c in chosen):
        raise _violation("selection is not a list of id strings", found=type(chosen).__name__)
    pool = set(unlabelled)
    want = min(n, len(unlabelled))
    for c in chosen:
        if c not in pool:
            raise _violation("selected an id that is not in the unlabelled pool", case=c,
                             expected="ids from view.unlabelled_ids", fix="select only unlabelled ids")
    if len(set(chosen)) != len(chosen):
        dup = next(c for c in chosen if chosen.count(c) > 1)
        raise _violation("selected an id twice", case=dup, expected=f"{want} distinct ids")
    if len(chosen) != want:
        raise _violation(f"selected {len(chosen)} ids", expected=f"exactly {want} (the budget)",
                         found=str(len(chosen)), fix="return exactly n ids (or all unlabelled ids if fewer)")
    return chosen
