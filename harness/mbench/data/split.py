"""Split manifests: case ids per split, pinned by sha256, checked for leaks between splits.

A manifest lists case ids per split, or (for a public dataset whose case ids are not known here) a
deterministic ``rule`` that :meth:`SplitManifest.resolve` expands against the dataset's sorted case ids:
splits the release itself defines (``"official:<name>"``, e.g. PanNuke's folds or Kvasir-Instrument's
``test.txt``), then a seeded permutation of the remaining groups (patients) cut into the given sizes, or, with
``stratify``, each stratum's groups (e.g. per class) cut into ``fractions``. ``n_official`` pins the sizes
of official lists (e.g. COVID-QU-Ex's 3,728 / 932 / 1,166). The rule is pinned by the manifest's sha256 like an explicit list; the expanded ids are recorded per run.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mbench.errors import MbenchError

__all__ = ["SplitManifest", "sha256_file", "make_grouped_split", "seeded_folds", "expand_rule", "write_manifest"]


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
    rule: dict | None = None

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
        rule = raw.get("rule")
        if rule is not None:
            _check_rule(rule, path)
        manifest = cls(splits={k: list(v) for k, v in (raw.get("splits") or {}).items()},
                       group_key=raw.get("group_key", "case"), seed=raw.get("seed"), method=raw.get("method", ""),
                       path=path, sha256=found, rule=rule)
        manifest.check_disjoint()
        return manifest

    def split_names(self) -> list[str]:
        """Names of the splits, for explicit and rule manifests alike."""
        if self.rule is None:
            return list(self.splits)
        return [*self.rule.get("official", {}), *self.rule.get("sizes", {}), *self.rule.get("fractions", {})]

    def resolve(self, case_ids: list[str], groups: dict[str, str] | None = None,
                official: dict[str, list[str]] | None = None,
                attributes: dict[str, dict[str, str]] | None = None) -> "SplitManifest":
        """The explicit manifest: itself, or its ``rule`` expanded against the dataset's case ids.

        Example:
            >>> m = SplitManifest({}, "image", 0, "demo", rule={"sizes": {"test": 1, "train": "rest"}})
            >>> r = m.resolve(["a", "b", "c"])
            >>> len(r.splits["test"]), len(r.splits["train"])
            (1, 2)
        """
        if self.rule is None:
            return self
        splits = expand_rule(self.rule, case_ids, groups or {c: c for c in case_ids}, official or {},
                             seed=self.seed or 0, name=str(self.path or "manifest"), attributes=attributes)
        return SplitManifest(splits, self.group_key, self.seed, self.method, self.path, self.sha256, self.rule)

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


def _check_rule(rule: dict, path: Path) -> None:
    unknown = set(rule) - {"official", "pool", "sizes", "n_pool", "n_official", "stratify", "fractions"}
    if unknown or not (rule.get("official") or rule.get("sizes") or rule.get("fractions")) \
            or bool(rule.get("stratify")) != bool(rule.get("fractions")) or (rule.get("sizes") and rule.get("fractions")):
        raise MbenchError(f"split manifest {path.name} has a malformed rule",
                          expected="keys official / pool / sizes / n_pool / n_official / stratify + fractions, with "
                                   "official, sizes or fractions set (stratify and fractions together, not with sizes)",
                          found=f"keys {sorted(rule)}", fix="regenerate it with the family's make_splits.py")


def expand_rule(rule: dict, case_ids: list[str], groups: dict[str, str], official: dict[str, list[str]], *,
                seed: int, name: str = "manifest",
                attributes: dict[str, dict[str, str]] | None = None) -> dict[str, list[str]]:
    """Expand a split rule into case ids per split (see the module docstring).

    ``rule["official"]`` maps split names to ``"official:<list>"`` (a list the dataset release defines);
    ``rule["pool"]`` is ``"all"`` (the cases no official split took) or ``"official:<list>"``; the pool's
    groups, sorted, are permuted with ``seed`` and cut in order into ``rule["sizes"]`` (numbers of groups;
    one size may be ``"rest"``); ``rule["n_pool"]``, when given, is the number of pool groups expected.

    Example:
        >>> rule = {"official": {"test": "official:test"}, "pool": "official:train",
        ...         "sizes": {"val": 1, "train": "rest"}}
        >>> expand_rule(rule, ["a", "b", "c"], {}, {"train": ["a", "b"], "test": ["c"]}, seed=0)["test"]
        ['c']
    """
    groups = {c: groups.get(c, c) for c in case_ids}
    known = set(case_ids)

    def official_list(ref: str) -> list[str]:
        key = ref.removeprefix("official:")
        if not ref.startswith("official:") or key not in official:
            raise MbenchError(f"{name}: the rule refers to {ref!r}, which the dataset does not define",
                              expected=f"one of {['official:' + k for k in official] or 'no official lists'}",
                              found=ref, fix="point data.root at the complete release (with its own split files)")
        missing = [c for c in official[key] if c not in known]
        if missing:
            raise MbenchError(f"{name}: the dataset's {key!r} list names cases that are not in the data",
                              found=f"{len(missing)} missing, e.g. {missing[:3]}",
                              fix="point data.root at the complete release")
        return sorted(official[key])

    splits = {split: official_list(ref) for split, ref in (rule.get("official") or {}).items()}
    for split, n in (rule.get("n_official") or {}).items():
        if len(splits.get(split, [])) != int(n):
            raise MbenchError(f"{name}: the dataset's official {split!r} list has the wrong size",
                              expected=f"{n} cases", found=f"{len(splits.get(split, []))}",
                              fix="point data.root at the complete, unmodified release")
    sizes = rule.get("sizes") or {}
    if not sizes and not rule.get("fractions"):
        return splits
    taken = {c for ids in splits.values() for c in ids}
    pool_ref = rule.get("pool", "all")
    pool_cases = [c for c in case_ids if c not in taken] if pool_ref == "all" else official_list(pool_ref)
    if rule.get("fractions"):
        return {**splits, **_stratified_cut(rule, pool_cases, groups, attributes or {}, seed, name)}
    pool_groups = sorted({groups[c] for c in pool_cases})
    expected = rule.get("n_pool")
    if expected is not None and len(pool_groups) != int(expected):
        raise MbenchError(f"{name}: the split rule expects {expected} {pool_ref} groups in the data",
                          expected=str(expected), found=str(len(pool_groups)),
                          fix="point data.root at the complete, unmodified release")
    fixed = sum(int(v) for v in sizes.values() if v != "rest")
    if fixed > len(pool_groups) or (fixed != len(pool_groups) and "rest" not in sizes.values()):
        raise MbenchError(f"{name}: split sizes do not fit the pool", expected=f"sizes summing to {len(pool_groups)}",
                          found=str(sizes), fix="regenerate the manifest for this dataset")
    order = [pool_groups[i] for i in np.random.default_rng(seed).permutation(len(pool_groups))]
    start, by_group = 0, {}
    for split, size in sizes.items():
        n = len(pool_groups) - fixed if size == "rest" else int(size)
        for g in order[start:start + n]:
            by_group[g] = split
        start += n
    for split in sizes:
        splits[split] = sorted(c for c in pool_cases if by_group.get(groups[c]) == split)
    return splits


def _stratified_cut(rule: dict, cases: list[str], groups: dict[str, str], attributes: dict[str, dict[str, str]],
                    seed: int, name: str) -> dict[str, list[str]]:
    """Per stratum (case attribute ``rule["stratify"]``): permute its sorted groups with a seed drawn from
    (``seed``, stratum name) and cut ``round(fraction * n)`` groups per split, in order; ``"rest"`` takes the rest.

    Seeding per stratum makes a label-subset view (e.g. 4 of 7 classes) get the same assignment as the full set.
    """
    key, fractions = rule["stratify"], rule["fractions"]
    stratum_of: dict[str, str] = {}
    for c in cases:
        value = attributes.get(c, {}).get(key)
        if value is None:
            raise MbenchError(f"{name}: case {c!r} has no {key!r} attribute to stratify by",
                              fix="use an adapter whose case_attributes() gives it")
        if stratum_of.setdefault(groups[c], value) != value:
            raise MbenchError(f"{name}: group {groups[c]!r} spans several {key!r} strata",
                              expected="one stratum per group", found=f"{stratum_of[groups[c]]!r} and {value!r}")
    out: dict[str, list[str]] = {split: [] for split in fractions}
    by_group: dict[str, str] = {}
    for stratum in sorted(set(stratum_of.values())):
        members = sorted(g for g, v in stratum_of.items() if v == stratum)
        code = int.from_bytes(hashlib.sha256(stratum.encode()).digest()[:4], "little")
        order = [members[i] for i in np.random.default_rng([seed, code]).permutation(len(members))]
        counts = {s: int(np.floor(float(f) * len(members) + 0.5)) for s, f in fractions.items() if f != "rest"}
        if sum(counts.values()) > len(members) or ("rest" not in fractions.values()
                                                   and sum(counts.values()) != len(members)):
            raise MbenchError(f"{name}: fractions do not fit stratum {stratum!r}", found=f"{len(members)} groups",
                              expected=f"fractions {fractions} whose counts fit")
        start = 0
        for split, f in fractions.items():
            n = len(members) - sum(counts.values()) if f == "rest" else counts[split]
            for g in order[start:start + n]:
                by_group[g] = split
            start += n
    for c in cases:
        out[by_group[groups[c]]].append(c)
    return {split: sorted(ids) for split, ids in out.items()}


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


def seeded_folds(ids: list[str], folds: list[str], seed: int) -> dict[str, list[str]]:
    """A seeded permutation of ``ids`` (each id one group) cut into ``len(folds)`` folds of equal size.

    Example:
        >>> s = seeded_folds([f"p{i}" for i in range(8)], ["fold1", "fold2"], seed=0)
        >>> {k: len(v) for k, v in s.items()}
        {'fold1': 4, 'fold2': 4}
    """
    if not folds or len(ids) % len(folds):
        raise MbenchError(f"{len(ids)} ids do not cut into {len(folds)} equal folds",
                          expected=f"a multiple of {len(folds)} ids", found=str(len(ids)))
    n = len(ids) // len(folds)
    order = [ids[i] for i in np.random.default_rng(seed).permutation(len(ids))]
    return {f: sorted(order[n * k:n * k + n]) for k, f in enumerate(folds)}


def write_manifest(path: Path, splits: dict[str, list[str]] | None, *, group_key: str, seed: int, method: str,
                   dataset: str, rule: dict | None = None) -> str:
    """Write a manifest (explicit ``splits`` or a ``rule``) as canonical JSON and return its sha256 (to pin)."""
    body: dict = {"dataset": dataset, "group_key": group_key, "seed": seed, "method": method}
    if splits is not None:
        body["splits"] = splits
    if rule is not None:
        body["rule"] = rule
    Path(path).write_text(json.dumps(body, indent=1, sort_keys=True) + "\n")
    return sha256_file(Path(path))
