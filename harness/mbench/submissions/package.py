"""Open a submission package (folder or ``.zip``) safely into a private copy, hash it, check its weights.

Nothing in a package is trusted: zip members with absolute or ``..`` paths, symlinks (in a zip or a
folder), device files, duplicate names, more files or bytes than the limits are all refused before
anything is written outside the destination. The copy is what the sandbox later sees.

The package hash (``sha256`` in ``run.json``) is over the content, not the container: the sha256 of the
sorted lines ``<sha256 of file>  <relative path>`` (``sha256sum`` format) of every file, so a folder and a
zip of it hash the same. ``__pycache__`` folders and ``.pyc`` files are left out of both copy and hash.

Example:
    >>> import tempfile
    >>> src, dst = Path(tempfile.mkdtemp()), Path(tempfile.mkdtemp()) / "copy"
    >>> _ = (src / "a.txt").write_text("x")
    >>> sorted(copy_tree_safely(src, dst)), content_sha256(dst) == content_sha256(src)
    (['a.txt'], True)
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from mbench.errors import MbenchError
from mbench.submissions.manifest import MANIFEST_NAME, SubmissionManifest, load_manifest

__all__ = [
    "MAX_BYTES",
    "MAX_FILES",
    "PackageError",
    "SubmissionPackage",
    "content_sha256",
    "copy_tree_safely",
    "extract_zip_safely",
    "open_package",
    "sha256_file",
    "verify_weights",
]

MAX_FILES = 20_000
MAX_BYTES = 4 << 30
_IGNORED_DIRS = {"__pycache__"}
_IGNORED_SUFFIXES = {".pyc"}
_CHUNK = 1 << 20


class PackageError(MbenchError):
    """The package is malformed or unsafe; nothing of it was used."""


def sha256_file(path: Path) -> str:
    """sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(_CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def _ignored(rel: PurePosixPath) -> bool:
    return any(p in _IGNORED_DIRS for p in rel.parts) or rel.suffix in _IGNORED_SUFFIXES


def _files(root: Path) -> list[str]:
    out = []
    for folder, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in _IGNORED_DIRS)
        for name in names:
            rel = PurePosixPath(Path(folder, name).relative_to(root).as_posix())
            if not _ignored(rel):
                out.append(str(rel))
    return sorted(out)


def content_sha256(root: Path) -> str:
    """The package hash: sha256 over ``<sha256>  <path>`` lines of every file, sorted by path."""
    lines = "".join(f"{sha256_file(Path(root) / rel)}  {rel}\n" for rel in _files(Path(root)))
    return hashlib.sha256(lines.encode()).hexdigest()


def _check_name(name: str, source: str) -> PurePosixPath:
    if not name or "\\" in name or "\0" in name or any(ord(c) < 32 for c in name):
        raise PackageError(f"{source}: unsafe member name {name!r}", expected="plain relative paths",
                           fix="rebuild the zip from the package folder")
    path = PurePosixPath(name)
    if path.is_absolute() or name.startswith("/") or (path.parts and ":" in path.parts[0]):
        raise PackageError(f"{source}: member {name!r} has an absolute path", expected="paths relative to the package",
                           fix="rebuild the zip from inside the package folder (zip -r ../pkg.zip .)")
    if any(p in ("..", ".") for p in path.parts) or ".." in name.split("/"):
        raise PackageError(f"{source}: member {name!r} points outside the package ('..')",
                           expected="paths inside the package", fix="remove '..' from the member paths")
    return path


def extract_zip_safely(archive: Path, dest: Path, *, max_files: int = MAX_FILES, max_bytes: int = MAX_BYTES) -> None:
    """Extract ``archive`` into the new folder ``dest``, refusing anything that could escape or explode."""
    source = str(archive)
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as exc:
        raise PackageError(f"{source} is not a readable zip file", found=str(exc), fix="rebuild the archive") from None
    with zf:
        infos = zf.infolist()
        if len(infos) > max_files:
            raise PackageError(f"{source} has {len(infos)} members", expected=f"at most {max_files}")
        seen: set[str] = set()
        plan = []
        for info in infos:
            path = _check_name(info.filename, source)
            mode = info.external_attr >> 16
            kind = stat.S_IFMT(mode)
            if kind == stat.S_IFLNK:
                raise PackageError(f"{source}: member {info.filename!r} is a symbolic link",
                                   expected="regular files and folders only",
                                   fix="replace the link by the file it points to")
            if kind not in (0, stat.S_IFREG, stat.S_IFDIR):
                raise PackageError(f"{source}: member {info.filename!r} is a special file (mode {oct(mode)})",
                                   expected="regular files and folders only")
            key = str(path).lower()
            if key in seen:
                raise PackageError(f"{source}: member {info.filename!r} appears twice (names compared case-blind)")
            seen.add(key)
            plan.append((info, path, info.is_dir() or kind == stat.S_IFDIR))
        if sum(i.file_size for i, _, d in plan if not d) > max_bytes:
            raise PackageError(f"{source} unpacks to more than {max_bytes >> 20} MB", fix="make the package smaller")
        dest.mkdir(mode=0o700)
        budget = max_bytes
        for info, path, is_dir in plan:
            target = dest.joinpath(*path.parts)
            if not target.resolve().is_relative_to(dest.resolve()):
                raise PackageError(f"{source}: member {info.filename!r} resolves outside the package")
            if is_dir:
                target.mkdir(parents=True, exist_ok=True)
                continue
            if _ignored(path):
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(info) as fin, open(target, "xb") as fout:
                while block := fin.read(_CHUNK):
                    budget -= len(block)
                    if budget < 0:
                        raise PackageError(f"{source} unpacks to more than {max_bytes >> 20} MB (sizes in the zip "
                                           "directory are wrong)", fix="make the package smaller")
                    fout.write(block)


