"""Split manifests: pinned hashes, patient leaks and missing cases are errors."""

from __future__ import annotations

import json

import pytest

from mbench.data.split import SplitManifest, make_grouped_split, sha256_file, write_manifest
from mbench.errors import MbenchError
from mbench.paths import tasks_dir


def test_real_brats_manifest_reproduces_the_papers_sizes():
    path = tasks_dir() / "brats18" / "splits" / "brats18_hgg.json"
    m = SplitManifest.load(path, sha256_file(path))
    assert {k: len(v) for k, v in m.splits.items()} == {"train": 135, "val": 33, "test": 42}
    ids = [c for v in m.splits.values() for c in v]
    assert len(set(ids)) == 210 and all(c.startswith("Brats18_") for c in ids)
    # the manifest is exactly what the documented generator produces
    listed = (tasks_dir() / "brats18" / "splits" / "brats18_hgg_case_ids.txt").read_text().split()
    assert m.splits == make_grouped_split(listed, 0.2, 0.2, 2018)


def test_hash_mismatch_is_an_error(tmp_path):
    path = tmp_path / "split.json"
    sha = write_manifest(path, {"train": ["a"], "val": ["b"], "test": ["c"]}, group_key="patient", seed=0,
                         method="x", dataset="y")
    SplitManifest.load(path, sha)
    path.write_text(path.read_text().replace('"c"', '"d"'))
    with pytest.raises(MbenchError, match="does not match the hash pinned") as err:
        SplitManifest.load(path, sha)
    assert sha in str(err.value) and sha256_file(path) in str(err.value)


def test_a_patient_in_two_splits_is_an_error(tmp_path):
    path = tmp_path / "split.json"
    sha = write_manifest(path, {"train": ["p1", "p2"], "val": ["p3"], "test": ["p2"]}, group_key="patient", seed=0,
                         method="x", dataset="y")
    with pytest.raises(MbenchError, match="patient 'p2' leaks between splits '(test|train)' and '(test|train)'"):
        SplitManifest.load(path, sha)


def test_cases_of_one_patient_in_two_splits_is_a_leak(tmp_path):
    path = tmp_path / "split.json"
    sha = write_manifest(path, {"train": ["p1-scan1"], "val": [], "test": ["p1-scan2"]}, group_key="patient",
                         seed=0, method="x", dataset="y")
    m = SplitManifest.load(path, sha)
    with pytest.raises(MbenchError, match="patient 'p1' leaks"):
        m.check_disjoint({"p1-scan1": "p1", "p1-scan2": "p1"})


def test_missing_cases_in_the_data_are_an_error(tmp_path):
    path = tmp_path / "split.json"
    sha = write_manifest(path, {"train": ["a", "b"], "val": [], "test": ["c"]}, group_key="patient", seed=0,
                         method="x", dataset="y")
    with pytest.raises(MbenchError, match="1 case\\(s\\) of the split manifest are missing"):
        SplitManifest.load(path, sha).check_coverage(["a", "c"], "/data")


def test_grouped_split_is_deterministic_and_disjoint():
    ids = [f"p{i}" for i in range(50)]
    a, b = make_grouped_split(ids, 0.2, 0.2, 1), make_grouped_split(ids, 0.2, 0.2, 1)
    assert a == b and a != make_grouped_split(ids, 0.2, 0.2, 2)
    assert sorted(sum(a.values(), [])) == sorted(ids)
    assert json.dumps(a)  # plain data
