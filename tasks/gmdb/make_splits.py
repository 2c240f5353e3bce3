"""Regenerate the GMDB split manifests (run from the repository root).

    python tasks/gmdb/make_splits.py

GMDB v1.0.3 defines its own sets: GMDB-Frequent train / test (the base classes) and GMDB-Rare (the novel classes,
1,105 images, with 10 gallery / test episodes in its metadata). The manifests are rules taking those lists from
the data; the paper early-stops on "the validation set" without defining one, so the harness carves 10 % of
each base class's training patients out as validation (a recorded choice). The real manifest pins the
GMDB-Rare size; the stand-in's does not. The card pins the sha256 printed here.
"""

from pathlib import Path

from mbench.data.split import write_manifest

HERE = Path(__file__).parent / "splits"
BASE = {"official": {"test": "official:frequent_test", "novel": "official:rare"}, "pool": "official:frequent_train",
        "stratify": "class", "fractions": {"val": 0.1, "train": "rest"}}
METHOD = ("GMDB-Frequent test and GMDB-Rare from the release's metadata; validation = 10 % of each base class's "
          "training patients (seeded), the rest train")
for name, extra, dataset in (("gmdb_v1.0.3.json", {"n_official": {"novel": 1105}}, "GMDB v1.0.3"),
                             ("standin.json", {}, "mbench synthetic GMDB stand-in")):
    print(name, write_manifest(HERE / name, None, group_key="patient", seed=2023, method=METHOD, dataset=dataset,
                               rule={**BASE, **extra}))
