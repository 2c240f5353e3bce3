"""Regenerate the liver split manifests of this family (run from the repository root).

    python tasks/liver/make_splits.py

The papers (3 and 7) split by patient at random with exact counts and publish neither the lists nor a seed,
so these seeded splits (seed 2023) are the harness's fixed ones:

* LiTS: the 131 training volumes ``volume-0`` .. ``volume-130`` -> 91 / 26 / 14 (train / val / test).
* CHAOS MR T2-SPIR: the 20 training patients of the release -> 14 / 3 / 3. The stand-in writes the same
  patient ids, so it shares this manifest.
* LiTS stand-in: 24 volumes -> 14 / 4 / 6.
* DLDS: the patients with liver masks (paper 7: 66) -> 54 / 6 / 6 patients. The patient ids of that subset are
  not published, so this is a seeded rule (``n_pool`` 66: a release with another number of masked patients is
  refused) expanded over the patients the adapter finds; every series of a patient stays in its split.
* DLDS stand-in: 12 patients (16 series) -> 8 / 2 / 2 patients, explicit.

Each card pins the sha256 printed here.
"""

from pathlib import Path

import numpy as np
from mbench.data.split import write_manifest
from mbench.data.synthetic.liver import CHAOS_T2_PATIENTS

DLDS_STANDIN_PATIENTS = 12

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
    rule = {"pool": "all", "n_pool": 66, "sizes": {"train": 54, "val": 6, "test": 6}}
    print("dlds.json", write_manifest(HERE / "splits" / "dlds.json", None, group_key="patient", seed=SEED,
                                      method=method("54/6/6") + " over the DLDS patients with liver masks (rule)",
                                      dataset="DLDS, Duke Liver Dataset MRI, patients with liver masks (66)", rule=rule))
    patients = [f"{n + 1:04d}" for n in range(DLDS_STANDIN_PATIENTS)]
    cut = count_split(patients, 8, 2, 2)
    series = {p: [f"{p}-5", f"{p}-11"] if int(p) % 3 == 0 else [f"{p}-5"] for p in patients}  # generate_dlds
    print("dlds_standin.json", write_manifest(HERE / "splits" / "dlds_standin.json",
                                              {k: sorted(c for p in v for c in series[p]) for k, v in cut.items()},
                                              group_key="patient", seed=SEED, method=method("8/2/2 (stand-in)"),
                                              dataset="mbench synthetic DLDS stand-in (12 patients, 16 series)"))
