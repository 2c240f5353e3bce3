"""Regenerate the Kvasir-SEG and Kvasir-Instrument split manifests (run from the repository root).

    python tasks/kvasir/make_splits.py

Kvasir-SEG has no official split; Sourget et al. (MIUA 2023) use 640 / 160 / 200 images, i.e. 20 % test,
then 20 % of the rest validation. The manifest is a seeded rule over the sorted image ids (1000 expected),
because the release's ids are not known here: the same release always gives the same split, and every
run records the expanded ids. Kvasir-Instrument ships its own ``train.txt`` / ``test.txt`` (472 / 118):
the test set is the official one, and 95 of the 472 official training images are validation (377 / 95).
The stand-in manifests apply the same rules at the stand-in's sizes. Each card pins the hashes printed here.
"""

from pathlib import Path

from mbench.data.split import write_manifest

HERE = Path(__file__).parent / "splits"
SEED = 2023


def seg_rule(n: int, test: int, val: int) -> dict:
    return {"pool": "all", "n_pool": n, "sizes": {"test": test, "val": val, "train": "rest"}}


def instrument_rule(n_train: int, val: int) -> dict:
    return {"official": {"test": "official:test"}, "pool": "official:train", "n_pool": n_train,
            "sizes": {"val": val, "train": "rest"}}


SEG = "seeded permutation of the sorted image ids: test = 200, val = 160, train = the rest (640), seed 2023"
INS = "official test.txt (118); seeded permutation of the official train.txt ids: val = 95, train = the rest (377)"
for name, rule, method, dataset in [
    ("kvasir_seg.json", seg_rule(1000, 200, 160), SEG, "Kvasir-SEG (1000 images)"),
    ("kvasir_seg_standin.json", seg_rule(100, 20, 16), SEG.replace("200", "20").replace("160", "16")
     .replace("640", "64"), "mbench synthetic Kvasir-SEG stand-in (100 images)"),
    ("kvasir_instrument.json", instrument_rule(472, 95), INS, "Kvasir-Instrument (590 images)"),
    ("kvasir_instrument_standin.json", instrument_rule(60, 12), INS.replace("118", "15").replace("95", "12")
     .replace("377", "48"), "mbench synthetic Kvasir-Instrument stand-in (75 images)"),
]:
    print(name, write_manifest(HERE / name, None, group_key="image", seed=SEED, method=method, dataset=dataset,
                               rule=rule))
