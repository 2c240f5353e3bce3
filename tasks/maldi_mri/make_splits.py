"""Regenerate the paper-13 manifests (run from the repository root): ``python tasks/maldi_mri/make_splits.py``.

Nothing is trained: every pair is registered on its own, so the manifest has one split, ``all`` (a rule over the
pair folders found). The stand-in rules pin their pair counts. Each card pins the sha256 printed here.
"""

from pathlib import Path

from mbench.data.split import write_manifest

HERE = Path(__file__).parent / "splits"

if __name__ == "__main__":
    HERE.mkdir(exist_ok=True)
    for name, n, dataset in (("maldi_mri_all", None, "MALDI-MRI section pairs (users' own)"),
                             ("maldi_mri_synthetic_standin", 4, "paper 13 synthetic design stand-in"),
                             ("maldi_mri_brain_standin", 3, "mouse-brain-like stand-in")):
        rule = {"sizes": {"all": "rest"}, **({"n_pool": n} if n else {})}
        sha = write_manifest(HERE / f"{name}.json", None, group_key="pair", seed=0,
                             method="every pair (no training)", dataset=dataset, rule=rule)
        print(f"{name}: {sha}")
