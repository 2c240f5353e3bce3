"""Regenerate the MSD brain-tumour split manifests (run from the repository root).

    python tasks/msd_brain/make_splits.py

Paper 17 fixes no split (a user-chosen ratio). mbench fixes one: the 484 labelled cases of MSD
Task01_BrainTumour (dataset.json's ``training`` list) are permuted with seed 17 and cut into 97 test
cases (20 %), 39 validation cases (10 % of the rest) and 348 training cases. MSD case ids are
anonymised, one case per patient. The stand-in manifest applies the same rule to its 20 cases.
"""

from pathlib import Path

from mbench.data.split import write_manifest

HERE = Path(__file__).parent / "splits"
for name, n_pool, sizes, dataset in (
        ("msd_task01.json", 484, {"test": 97, "val": 39, "train": "rest"}, "MSD Task01_BrainTumour (484 labelled)"),
        ("standin.json", 20, {"test": 4, "val": 3, "train": "rest"}, "mbench stand-in (20 cases)")):
    print(name, write_manifest(HERE / name, None, group_key="case", seed=17,
                               rule={"pool": "all", "n_pool": n_pool, "sizes": sizes},
                               method="seeded permutation of the sorted labelled cases: test, val, train",
                               dataset=dataset))
