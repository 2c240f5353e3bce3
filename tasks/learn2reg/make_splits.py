"""Regenerate the paper-20 manifests (run from the repository root): ``python tasks/learn2reg/make_splits.py``.

Learn2Reg AbdomenCTCT: paper 20's code takes cases 1, 4, 7, ..., 28 (``range(31)[1::3]``) as the 10 test cases
(45 pairs i < j) and the other 20 of the 30 training scans as the nnU-Net's training set (its predictions are the
registrar's inputs; the registrar itself trains on neither). AMOS MRI: the 8 test cases of the paper's notebook
(28 pairs). The stand-ins hold these very case ids, so real data and stand-in share one manifest per dataset. Each
card pins the sha256 printed here.
"""

from pathlib import Path

from mbench.data.split import write_manifest

HERE = Path(__file__).parent / "splits"

L2R_TEST = [f"AbdomenCTCT_{k:04d}" for k in range(31)[1::3]]
L2R_TRAIN = [f"AbdomenCTCT_{k:04d}" for k in range(1, 31) if f"AbdomenCTCT_{k:04d}" not in L2R_TEST]
AMOS_TEST = [f"amos_{k:04d}" for k in (548, 554, 558, 570, 583, 591, 593, 600)]

if __name__ == "__main__":
    HERE.mkdir(exist_ok=True)
    sha = write_manifest(HERE / "l2r_abdomenctct.json", {"test": L2R_TEST, "train": L2R_TRAIN}, group_key="patient",
                         seed=0, method="paper 20 code: test = cases range(31)[1::3], train = the rest of 1..30",
                         dataset="Learn2Reg AbdomenCTCT")
    print(f"l2r_abdomenctct: {sha}")
    sha = write_manifest(HERE / "amos_mr.json", {"test": AMOS_TEST}, group_key="patient", seed=0,
                         method="paper 20 notebook: the 8 AMOS MRI test cases", dataset="AMOS 2022 MRI")
    print(f"amos_mr: {sha}")
