"""Regenerate the shoulder-implant split manifest (run from the repository root).

    python tasks/shoulder_implant/make_splits.py

Paper 9 (Mishra et al. 2023) splits 70 % train / 30 % test at random, with no validation set and no seed, and then
reports the best test results over its tuning: model selection on the test set. The harness fixes this (a recorded
deviation): per class (stratified), a seeded permutation of the patients (images, when the data have no patient
column) puts round(0.30 n) in test and round(0.15 n) in a validation split carved out of the paper's training
share; the rest train. Each class is permuted with a seed drawn from (seed, class name), so the Depuy-4 and
non-Depuy-3 views get exactly the assignment of the 7-class task. The data are private, so the manifest is this
rule, not a list; the stand-in has the paper's class counts, and one manifest serves every card. The cards pin the
sha256 printed here.
"""

from pathlib import Path

from mbench.data.split import write_manifest

HERE = Path(__file__).parent / "splits"
RULE = {"pool": "all", "stratify": "class", "fractions": {"test": 0.30, "val": 0.15, "train": "rest"}}
print("shoulder_implant.json",
      write_manifest(HERE / "shoulder_implant.json", None, group_key="patient", seed=2023, rule=RULE,
                     method="per class: seeded permutation of the patients, 30 % test, 15 % validation (carved out "
                            "of the paper's 70 % training share), the rest train",
                     dataset="shoulder implant AP radiographs (users' own data or the mbench stand-in)"))
