"""Regenerate the liver split manifests of this family (run from the repository root).

    python tasks/liver/make_splits.py

The papers (3 and 7) split by patient at random with exact counts and publish neither the lists nor a seed,
so these seeded splits (seed 2023) are the harness's fixed ones:

* LiTS: the 131 training volumes ``volume-0`` .. ``volume-130`` -> 91 / 26 / 14 (train / val / test).
* CHAOS MR T2-SPIR: the 20 training patients of the release -> 14 / 3 / 3. The stand-in writes the same
  patient ids, so it shares this manifest.
* LiTS stand-in: 24 volumes -> 14 / 4 / 6.

Each card pins the sha256 printed here.
"""

from pathlib import Path

import numpy as np
from mbench.data.split import write_manifest
from mbench.data.synthetic.liver import CHAOS_T2_PATIENTS

HERE = Path(__file__).parent
SEED = 2023


def count_split(ids: list[str], n_train: int, n_val: int, n_test: int, seed: int = SEED) -> dict[str, list[str]]:
    """A seeded random patient split with exact counts (each id is one patient)."""
    assert len(ids) == n_train + n_val + n_test, (len(ids), n_train, n_val, n_test)
    order = [ids[i] for i in np.random.default_rng(seed).permutation(len(ids))]
    return {"train": sorted(order[:n_train]), "val": sorted(order[n_train:n_train + n_val]),
            "test": sorted(order[n_train + n_val:])}


def method(counts: str) -> str:
    return f"patient-level random split with exact counts {counts} (papers 3 and 7), numpy permutation seed {SEED}"


if __name__ == "__main__":
    lits = [f"volume-{i}" for i in range(131)]
    print("lits.json", write_manifest(HERE / "splits" / "lits.json", count_split(lits, 91, 26, 14), group_key="patient",
                                      seed=SEED, method=method("91/26/14"), dataset="LiTS training (131 CT volumes)"))
    print("chaos_t2spir.json", write_manifest(HERE / "splits" / "chaos_t2spir.json",
                                              count_split(CHAOS_T2_PATIENTS, 14, 3, 3), group_key="patient", seed=SEED,
                                              method=method("14/3/3"),
                                              dataset="CHAOS MR training, T2-SPIR (20 patients)"))
    standin = [f"volume-{i}" for i in range(24)]
    print("lits_standin.json", write_manifest(HERE / "splits" / "lits_standin.json", count_split(standin, 14, 4, 6),
                                              group_key="patient", seed=SEED, method=method("14/4/6 (stand-in)"),
                                              dataset="mbench synthetic LiTS stand-in (24 volumes)"))
