"""Regenerate the COVID-QU-Ex split manifests (run from the repository root).

    python tasks/covid_qu_ex/make_splits.py

The split is the release's own: its ``Train`` / ``Val`` / ``Test`` folders. The manifests are rules that take
each list from the data (the adapter's official lists) and pin their sizes: 3,728 / 932 / 1,166 images for the
"Infection Segmentation Data" subset M-VAAL uses (Khanal et al. 2023, Sect. 3), and the stand-in's own sizes.
The cards pin the sha256 printed here.
"""

from pathlib import Path

from mbench.data.split import write_manifest
from mbench.data.synthetic.covid_qu_ex import DEFAULT_COUNTS

HERE = Path(__file__).parent / "splits"
OFFICIAL = {s: f"official:{s}" for s in ("train", "val", "test")}
METHOD = "the release's Train / Val / Test folders, taken from the data, sizes pinned"
for name, sizes, dataset in (
        ("covid_qu_ex_infection.json", {"train": 3728, "val": 932, "test": 1166},
         "COVID-QU-Ex, Infection Segmentation Data (5,826 images)"),
        ("standin.json", {s.lower(): sum(c) for s, c in DEFAULT_COUNTS.items()},
         "mbench synthetic COVID-QU-Ex stand-in")):
    rule = {"official": OFFICIAL, "n_official": sizes}
    print(name, write_manifest(HERE / name, None, group_key="image", seed=0, method=METHOD, dataset=dataset,
                               rule=rule))
