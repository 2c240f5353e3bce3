"""Regenerate the fundus split manifests (run from the repository root): ``python tasks/fundus/make_splits.py``.

Paper 21 (ToFi-ML) uses an 80:20 train:test split on every dataset, with no seed, no validation set and (judging by
its test-set class counts) no stratification; its lists are not published. The harness pins seeded 80:20 rules over
images (no release gives patient ids): the test set is ``ceil(0.2 n)`` images (scikit-learn's ``test_size=0.2``, which
reproduces the paper's 733 APTOS test images), unstratified as the paper. The rules expand against the dataset's
sorted image ids, so the same manifest serves every copy of the release; ``n_pool`` makes a partial copy an error.
Each card pins the sha256 printed here.
"""

import math
from pathlib import Path

from mbench.data.split import write_manifest

HERE = Path(__file__).parent / "splits"
SEED = 2023
DATASETS = {  # name: (real image count, stand-in image count)
    "aptos2019": (3662, 100),
    "ichallenge_amd": (400, 100),
    "origa": (650, 100),
}

if __name__ == "__main__":
    HERE.mkdir(exist_ok=True)
    for name, (n_real, n_standin) in DATASETS.items():
        for suffix, n in (("", n_real), ("_standin", n_standin)):
            rule = {"sizes": {"test": math.ceil(0.2 * n), "train": "rest"}, "n_pool": n}
            sha = write_manifest(HERE / f"{name}_80_20{suffix}.json", None, group_key="image", seed=SEED,
                                 method="seeded 80:20 holdout over images, unstratified (paper 21)",
                                 dataset=f"{name}{' stand-in' if suffix else ''}", rule=rule)
            print(f"{name}{suffix}: {sha}")
    # the harness's addition (notes: "add 5-fold CV so that variance and significance tests are possible"): APTOS in
    # five seeded folds of images (sizes as scikit-learn's KFold: the first n % 5 folds one image larger)
    for suffix, n in (("", 3662), ("_standin", 100)):
        sizes = {f"fold{k + 1}": n // 5 + (k < n % 5) for k in range(4)}
        rule = {"sizes": {**sizes, "fold5": "rest"}, "n_pool": n}
        sha = write_manifest(HERE / f"aptos2019_cv5{suffix}.json", None, group_key="image", seed=SEED,
                             method="seeded 5-fold partition over images, unstratified", dataset=f"aptos2019{suffix}",
                             rule=rule)
        print(f"aptos2019_cv5{suffix}: {sha}")
