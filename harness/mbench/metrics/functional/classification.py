"""Classification metrics: accuracy, top-k, precision / recall / F1, ROC AUC, average precision, Cohen's kappa.

Class labels are integers ``0 .. C-1``. Where a metric needs hard labels, a ``(n, C)`` score matrix is accepted
and turned into labels by ``argmax`` (first maximum). Definitions follow scikit-learn, with ``zero_division=0``.

Example:
    >>> import numpy as np
    >>> y = np.array([0, 1, 2, 2])
    >>> p = np.array([0, 2, 2, 2])
    >>> accuracy(p, y), balanced_accuracy(p, y), round(f1_score(p, y, average="macro"), 4)
    (0.75, 0.6666666666666666, 0.6)
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from scipy.stats import rankdata

from mbench.errors import MbenchError

__all__ = [
    "accuracy",
    "average_precision",
    "balanced_accuracy",
    "cohen_kappa",
    "confusion_matrix",
    "f1_score",
    "mean_average_precision",
    "precision_score",
    "recall_score",
    "roc_auc",
    "binary_specificity",
    "top_k_accuracy",
]

Average = Literal["macro", "weighted", "micro", "binary"]


def _labels(prediction: np.ndarray) -> np.ndarray:
    pred = np.asarray(prediction)
    if pred.ndim == 2:
        return np.argmax(pred, axis=1)
    return pred.ravel()


def _pair(prediction: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    pred, y = _labels(prediction), np.asarray(target).ravel()
    if pred.shape != y.shape:
        raise MbenchError("predictions and targets differ in length", expected=f"{y.size} predictions",
                          found=f"{pred.size}", fix="pass one prediction (label or score row) per sample")
    if y.size == 0:
        raise MbenchError("classification metric of zero samples", expected="at least one sample", found="none")
    return pred.astype(np.int64), y.astype(np.int64)


def _check_average(average: str, allowed: tuple[str, ...]) -> None:
    if average not in allowed:
        raise MbenchError(f"invalid average {average!r}", expected=f"one of {list(allowed)}", found=repr(average))


def confusion_matrix(prediction: np.ndarray, target: np.ndarray, n_classes: int | None = None) -> np.ndarray:
    """``C[i, j]`` = number of samples of true class ``i`` predicted as ``j``.

    Empty inputs:
        Zero samples raise :class:`~mbench.errors.MbenchError`.

    Example:
        >>> import numpy as np
        >>> confusion_matrix(np.array([0, 1, 1]), np.array([0, 0, 1])).tolist()
        [[1, 1], [0, 1]]
    """
    pred, y = _pair(prediction, target)
    if min(pred.min(), y.min()) < 0:
        raise MbenchError("negative class label", expected="labels 0 .. C-1", found=f"min {min(pred.min(), y.min())}")
    n = int(max(pred.max(), y.max())) + 1 if n_classes is None else int(n_classes)
    return np.bincount(y * n + pred, minlength=n * n).reshape(n, n)


def accuracy(prediction: np.ndarray, target: np.ndarray) -> float:
    """Fraction of samples whose predicted label equals the target.

    Empty inputs:
        Zero samples raise :class:`~mbench.errors.MbenchError`.

    Example:
        >>> import numpy as np
        >>> accuracy(np.array([[0.9, 0.1], [0.2, 0.8]]), np.array([0, 0]))
        0.5
    """
    pred, y = _pair(prediction, target)
    return float(np.mean(pred == y))


def balanced_accuracy(prediction: np.ndarray, target: np.ndarray) -> float:
    """Mean over the classes present in the target of the per-class recall (scikit-learn's definition).

    Empty inputs:
        Classes absent from the target do not enter the mean; zero samples raise.

    Example:
        >>> import numpy as np
        >>> balanced_accuracy(np.array([0, 0, 0, 1]), np.array([0, 0, 1, 1]))
        0.75
    """
    cm = confusion_matrix(prediction, target)
    support = cm.sum(axis=1)
    present = support > 0
    return float(np.mean(np.diag(cm)[present] / support[present]))


def top_k_accuracy(scores: np.ndarray, target: np.ndarray, k: int = 5, *,
                   average: Literal["micro", "macro"] = "micro") -> float:
    """Fraction of samples whose true class is among the ``k`` highest scores.

    ``average="micro"`` averages over samples (images), as scikit-learn's ``top_k_accuracy_score``;
    ``"macro"`` averages the per-class top-k accuracy over the classes present in the target (over classes, as
    few-shot and retrieval papers report it). Ties are broken like scikit-learn (the higher class index first).

    Empty inputs:
        Zero samples raise :class:`~mbench.errors.MbenchError`.

    Example:
        >>> import numpy as np
        >>> s = np.array([[0.5, 0.3, 0.2], [0.1, 0.2, 0.7], [0.3, 0.4, 0.3]])
        >>> top_k_accuracy(s, np.array([1, 0, 0]), k=2), top_k_accuracy(s, np.array([1, 0, 0]), k=2, average="macro")
        (0.3333333333333333, 0.5)
    """
    _check_average(average, ("micro", "macro"))
    s, y = np.asarray(scores, dtype=float), np.asarray(target).ravel().astype(np.int64)
    if s.ndim != 2 or s.shape[0] != y.size or y.size == 0:
        raise MbenchError("top-k accuracy needs a score matrix",
                          expected=f"(n_samples, n_classes) with n = {y.size} > 0",
                          found=f"shape {s.shape}")
    if not 1 <= int(k):
        raise MbenchError("invalid k", expected="k >= 1", found=repr(k))
    ranked = np.argsort(s, axis=1, kind="mergesort")[:, ::-1][:, :int(k)]
    hits = (ranked == y[:, None]).any(axis=1)
    if average == "micro":
        return float(np.mean(hits))
    classes = np.unique(y)
    return float(np.mean([hits[y == c].mean() for c in classes]))


def _prf(prediction: np.ndarray, target: np.ndarray, average: str) -> tuple[float, float, float]:
    _check_average(average, ("macro", "weighted", "micro", "binary"))
    cm = confusion_matrix(prediction, target)
    if average == "binary":  # scikit-learn average="binary": the positive class 1 only
        if cm.shape[0] > 2:
            raise MbenchError("average='binary' needs labels 0 / 1", expected="two classes",
                              found=f"{cm.shape[0]} classes", fix="use macro, weighted or micro")
        cm = np.pad(cm, ((0, 2 - cm.shape[0]), (0, 2 - cm.shape[0])))
        tp, pp, tr = float(cm[1, 1]), float(cm[:, 1].sum()), float(cm[1, :].sum())
        p, r = (tp / pp if pp else 0.0), (tp / tr if tr else 0.0)
        return p, r, (2 * p * r / (p + r) if p + r else 0.0)
    tp = np.diag(cm).astype(float)
    pred_pos, true_pos = cm.sum(axis=0).astype(float), cm.sum(axis=1).astype(float)
    labels = (pred_pos + true_pos) > 0  # scikit-learn: the labels seen in either target or prediction
    if average == "micro":
        tp_s, pp_s, tr_s = tp[labels].sum(), pred_pos[labels].sum(), true_pos[labels].sum()
        p = tp_s / pp_s if pp_s else 0.0
        r = tp_s / tr_s if tr_s else 0.0
        return p, r, (2 * p * r / (p + r) if p + r else 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.where(pred_pos > 0, tp / pred_pos, 0.0)[labels]
        r = np.where(true_pos > 0, tp / true_pos, 0.0)[labels]
        f = np.where(p + r > 0, 2 * p * r / (p + r), 0.0)
    if average == "macro":
        return float(p.mean()), float(r.mean()), float(f.mean())
    weights = true_pos[labels]
    if weights.sum() == 0:
        return 0.0, 0.0, 0.0
    return (float(np.average(p, weights=weights)), float(np.average(r, weights=weights)),
            float(np.average(f, weights=weights)))


def precision_score(prediction: np.ndarray, target: np.ndarray, *, average: Average = "macro") -> float:
    """Precision over classes, averaged ``macro`` (unweighted), ``weighted`` (by support) or ``micro`` (pooled).

    Empty inputs:
        A class never predicted has precision 0 (``zero_division=0``); labels seen in neither target nor
        prediction are left out.

    Example:
        >>> import numpy as np
        >>> precision_score(np.array([0, 1, 1, 1]), np.array([0, 1, 0, 1]))
        0.8333333333333333
    """
    return _prf(prediction, target, average)[0]


def recall_score(prediction: np.ndarray, target: np.ndarray, *, average: Average = "macro") -> float:
    """Recall over classes, averaged ``macro``, ``weighted`` or ``micro`` (scikit-learn's definitions).

    Empty inputs:
        A label only predicted, never true, has recall 0 (``zero_division=0``).

    Example:
        >>> import numpy as np
        >>> recall_score(np.array([0, 1, 1, 1]), np.array([0, 1, 0, 1]))
        0.75
    """
    return _prf(prediction, target, average)[1]


def f1_score(prediction: np.ndarray, target: np.ndarray, *, average: Average = "macro") -> float:
    """F1 (harmonic mean of precision and recall) over classes, averaged ``macro``, ``weighted`` or ``micro``.

    Empty inputs:
        A class with precision + recall = 0 has F1 0 (``zero_division=0``).

    Example:
        >>> import numpy as np
        >>> round(f1_score(np.array([0, 1, 1, 1]), np.array([0, 1, 0, 1])), 4)
        0.7333
    """
    return _prf(prediction, target, average)[2]


def binary_specificity(prediction: np.ndarray, target: np.ndarray) -> float:
    """Specificity of a binary task: TN / (TN + FP), the recall of class 0 (the sensitivity of the negatives).

    Empty inputs:
        No negative sample in the target: 0 (``zero_division=0``).

    Example:
        >>> import numpy as np
        >>> binary_specificity(np.array([0, 1, 1, 1]), np.array([0, 1, 0, 1]))
        0.5
    """
    pred, y = _pair(prediction, target)
    if max(pred.max(), y.max()) > 1 or min(pred.min(), y.min()) < 0:
        raise MbenchError("specificity needs binary labels", expected="labels 0 / 1",
                          found=f"labels {sorted(set(np.unique(np.r_[pred, y]).tolist()))[:5]}")
    negatives = y == 0
    return float((pred[negatives] == 0).mean()) if negatives.any() else 0.0


def _binary_auc(scores: np.ndarray, positive: np.ndarray) -> float:
    n_pos = int(positive.sum())
    n_neg = positive.size - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = rankdata(scores)  # average ranks for ties = trapezoidal ROC area
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def roc_auc(scores: np.ndarray, target: np.ndarray, *, average: Literal["macro", "weighted"] = "macro") -> float:
    """Area under the ROC curve; one-vs-rest over classes for a ``(n, C)`` score matrix.

    Binary: ``scores`` of shape ``(n,)`` (score of class 1) or ``(n, 2)``. Multi-class: the AUC of
    ``target == c`` against ``scores[:, c]`` for each class, averaged ``macro`` or ``weighted`` by prevalence
    (scikit-learn's ``roc_auc_score(multi_class="ovr")``; the scores need not sum to 1 here). Ties count one half.

    Empty inputs:
        Binary with one class only: ``nan`` (undefined). Multi-class: classes absent from the target are left out
        of the mean; if none is left, ``nan``.

    Example:
        >>> import numpy as np
        >>> roc_auc(np.array([0.1, 0.4, 0.35, 0.8]), np.array([0, 0, 1, 1]))
        0.75
    """
    _check_average(average, ("macro", "weighted"))
    s, y = np.asarray(scores, dtype=float), np.asarray(target).ravel().astype(np.int64)
    if s.shape[0] != y.size:
        raise MbenchError("scores and targets differ in length", expected=f"{y.size} rows", found=f"shape {s.shape}")
    if s.ndim == 1 or (s.ndim == 2 and s.shape[1] == 2):
        col = s if s.ndim == 1 else s[:, 1]
        return _binary_auc(col, y == 1)
    if s.ndim != 2:
        raise MbenchError("roc_auc needs (n,) or (n, C) scores", expected="1 or 2 dimensions", found=f"{s.shape}")
    aucs, weights = [], []
    for c in range(s.shape[1]):
        positive = y == c
        if positive.any() and not positive.all():
            aucs.append(_binary_auc(s[:, c], positive))
            weights.append(positive.sum())
    if not aucs:
        return float("nan")
    return float(np.mean(aucs)) if average == "macro" else float(np.average(aucs, weights=weights))


def cohen_kappa(prediction: np.ndarray, target: np.ndarray, *,
                weights: Literal["linear", "quadratic"] | None = None) -> float:
    """Cohen's kappa ``1 - sum(w * O) / sum(w * E)``, unweighted or with ``linear`` / ``quadratic`` weights.

    ``O`` is the confusion matrix and ``E`` the outer product of its marginals over the total; weights are
    ``|i - j|`` or ``(i - j)^2`` (0/1 when unweighted), as scikit-learn's ``cohen_kappa_score``.

    Empty inputs:
        Perfect agreement on a single class (``sum(w * E) = 0``): ``nan``, as scikit-learn.

    Example:
        >>> import numpy as np
        >>> cohen_kappa(np.array([0, 1, 2, 2]), np.array([0, 1, 1, 2]), weights="quadratic")
        0.8
    """
    if weights not in (None, "linear", "quadratic"):
        raise MbenchError(f"invalid kappa weights {weights!r}", expected="None, 'linear' or 'quadratic'",
                          found=repr(weights))
    cm = confusion_matrix(prediction, target).astype(float)
    n = cm.shape[0]
    present = (cm.sum(axis=0) + cm.sum(axis=1)) > 0  # scikit-learn uses the labels seen in either
    cm = cm[np.ix_(present, present)]
    expected = np.outer(cm.sum(axis=1), cm.sum(axis=0)) / cm.sum()
    idx = np.arange(n)[present]
    if weights is None:
        w = 1.0 - np.eye(cm.shape[0])
    else:
        diff = np.abs(idx[:, None] - idx[None, :]).astype(float)
        w = diff if weights == "linear" else diff ** 2
    denom = float(np.sum(w * expected))
    if denom == 0:
        return float("nan")
    return float(1.0 - np.sum(w * cm) / denom)


def average_precision(scores: np.ndarray, targets: np.ndarray) -> float:
    """Average precision ``sum_n (R_n - R_{n-1}) P_n`` over distinct score thresholds (no interpolation).

    This is the step-wise definition of scikit-learn's ``average_precision_score``; tied scores
    form one threshold.

    Empty inputs:
        No positive target: AP is undefined and ``nan`` is returned (callers decide; see
        :func:`mean_average_precision`). No samples: :class:`~mbench.errors.MbenchError`.

    Example:
        >>> average_precision(np.array([0.9, 0.8, 0.3, 0.1]), np.array([1, 0, 1, 0]))
        0.8333333333333333
    """
    scores, targets = np.asarray(scores, dtype=float).ravel(), np.asarray(targets).ravel().astype(bool)
    if scores.shape != targets.shape:
        raise MbenchError("scores and targets differ in length", expected=f"{targets.size} scores",
                          found=f"{scores.size}")
    if scores.size == 0:
        raise MbenchError("average_precision of zero samples is undefined", expected="at least one sample",
                          found="none")
    n_pos = int(targets.sum())
    if n_pos == 0:
        return float("nan")
    order = np.argsort(-scores, kind="mergesort")
    s, t = scores[order], targets[order]
    last_of_tie = np.r_[np.flatnonzero(np.diff(s)), s.size - 1]
    tp = np.cumsum(t)[last_of_tie]
    precision = tp / (last_of_tie + 1)
    recall = tp / n_pos
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def mean_average_precision(scores: np.ndarray, targets: np.ndarray) -> float:
    """Macro mAP: the unweighted mean of per-label average precision over the columns (multi-label).

    Empty inputs:
        Labels without any positive target have no AP and are left out of the mean (as
        scikit-learn's ``average_precision_score(average="macro")`` effectively requires); if no
        label has a positive, returns ``nan``.

    Example:
        >>> s = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.7]])
        >>> y = np.array([[1, 0], [0, 1], [1, 1]])
        >>> mean_average_precision(s, y)
        1.0
    """
    scores, targets = np.asarray(scores, dtype=float), np.asarray(targets)
    if scores.ndim != 2 or scores.shape != targets.shape:
        raise MbenchError("mean_average_precision needs matching (n_samples, n_labels) arrays",
                          expected="scores and targets of one 2D shape",
                          found=f"{scores.shape} and {targets.shape}")
    aps = [average_precision(scores[:, j], targets[:, j]) for j in range(scores.shape[1])]
    valid = [a for a in aps if not np.isnan(a)]
    return float(np.mean(valid)) if valid else float("nan")
