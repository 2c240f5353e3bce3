"""Regenerate the PanNuke split manifest (run from the repository root).

    python tasks/pannuke/make_splits.py

PanNuke's split is the release's own: three folds, ``Fold 1`` … ``Fold 3``. The manifest is a rule that
takes each fold from the data (the adapter's official lists), so it holds for the real release and
for the stand-in alike; the card pins its sha256, printed here.
"""

from pathlib import Path

from mbench.data.split import write_manifest

HERE = Path(__file__).parent
RULE = {"official": {f"fold{k}": f"official:fold{k}" for k in (1, 2, 3)}}
sha = write_manifest(HERE / "splits" / "pannuke_folds.json", None, group_key="image", seed=0, rule=RULE,
                     method="the release's three official folds (Fold 1, Fold 2, Fold 3), taken from the data",
                     dataset="PanNuke (Gamper et al. 2020), 3 folds")
print("pannuke_folds.json", sha)
