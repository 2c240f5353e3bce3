"""Regenerate the Trauma THOMPSON split manifests (run from the repository root) and print the hashes to pin:

    python tasks/trauma_thompson/make_splits.py

* Action recognition (paper 16): the release's own clip-level split, 70 / 10 / 20 % = 714 / 102 / 204 clips, read
  from its annotation files (train, validation, test timestamps). The real manifest pins those sizes; the stand-in's
  pins its own (same 70 / 10 / 20 cut). Groups are clips, as in the paper (a video's clips may fall in train and
  test; the protocol reports how many test clips share a video with training).
* Task graphs (paper 12): every procedure instance (video) of the labelled annotations in one split ``all``, which
  the leave-one-out protocol rotates over. The paper gives no instance count (62 or 99 videos, paper 16 says both),
  so the real manifest does not pin it; the stand-in's pins its 50 videos.
"""

from pathlib import Path

from mbench.data.split import write_manifest

HERE = Path(__file__).parent / "splits"
OFFICIAL = {"train": "official:train", "val": "official:validation", "test": "official:test"}
AR_METHOD = "the release's clip-level train / validation / test annotation files (70 / 10 / 20 %)"
TON_METHOD = "every labelled procedure instance in one split; leave-one-out over them"

if __name__ == "__main__":
    HERE.mkdir(exist_ok=True)
    for name, sizes, dataset in (("ar_release.json", {"train": 714, "val": 102, "test": 204}, "Trauma THOMPSON"),
                                 ("ar_standin.json", {"train": 356, "val": 51, "test": 102},
                                  "mbench synthetic Trauma THOMPSON stand-in")):
        print(name, write_manifest(HERE / name, None, group_key="clip", seed=0, method=AR_METHOD, dataset=dataset,
                                   rule={"official": OFFICIAL, "n_official": sizes}))
    for name, extra, dataset in (("ton_release.json", {}, "Trauma THOMPSON"),
                                 ("ton_standin.json", {"n_pool": 50}, "mbench synthetic Trauma THOMPSON stand-in")):
        print(name, write_manifest(HERE / name, None, group_key="video", seed=0, method=TON_METHOD, dataset=dataset,
                                   rule={"sizes": {"all": "rest"}, **extra}))
