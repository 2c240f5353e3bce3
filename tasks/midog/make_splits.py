"""Regenerate the MIDOG 2021 split manifests (run from the repository root).

    python tasks/midog/make_splits.py

MIDOG 2021's file names are fixed by the release (001.tiff .. 200.tiff) and its scanner assignment by id range, so
the manifests are explicit id lists, one split per labelled scanner (domain), named as in paper 11:
A = Hamamatsu XR (001-050), B = Hamamatsu S360 (051-100), C = Aperio CS2 (101-150). Leica GT450 (151-200) has no
annotations and is left out. Every image is one tumour case, so no case crosses domains. The stand-in manifest
lists the stand-in's ids (the first ``n_per_scanner`` ids of each range). The card pins the printed hashes.
"""

from pathlib import Path

from mbench.data.split import write_manifest

HERE = Path(__file__).parent / "splits"
DOMAINS = {"A": 1, "B": 51, "C": 101}
METHOD = ("one split per labelled scanner by the release's id ranges: A = Hamamatsu XR 001-050, B = Hamamatsu S360 "
          "051-100, C = Aperio CS2 101-150 (paper 11's domains); Leica GT450 151-200 is unlabelled and not listed")

for name, n, dataset in [("midog2021.json", 50, "MIDOG 2021 training set (Zenodo 4643381)"),
                         ("midog2021_standin.json", 4, "mbench synthetic MIDOG 2021 stand-in (4 images per scanner)")]:
    splits = {d: [f"{first + k:03d}" for k in range(n)] for d, first in DOMAINS.items()}
    print(name, write_manifest(HERE / name, splits, group_key="image (tumour case)", seed=0, method=METHOD,
                               dataset=dataset))
