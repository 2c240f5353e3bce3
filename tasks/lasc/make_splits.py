"""Regenerate the LASC 2018 fold manifests (run from the repository root).

    python tasks/lasc/make_splits.py

Paper 24: 4-fold CV over the 100 training scans of the 2018 Atrial Segmentation Challenge; its folds are not
published. The real manifest is a seeded rule over the sorted case ids (100 expected) cut into 4 folds of 25.
The release does not link scans to patients, so each scan is its own group. The stand-in (16 scans) has its own
explicit manifest. The card pins the hashes printed here.
"""

from pathlib import Path

from mbench.data.split import seeded_folds, write_manifest
from mbench.data.synthetic.registry import generate_standin

HERE = Path(__file__).parent / "splits"
FOLDS = [f"fold{k}" for k in range(1, 5)]
rule = {"pool": "all", "n_pool": 100, "sizes": {f: 25 for f in FOLDS}}
print("lasc18_folds.json",
      write_manifest(HERE / "lasc18_folds.json", None, group_key="scan", seed=2018,
                     method="seeded permutation of the sorted case ids cut into 4 folds of 25",
                     dataset="2018 Atrial Segmentation Challenge training set (100 LGE-MRI scans)", rule=rule))
root = generate_standin("lasc2018", {})
ids = sorted(p.name for p in (root / "Training Set").iterdir() if p.is_dir())
splits = seeded_folds(ids, FOLDS, seed=2018)
print("lasc18_standin_folds.json",
      write_manifest(HERE / "lasc18_standin_folds.json", splits, group_key="scan", seed=2018,
                     method="seeded permutation of the 16 stand-in scans cut into 4 folds of 4",
                     dataset="mbench LASC 2018 stand-in (16 scans)"))
