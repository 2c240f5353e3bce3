"""Regenerate the WMH / stroke split manifests (run from the repository root).

    python tasks/wmh_stroke/make_splits.py

Phitidis et al. (paper 1): a fixed train / test split of 162 / 135 cases (Table 2), which the nnU-Net raw
layout carries itself (imagesTr vs imagesTs), and 5-fold cross-validation inside the training cases whose
fold models are ensembled. The data are private, so the folds are a seeded rule over the sorted training
patients (162 expected), not a list; every run records the expanded ids. The stand-in manifest applies the
same rule to the stand-in's 16 training cases. The card pins the hashes printed here.
"""

from pathlib import Path

from mbench.data.split import write_manifest

HERE = Path(__file__).parent / "splits"


def rule(n_pool: int) -> dict:
    base, extra = divmod(n_pool, 5)
    sizes = {f"fold{k}": base + (1 if k < extra else 0) for k in range(4)}
    sizes["fold4"] = "rest"
    return {"official": {"test": "official:test"}, "pool": "official:train", "n_pool": n_pool, "sizes": sizes}


for name, n_pool, dataset in (("svd_wmh_stroke.json", 162, "paper 1 SVD cohort (users' own data, nnU-Net raw layout)"),
                              ("standin.json", 16, "mbench stand-in (16 training / 14 test cases)")):
    print(name, write_manifest(HERE / name, None, group_key="patient", seed=2023, rule=rule(n_pool),
                               method="official train/test folders; seeded permutation of the sorted training "
                                      "patients cut into 5 folds", dataset=dataset))
