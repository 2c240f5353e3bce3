"""Regenerate the HECKTOR 2021 fold manifests (run from the repository root).

    python tasks/hecktor/make_splits.py

Paper 24: 5-fold CV over the 224 HECKTOR 2021 training patients; its folds are not published. The real manifest
is a seeded rule over the sorted patient ids (224 expected; one scan per patient, so patient = case), cut into
5 folds of 45, 45, 45, 45, 44 patients; every run records the expanded ids. The stand-in (20 patients) has its
own explicit manifest. The cards pin the hashes printed here.
"""

from pathlib import Path

from mbench.data.split import seeded_folds, write_manifest
from mbench.data.synthetic.hecktor import CENTRES

HERE = Path(__file__).parent / "splits"
FOLDS = [f"fold{k}" for k in range(1, 6)]
rule = {"pool": "all", "n_pool": 224, "sizes": dict(zip(FOLDS, [45, 45, 45, 45, 44]))}
print("hecktor21_folds.json",
      write_manifest(HERE / "hecktor21_folds.json", None, group_key="patient", seed=2021,
                     method="seeded permutation of the sorted PatientIDs cut into 5 folds (45/45/45/45/44)",
                     dataset="HECKTOR 2021 training set (224 patients)", rule=rule))
ids = sorted(f"{CENTRES[k % len(CENTRES)]}{k + 1:03d}" for k in range(20))  # the stand-in's ids (n_patients: 20)
splits = seeded_folds(ids, FOLDS, seed=2021)
print("hecktor21_standin_folds.json",
      write_manifest(HERE / "hecktor21_standin_folds.json", splits, group_key="patient", seed=2021,
                     method="seeded permutation of the 20 stand-in patients cut into 5 folds of 4",
                     dataset="mbench HECKTOR 2021 stand-in (20 patients)"))
