"""Regenerate the BUSI federated and centralised split manifests (run from the repository root).

    python tasks/busi/make_splits.py

BUSI's file names are fixed by the release (``benign (1)`` .. ``benign (437)``, ``malignant (1)`` .. ``(210)``,
``normal (1)`` .. ``(133)``), so the manifests are explicit id lists. Paper 23's partition cannot be reproduced
(its counts need test / train overlap, and client 3 is the BUS B dataset, not in BUSI), so the harness keeps its
class pattern on BUSI alone, disjoint by construction:

* per class, the sorted ids are permuted with seed 2023 and cut in order: server test first (about 20 %), then
  client 1, client 2, client 3;
* client 1 = benign + normal, client 2 = malignant + normal (the paper's label skew), client 3 = benign + malignant
  (standing in for BUS B, which has no normal images);
* inside each client a seeded 20 % is the local test set (``<client>_test``), the rest ``<client>_train``.

The centralised counterpart (busi-seg) pools the same ids: train = all client train sets, val = all client test
sets, test = the server test set. The stand-in manifests apply the paper's pattern scaled by 1/10 to the stand-in
(61 benign, 27 malignant, 13 normal; client 3's images are the stand-in's "source B" images, the last of their
class). Each card pins the hashes printed here.
"""

from pathlib import Path

import numpy as np

from mbench.data.split import write_manifest

HERE = Path(__file__).parent / "splits"
SEED = 2023
COUNTS = {"benign": 437, "malignant": 210, "normal": 133}
# per class: (server, client1, client2, client3) sizes, in the order cut from the seeded permutation
REAL = {"benign": (87, 250, 0, 100), "malignant": (42, 0, 128, 40), "normal": (27, 53, 53, 0)}
STANDIN_COUNTS = {"benign": 61, "malignant": 27, "normal": 13}
# stand-in: client 3 takes the last (source B) ids of its classes; the rest is permuted as above
STANDIN = {"benign": (10, 40, 0, 11), "malignant": (2, 0, 20, 5), "normal": (3, 5, 5, 0)}
CLIENTS = ("client1", "client2", "client3")


def partition(counts: dict[str, int], sizes: dict[str, tuple[int, ...]], source_b_last: bool) -> dict[str, list[str]]:
    rng = np.random.default_rng(SEED)
    server: list[str] = []
    clients: dict[str, list[str]] = {c: [] for c in CLIENTS}
    for cls, n in counts.items():
        s, c1, c2, c3 = sizes[cls]
        assert s + c1 + c2 + c3 == n, cls
        ids = [f"{cls} ({i})" for i in range(1, n + 1)]
        if source_b_last:
            clients["client3"] += ids[n - c3:]
            ids = ids[:n - c3]
            order = [ids[i] for i in rng.permutation(len(ids))]
            cuts = (s, c1, c2)
        else:
            order = [ids[i] for i in rng.permutation(sorted(range(n), key=lambda i: ids[i]))]
            cuts = (s, c1, c2, c3)
        start = 0
        for name, k in zip(("server", *CLIENTS), cuts):
            (server if name == "server" else clients[name]).extend(order[start:start + k])
            start += k
    out: dict[str, list[str]] = {}
    for c in CLIENTS:
        ids = sorted(clients[c])
        perm = [ids[i] for i in rng.permutation(len(ids))]
        n_test = int(round(0.2 * len(ids)))
        out[f"{c}_train"], out[f"{c}_test"] = sorted(perm[n_test:]), sorted(perm[:n_test])
    out["test"] = sorted(server)
    return out


def centralised(fed: dict[str, list[str]]) -> dict[str, list[str]]:
    return {"train": sorted(i for c in CLIENTS for i in fed[f"{c}_train"]),
            "val": sorted(i for c in CLIENTS for i in fed[f"{c}_test"]), "test": fed["test"]}


FED = ("per class a seeded permutation (seed 2023) of the sorted ids cut into server test / client1 / client2 / "
       "client3 ({sizes}); 20 % of each client (seeded) is its local test set")
for tag, counts, sizes, b_last, dataset in [
    ("", COUNTS, REAL, False, "BUSI, Dataset_BUSI_with_GT (780 images)"),
    ("_standin", STANDIN_COUNTS, STANDIN, True, "mbench synthetic BUSI stand-in (101 images)"),
]:
    fed = partition(counts, sizes, b_last)
    method = FED.format(sizes=", ".join(f"{k}: {v}" for k, v in sizes.items()))
    if b_last:
        method += "; client3 = the last (source B) ids of its classes"
    print(f"busi_federated{tag}.json", write_manifest(HERE / f"busi_federated{tag}.json", fed, group_key="image",
                                                      seed=SEED, method=method, dataset=dataset))
    print(f"busi_seg{tag}.json", write_manifest(HERE / f"busi_seg{tag}.json", centralised(fed), group_key="image",
                                                seed=SEED, method="the federated partition pooled: train = client "
                                                "train sets, val = client test sets, test = server test",
                                                dataset=dataset))
