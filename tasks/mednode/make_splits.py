"""Regenerate the MED-NODE manifests (run from the repository root): ``python tasks/mednode/make_splits.py``.

Paper 18 trains nothing: every image is separated on its own, so the manifest has one split, ``all``. The paper
used 85 of the 170 images (51 naevus + 34 melanoma) after excluding hairy or poor-quality ones, but did not publish
which; the harness evaluates all 170 (a rule over the release's sorted ids with ``n_pool`` = 170, so a partial copy
is an error). The stand-in has the paper's 85 images. Each card pins the sha256 printed here.
"""

from pathlib import Path

from mbench.data.split import write_manifest

HERE = Path(__file__).parent / "splits"

if __name__ == "__main__":
    HERE.mkdir(exist_ok=True)
    for suffix, n in (("", 170), ("_standin", 85)):
        sha = write_manifest(HERE / f"mednode_all{suffix}.json", None, group_key="image", seed=0,
                             method="every image (no training)", dataset=f"MED-NODE{' stand-in' if suffix else ''}",
                             rule={"sizes": {"all": "rest"}, "n_pool": n})
        print(f"mednode{suffix}: {sha}")
