"""Regenerate the CAMUS split manifests (run from the repository root).

    python tasks/camus/make_splits.py

The official CAMUS split: patients 1-450 (``training/``) for training, 451-500 (``testing/``) for testing.
Sourget et al. (MIUA 2023) do not say how they validate (their code holds out 2 images); the harness
holds out 45 training patients (10 %, seeded, both views of a patient together) for checkpoint selection,
leaving 405 for training. Cases are ``patientNNNN_{2CH,4CH}`` (end-diastole). The real manifest lists
the ids; the stand-in's is the same rule applied to its folders. Each card pins the hashes printed here.
"""

from pathlib import Path

from mbench.data.split import expand_rule, write_manifest

HERE = Path(__file__).parent / "splits"
SEED = 2019
METHOD = ("official CAMUS split (training/ = patients 1-450, testing/ = 451-500); validation = 10 % of the "
          "training patients, seeded (2019), grouped by patient")

cases = [f"patient{p:04d}_{v}" for p in range(1, 501) for v in ("2CH", "4CH")]
groups = {c: c.split("_")[0] for c in cases}
official = {"train": [c for c in cases if int(c[7:11]) <= 450], "test": [c for c in cases if int(c[7:11]) > 450]}
rule = {"official": {"test": "official:test"}, "pool": "official:train", "n_pool": 450,
        "sizes": {"val": 45, "train": "rest"}}
splits = expand_rule(rule, cases, groups, official, seed=SEED)
print("camus_ed.json", write_manifest(HERE / "camus_ed.json", splits, group_key="patient", seed=SEED, method=METHOD,
                                      dataset="CAMUS (500 patients, 2CH and 4CH, end-diastole)"))
standin_rule = {**rule, "n_pool": 40, "sizes": {"val": 4, "train": "rest"}}
print("camus_ed_standin.json", write_manifest(HERE / "camus_ed_standin.json", None, group_key="patient", seed=SEED,
                                              method=METHOD.replace("1-450", "the stand-in's training folder")
                                              .replace("451-500", "its testing folder"),
                                              dataset="mbench synthetic CAMUS stand-in (40 + 10 patients)",
                                              rule=standin_rule))