def copy_tree_safely(src: Path, dest: Path, *, max_files: int = MAX_FILES, max_bytes: int = MAX_BYTES) -> list[str]:
    """Copy a package folder into the new folder ``dest``; symlinks and special files are refused.

    Returns:
        The relative paths copied.
    """
    src = Path(src)
    copied: list[str] = []
    total = 0
    dest.mkdir(mode=0o700)
    for folder, dirs, names in os.walk(src):
        rel_folder = Path(folder).relative_to(src)
        for name in [*dirs, *names]:
            path = Path(folder, name)
            st = os.lstat(path)
            rel = (rel_folder / name).as_posix()
            if stat.S_ISLNK(st.st_mode):
                raise PackageError(f"{src}: {rel} is a symbolic link", expected="regular files and folders only",
                                   fix="replace the link by the file it points to")
            if not (stat.S_ISDIR(st.st_mode) or stat.S_ISREG(st.st_mode)):
                raise PackageError(f"{src}: {rel} is a special file", expected="regular files and folders only")
        dirs[:] = sorted(d for d in dirs if d not in _IGNORED_DIRS)
        for d in dirs:
            (dest / rel_folder / d).mkdir(mode=0o700)
        for name in sorted(names):
            rel = PurePosixPath((rel_folder / name).as_posix())
            if _ignored(rel):
                continue
            copied.append(str(rel))
            total += os.lstat(Path(folder, name)).st_size
            if len(copied) > max_files or total > max_bytes:
                raise PackageError(f"{src} holds more than {max_files} files or {max_bytes >> 20} MB",
                                   fix="make the package smaller")
            shutil.copyfile(Path(folder, name), dest / rel_folder / name, follow_symlinks=False)
    return copied


@dataclass(frozen=True)
class SubmissionPackage:
    """A package opened into a private copy: its manifest, content hash and file list."""

    source: Path
    root: Path
    manifest: SubmissionManifest
    sha256: str
    archive_sha256: str | None
    files: tuple[str, ...]

    def provenance(self) -> dict[str, object]:
        """The ``submission`` block of ``run.json`` (the team and author names are data, escaped when shown)."""
        m = self.manifest
        return {"id": m.id, "version": m.version, "model_id": m.model_id, "kind": m.kind, "team": m.team,
                "authors": [a.model_dump(exclude_none=True) for a in m.authors], "licence": m.licence,
                "package_sha256": self.sha256, "archive_sha256": self.archive_sha256, "source": str(self.source),
                "files": len(self.files), "weights": [w.model_dump() for w in m.weights]}


def _find_root(extracted: Path) -> Path:
    if (extracted / MANIFEST_NAME).is_file():
        return extracted
    children = [p for p in extracted.iterdir() if p.name not in _IGNORED_DIRS]
    if len(children) == 1 and children[0].is_dir() and (children[0] / MANIFEST_NAME).is_file():
        return children[0]  # a zip of the folder itself
    return extracted


def open_package(source: str | Path, dest: Path) -> SubmissionPackage:
    """Copy or extract ``source`` into the new folder ``dest``, validate the manifest, hash the content.

    Raises:
        PackageError: unsafe or malformed package.
        MbenchError: invalid manifest.
    """
    source = Path(source).expanduser()
    if not source.exists():
        raise PackageError(f"submission {source} does not exist", expected="a package folder or .zip",
                           fix="`mbench submission new <dir> task=<id> kind=<kind>` writes one")
    if source.is_symlink():
        raise PackageError(f"submission {source} is a symbolic link", fix="pass the package itself")
    archive_sha = None
    if source.is_dir():
        copy_tree_safely(source, dest)
        root = dest
    elif zipfile.is_zipfile(source):
        archive_sha = sha256_file(source)
        extract_zip_safely(source, dest)
        root = _find_root(dest)
    else:
        raise PackageError(f"submission {source} is neither a folder nor a zip file",
                           fix="pass the package folder or a .zip of it")
    manifest = load_manifest(root)
    return SubmissionPackage(source.resolve(), root, manifest, content_sha256(root), archive_sha,
                             tuple(_files(root)))


def verify_weights(package: SubmissionPackage) -> list[str]:
    """Check every declared weight file exists and matches its sha256; returns one line per file checked.

    Raises:
        PackageError: a file is missing or its hash differs (the package was changed after it was pinned).
    """
    lines, problems = [], []
    for weight in package.manifest.weights:
        path = package.root / weight.path
        if not path.is_file() or path.is_symlink():
            problems.append(f"{weight.path}: missing")
            continue
        got = sha256_file(path)
        if got != weight.sha256:
            problems.append(f"{weight.path}: sha256 {got}, manifest says {weight.sha256}")
        else:
            lines.append(f"{weight.path} ({path.stat().st_size} bytes) sha256 ok")
    if problems:
        raise PackageError("weight files do not match the manifest:\n  - " + "\n  - ".join(problems),
                           expected="every weights[].path present with the pinned sha256",
                           fix="restore the original files, or re-pin with `sha256sum <file>` if they changed on "
                               "purpose (and bump the version)")
    return lines
