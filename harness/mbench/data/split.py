"""Split manifests: case ids per split, pinned by sha256, checked for leaks between splits."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mbench.errors import MbenchError

__all__ = ["SplitManifest", "sha256_file", "make_grouped_split", "write_manifest"]


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class SplitManifest:
    """Case ids per split. ``group_key`` names what must never cross splits (e.g. patient)."""

    splits: dict[str, list[str]]
    group_key: str
    seed: int | None
    method: str
    path: Path | None = None
    sha256: str | None = None

    @classmethod
    def load(cls, path: Path, expected_sha256: str) -> "SplitManifest":
        """Read a manifest, refusing it when its sha256 differs from the pinned one."""
        path = Path(path)
        if not path.exists():
            raise MbenchError(f"split manifest not found: {path}", expected="the file named in the task card",
                              fix="restore it from the repository; it is part of the task definition")
        found = sha256_file(path)
        if found != expected_sha256:
            raise MbenchError(f"split manifest {path.name} does not match the hash pinned in the task card",
                              expected=f"sha256 {expected_sha256}", found=f"sha256 {found}",
                              fix="restore the original manifest (git checkout); a deliberately changed split is a "
                                  "new task version, so pin the new hash in the card and bump its version")
        raw = json.loads(path.read_text())
        manifest = cls(splits={k: list(v) for k, v in raw["splits"].items()}, group_key=raw.get("group_key", "case"),
                       seed=raw.get("seed"), method=raw.get("method", ""), path=path, sha256=found)
        manifest.check_disjoint()
        return manifest

    def check_disjoint(self, groups: dict[str, str] | None = None) -> None:
        """Raise when a case, or a group (patient) when ``groups`` maps case -> group, is in two splits."""
        owner: dict[str, str] = {}
        for split, ids in self.splits.items():
            for case in ids:
                group = groups.get(case, case) if groups else case
                if group in owner and owner[group] != split:
                    raise MbenchError(f"{self.group_key} {group!r} leaks between splits {owner[group]!r} and {split!r}",
                                      expected=f"every {self.group_key} in exactly one split",
                                      found=f"case {case!r} of {self.group_key} {group!r} in both",
                                      fix="regenerate the manifest grouped by " + self.group_key)
                owner[group] = split

    def check_coverage(self, available: list[str], source: str) -> None:
        """Raise when a manifest case is missing from the data found at ``source``."""
        have = set(available)
        missing = [c for ids in self.splits.values() for c in ids if c not in have]
        if missing:
            raise MbenchError(f"{len(missing)} case(s) of the split manifest are missing from {source}",
                              expected=f"all {sum(map(len, self.splits.values()))} cases of {self.path}",
                              found=f"missing {missing[:5]}{' ...' if len(missing) > 5 else ''}",
                              fix="point data.root at the complete dataset folder (see the task family README)")

    def ids(self, split: str) -> list[str]:
        """Case ids of one split."""
        if split not in self.splits:
            raise MbenchError(f"split {split!r} not in manifest", expected=", ".join(self.splits), found=split)
        return list(self.splits[split])


def make_grouped_split(ids: list[str], test_fraction: float, val_fraction: float, seed: int) -> dict[str, list[str]]:
    """Random patient-level split: ``test_fraction`` of all ids, then ``val_fraction`` of the rest.

    Sizes are rounded down, which reproduces M-VAAL's 210 -> 135 / 33 / 42 BraTS split.

    Example:
        >>> s = make_grouped_split([f"p{i}" for i in range(210)], 0.2, 0.2, seed=0)
        >>> {k: len(v) for k, v in s.items()}
        {'train': 135, 'val': 33, 'test': 42}
    """
    order = [str(i) for i in np.random.default_rng(seed).permutation(sorted(ids))]
    n_test = int(test_fraction * len(order))
    n_val = int(val_fraction * (len(order) - n_test))
    test, val, train = order[:n_test], order[n_test:n_test + n_val], order[n_test + n_val:]
    return {"train": sorted(train), "val": sorted(val), "test": sorted(test)}


def write_manifest(path: Path, splits: dict[str, list[str]], *, group_key: str, seed: int, method: str,
                   dataset: str) -> str:
    """Write a manifest as canonical JSON and return its sha256 (to pin in the task card)."""
    body = {"dataset": dataset, "group_key": group_key, "seed": seed, "method": method, "splits": splits}
    Path(path).write_text(json.dumps(body, indent=1, sort_keys=True) + "\n")
    return sha256_file(Path(path))
