"""Task-oriented networks (TON, paper 12) of action sequences, and the SVM procedure classifier on them.

Algorithm 1 of the paper: a procedure instance's actions (verb u_i, noun v_i), i = 1..N_A, become a bipartite
directed graph over the verb and noun vocabulary plus a start node, with the chronological edges start -> u_1,
u_i -> v_i and v_(i-1) -> u_i. ``P`` is its adjacency matrix and ``Q`` its ordinal matrix (an edge's number in
chronological order). Repeated edges are ``merged`` (P binary, Q the first occurrence's number) or kept as a
``multi``-edge graph (P counts, Q the sum of the occurrence numbers; the paper does not define Q for repeats: this
is the harness's choice). An instance's vector is Q flattened and divided by its Euclidean length (the notes'
reading of "divided by their respective lengths"), so that instances compare by direction.

:class:`TonSvmClassifier` implements :class:`~mbench.models.capabilities.SequenceClassifier`: the vocabulary is
taken from the training sequences (verbs and nouns unseen in training add no edges), then a scikit-learn SVM on the
vectors. The paper states neither kernel nor C: linear kernel, C = 1 by default (harness choice).

Example:
    >>> acts = [{"verb": "take", "noun": "swab"}, {"verb": "clean", "noun": "skin"}]
    >>> P, Q = ton_matrices(acts, ["clean", "take"], ["skin", "swab"])
    >>> int(Q[0, 2]), int(Q[2, 4]), int(Q[4, 1]), int(Q[1, 3])  # start->take, take->swab, swab->clean, clean->skin
    (1, 2, 3, 4)
"""

from __future__ import annotations

import numpy as np

from mbench.errors import MbenchError

__all__ = ["ton_matrices", "ton_vector", "TonSvmClassifier"]


def ton_matrices(actions: list[dict], verbs: list[str], nouns: list[str],
                 edges: str = "merged") -> tuple[np.ndarray, np.ndarray]:
    """(P, Q), each (1 + len(verbs) + len(nouns)) square: node 0 is the start, then verbs, then nouns."""
    if edges not in ("merged", "multi"):
        raise MbenchError("edges must be merged or multi", found=repr(edges))
    vi = {v: 1 + k for k, v in enumerate(verbs)}
    ni = {n: 1 + len(verbs) + k for k, n in enumerate(nouns)}
    size = 1 + len(verbs) + len(nouns)
    P, Q = np.zeros((size, size)), np.zeros((size, size))
    previous, number = 0, 0
    for act in actions:
        u, v = vi.get(act["verb"]), ni.get(act["noun"])
        for a, b in ((previous, u), (u, v)):
            number += 1  # the chronological edge number counts every edge, known to the vocabulary or not
            if a is None or b is None:
                continue
            if edges == "multi":
                P[a, b] += 1
                Q[a, b] += number
            elif P[a, b] == 0:
                P[a, b], Q[a, b] = 1, number
        previous = v
    return P, Q


def ton_vector(actions: list[dict], verbs: list[str], nouns: list[str], edges: str = "merged") -> np.ndarray:
    """Q flattened and scaled to unit Euclidean length (a graph without known edges stays zero)."""
    q = ton_matrices(actions, verbs, nouns, edges)[1].ravel()
    norm = np.linalg.norm(q)
    return q / norm if norm > 0 else q


class TonSvmClassifier:
    """A :class:`~mbench.models.capabilities.SequenceClassifier`: TON vectors + scikit-learn SVC."""

    def __init__(self, *, kernel: str = "linear", C: float = 1.0, edges: str = "merged") -> None:
        self.kernel, self.C, self.edges = kernel, C, edges
        self.verbs: list[str] = []
        self.nouns: list[str] = []
        self.svm = None
        self.n_classes = 0

    def represent(self, sequences: list[list[dict]]) -> np.ndarray:
        """(N, (1 + V + W)^2) unit TON vectors; before ``fit`` the vocabulary comes from ``sequences`` themselves."""
        verbs = self.verbs or sorted({a["verb"] for s in sequences for a in s})
        nouns = self.nouns or sorted({a["noun"] for s in sequences for a in s})
        return np.stack([ton_vector(s, verbs, nouns, self.edges) for s in sequences])

    def fit(self, sequences: list[list[dict]], labels: np.ndarray, *, n_classes: int, seed: int) -> dict:
        from sklearn.svm import SVC

        self.verbs = sorted({a["verb"] for s in sequences for a in s})
        self.nouns = sorted({a["noun"] for s in sequences for a in s})
        self.n_classes = n_classes
        x = self.represent(sequences)
        self.svm = SVC(kernel=self.kernel, C=self.C, decision_function_shape="ovr", random_state=seed).fit(x, labels)
        return {"n_train": len(sequences), "vocabulary": {"verbs": len(self.verbs), "nouns": len(self.nouns)},
                "dimension": int(x.shape[1]), "classes_seen": [int(c) for c in self.svm.classes_]}

    def predict(self, sequences: list[list[dict]]) -> np.ndarray:
        """(N, n_classes) one-vs-rest decision values; classes absent from training get the lowest score."""
        if self.svm is None:
            raise MbenchError("predict() called before fit()", fix="fit the model first")
        x = self.represent(sequences)
        seen = self.svm.classes_
        if len(seen) == 1:
            raw = np.ones((len(x), 1))
        else:
            raw = np.asarray(self.svm.decision_function(x)).reshape(len(x), -1)
            if len(seen) == 2:  # binary SVC: one column, positive = the second class
                raw = np.concatenate([-raw, raw], axis=1)
        out = np.full((len(x), self.n_classes), float(raw.min()) - 1.0)
        out[:, seen.astype(int)] = raw
        return out
