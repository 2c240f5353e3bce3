"""Regenerate the head-and-neck MRI -> SPR split manifest (run from the repository root).

    python tasks/hn_mri2spr/make_splits.py

Paper 19: 16 patients, 12 training, 1 validation, 3 test, chosen at random (no seed, ids unpublished). The data
are private, so the manifest is a seeded rule over the sorted patient folder names (16 expected): the same
folders always give the same split, and every run records the expanded ids. The stand-in has 16 patients too,
so one manifest serves both. The cards pin the hash printed here.
"""

from pathlib import Path

from mbench.data.split import write_manifest

HERE = Path(__file__).parent / "splits"
print("hn_mri2spr.json",
      write_manifest(HERE / "hn_mri2spr.json", None, group_key="patient", seed=2023,
                     method="seeded permutation of the 16 sorted patient ids: 12 train, 1 val, 3 test",
                     dataset="head-and-neck Dixon MRI + DECT SPR (16 patients; users' own data or the mbench stand-in)",
                     rule={"pool": "all", "n_pool": 16, "sizes": {"train": 12, "val": 1, "test": 3}}))
