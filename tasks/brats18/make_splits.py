"""Regenerate the BraTS 2018 split manifests of this family (run from the repository root).

    python tasks/brats18/make_splits.py

Real data: the 210 HGG case ids of the BraTS 2018 training release (``splits/brats18_hgg_case_ids.txt``),
split by patient as in M-VAAL (Khanal et al. 2023): 20 % test, then 20 % of the rest validation,
rounded down, giving 135 / 33 / 42 patients. The paper's own random split is not published, so
this seeded split (seed 2018) is the harness's fixed one.

Stand-in: the case ids the synthetic generator writes for the card's stand-in parameters, split the
same way. Each card pins the sha256 printed here.
"""

from pathlib import Path

from mbench.data.split import make_grouped_split, write_manifest

HERE = Path(__file__).parent
SEED = 2018
METHOD = "patient-level random split: test = floor(0.2 n), val = floor(0.2 (n - test)), seed 2018"

ids = (HERE / "splits" / "brats18_hgg_case_ids.txt").read_text().split()
sha = write_manifest(HERE / "splits" / "brats18_hgg.json", make_grouped_split(ids, 0.2, 0.2, SEED),
                     group_key="patient", seed=SEED, method=METHOD, dataset="BraTS 2018 training, HGG (210 patients)")
print("brats18_hgg.json", sha)

standin_ids = [f"Brats18_SYN_{i + 1:03d}_1" for i in range(120)]
sha = write_manifest(HERE / "splits" / "standin.json", make_grouped_split(standin_ids, 0.2, 0.2, SEED),
                     group_key="patient", seed=SEED, method=METHOD, dataset="mbench synthetic BraTS 2018 stand-in")
print("standin.json", sha)
