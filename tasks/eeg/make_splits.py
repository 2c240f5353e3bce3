"""Regenerate the EEG split manifests and print their hashes (run from the repository root):
``python tasks/eeg/make_splits.py``.

Paper 14 gives no ratios, seeds or lists. The harness pins seeded rules over the adapter's groups:

* subject-disjoint cards (adapter ``group_by: subject``): whole subjects are cut into train / val / test; the
  manifest check refuses any subject in two splits, so subject leakage cannot happen;
* within-subject cards (``group_by: recording``): whole recordings (one subject x one stimulus) are cut, so subjects
  recur across splits (the paper's regime) but no window of a recording is in two splits (stricter than the paper,
  which mixed the windows of a recording).

``n_pool`` pins the expected number of groups, so a partial copy of a release is an error (omitted for NMED-H, whose
release layout could not be checked here).
"""

from pathlib import Path

from mbench.data.split import write_manifest

HERE = Path(__file__).parent / "splits"
SEED = 2023
RULES = {  # name: (real rule, stand-in rule)
    "nmedt_disjoint": ({"test": 4, "val": 2}, 20, {"test": 1, "val": 1}, 6),
    "nmedt_within": ({"test": 30, "val": 30}, 200, {"test": 10, "val": 10}, 60),
    "nmedh_disjoint": ({"test": 8, "val": 4}, None, {"test": 2, "val": 2}, 12),
    "nmedh_within": ({"test": 30, "val": 30}, None, {"test": 2, "val": 2}, 12),
    "seed_disjoint": ({"test": 3, "val": 2}, 15, {"test": 1, "val": 1}, 5),
    "seed_within": ({"test": 100, "val": 100}, 675, {"test": 15, "val": 15}, 75),
}

if __name__ == "__main__":
    HERE.mkdir(exist_ok=True)
    for name, (real, n_real, standin, n_standin) in RULES.items():
        for suffix, sizes, n in (("", real, n_real), ("_standin", standin, n_standin)):
            rule = {"sizes": {**sizes, "train": "rest"}, **({"n_pool": n} if n else {})}
            key = "subject" if "disjoint" in name else "recording"
            sha = write_manifest(HERE / f"{name}{suffix}.json", None, group_key=key, seed=SEED,
                                 method=f"seeded cut of whole {key}s", dataset=name + suffix, rule=rule)
            print(f"{name}{suffix}: {sha}")
