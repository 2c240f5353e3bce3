"""Pair two models' per-case scores on case ids.

Paired tests compare the same cases. When the two models were scored on different sets of cases, the
comparison is refused unless the intersection is asked for explicitly; cases whose score is NaN for either
model are left out of the pair and counted, never dropped silently.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from mbench.errors import MbenchError
from mbench.stats.matrix import ScoreMatrix

__all__ = ["PairedSample", "pair_scores", "pair_columns"]


@dataclass(frozen=True)
class PairedSample:
    """Two aligned score vectors and how they were obtained.

    Attributes:
        x: scores of the first model, aligned with ``cases``.
        y: scores of the second model.
        cases: the case ids used.
        n_only_x: cases scored for the first model only (left out; non-zero only with ``intersection=True``).
        n_only_y: cases scored for the second model only.
        n_nan: cases left out because either score is NaN.
    """

    x: np.ndarray
    y: np.ndarray
    cases: tuple[str, ...]
    n_only_x: int = 0
    n_only_y: int = 0
    n_nan: int = 0

    @property
    def n(self) -> int:
        """Number of pairs."""
        return int(self.x.size)

    def notes(self, names: tuple[str, str] = ("a", "b")) -> list[str]:
        """What was left out, in words (empty when nothing was)."""
        out = []
        if self.n_only_x or self.n_only_y:
            out.append(f"intersection of case ids used: {self.n_only_x} case(s) only in {names[0]}, "
                       f"{self.n_only_y} only in {names[1]} left out")
        if self.n_nan:
            out.append(f"{self.n_nan} case(s) with a NaN score left out of the pairs")
        return out


def _refuse(names: tuple[str, str], only_x: list[str], only_y: list[str], n_common: int) -> MbenchError:
    def show(ids: list[str]) -> str:
        return ", ".join(ids[:5]) + (" …" if len(ids) > 5 else "")

    found = []
    if only_x:
        found.append(f"{len(only_x)} case(s) only in {names[0]} ({show(only_x)})")
    if only_y:
        found.append(f"{len(only_y)} case(s) only in {names[1]} ({show(only_y)})")
    return MbenchError(f"{names[0]} and {names[1]} were scored on different cases; a paired test needs the same "
                       "cases", expected="identical case ids for both models",
                       found="; ".join(found) + f"; {n_common} in common",
                       fix="rerun the incomplete model on the missing cases, or ask for the intersection explicitly "
                           "(intersection=True; `mbench compare ... --intersection`)")


def pair_scores(a: Mapping[str, float], b: Mapping[str, float], *, intersection: bool = False,
                names: tuple[str, str] = ("a", "b")) -> PairedSample:
    """Align ``{case: score}`` mappings of two models on case ids.

    Args:
        a: first model's scores by case id.
        b: second model's scores by case id.
        intersection: use the common case ids when the sets differ (otherwise refuse).
        names: model names for messages.

    Raises:
        MbenchError: when the case sets differ and ``intersection`` is False, or nothing is left to pair.

    Example:
        >>> p = pair_scores({"c1": 0.9, "c2": 0.8, "c3": 0.5}, {"c2": 0.7, "c1": 0.6, "c4": 0.1},
        ...                 intersection=True)
        >>> p.cases, p.x.tolist(), p.y.tolist(), p.n_only_x, p.n_only_y
        (('c1', 'c2'), [0.9, 0.8], [0.6, 0.7], 1, 1)
    """
    ka, kb = {str(k): float(v) for k, v in a.items()}, {str(k): float(v) for k, v in b.items()}
    only_x, only_y = sorted(set(ka) - set(kb)), sorted(set(kb) - set(ka))
    common = sorted(set(ka) & set(kb))
    if (only_x or only_y) and not intersection:
        raise _refuse(names, only_x, only_y, len(common))
    x = np.array([ka[c] for c in common], dtype=float)
    y = np.array([kb[c] for c in common], dtype=float)
    return _finish(x, y, common, len(only_x), len(only_y), names)


def pair_columns(matrix: ScoreMatrix, a: str, b: str, *, intersection: bool = False) -> PairedSample:
    """Pair two columns of a :class:`ScoreMatrix` on the units both have a row for.

    Example:
        >>> m = ScoreMatrix.from_scores({"a": {"x": 1.0, "y": 2.0}, "b": {"x": 0.5, "y": 1.0}})
        >>> pair_columns(m, "a", "b").x.tolist()
        [1.0, 2.0]
    """
    i, j = matrix.index(a), matrix.index(b)
    pa, pb = matrix.present[:, i], matrix.present[:, j]
    cases = np.asarray(matrix.cases, dtype=object)
    only_x, only_y = list(cases[pa & ~pb]), list(cases[pb & ~pa])
    both = pa & pb
    if (only_x or only_y) and not intersection:
        raise _refuse((a, b), only_x, only_y, int(both.sum()))
    return _finish(matrix.values[both, i], matrix.values[both, j], list(cases[both]), len(only_x), len(only_y),
                   (a, b))


def _finish(x: np.ndarray, y: np.ndarray, cases: list[str], n_only_x: int, n_only_y: int,
            names: tuple[str, str]) -> PairedSample:
    keep = ~(np.isnan(x) | np.isnan(y))
    if not keep.any():
        raise MbenchError(f"no case has scores for both {names[0]} and {names[1]}",
                          found=f"{len(cases)} common case(s), all with a NaN score" if cases else "no common case",
                          fix="check that both runs scored the same task and metric")
    return PairedSample(x=x[keep], y=y[keep], cases=tuple(c for c, k in zip(cases, keep) if k), n_only_x=n_only_x,
                        n_only_y=n_only_y, n_nan=int((~keep).sum()))
