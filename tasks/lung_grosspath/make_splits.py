"""Regenerate the lung gross-pathology fold manifest (run from the repository root).

    python tasks/lung_grosspath/make_splits.py

Gil et al. (paper 2): patient-grouped 5-fold CV, 3 of 15 patients tested per fold. The data are private,
so the manifest is a seeded rule over the sorted patient ids (15 expected), not a list: the same
patients.csv always gives the same folds, and every run records the expanded ids. The stand-in has
15 patients too, so one manifest serves both. The card pins the hash printed here.
"""

from pathlib import Path

from mbench.data.split import write_manifest

HERE = Path(__file__).parent / "splits"
FOLDS = {f"fold{k}": 3 for k in range(1, 6)}
rule = {"pool": "all", "n_pool": 15, "sizes": FOLDS}
print("lung_grosspath_folds.json",
      write_manifest(HERE / "lung_grosspath_folds.json", None, group_key="patient", seed=2023,
                     method="seeded permutation of the sorted patient ids cut into 5 folds of 3 patients",
                     dataset="lung gross pathology (15 patients; users' own data or the mbench stand-in)", rule=rule))
