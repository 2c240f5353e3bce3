"""Skin chromophores by blind source separation (paper 18, Rakotomamonjy-style NMF on MED-NODE photographs).

Mixing model: the optical density ``b_i(u) = -log(reflectance_i(u))`` of band ``i`` (order **B, G, R**, as the
paper) is ``sum_j m_ij c_j(u)`` over chromophores ``j`` = oxy-haemoglobin, deoxy-haemoglobin, melanin. Pixels are
vectorised **column-major** (the paper's MATLAB order) into ``X`` (3 x N) = ``A S``.

Separators (:class:`ChromophoreSeparator`):

* ``nmf`` with ``init="sca"`` (the paper's method): the mixing matrix is first estimated by sparse component
  analysis (:func:`sca_mixing`: ratio ``b_i / b_1`` over slices of L consecutive pixels; the lowest-variance slices
  are single-source zones), then refined by NMF of the Euclidean cost 1/2 ||X - AS||^2 started from it (the paper's
  projected ALS, :func:`nmf_als`; ``solver="sklearn"`` uses scikit-learn ``NMF(init="custom")`` instead);
* ``nmf`` with ``init="random"``: the paper's ablation (A started from seeded uniform entries);
* ``inverse``: the classical "3 x 3 technique" (Spigulis & Oshina), ``S = M_emp^-1 X`` with the empirical matrix of
  the paper's Eq. 23 (which can give negative concentrations).

The columns of A are then divided by their first (blue) coefficient (the rows of S multiplied back, so A S is
unchanged) and matched to the chromophores by the permutation closest to the normalised columns of ``M_emp``.
:func:`criteria` gives the per-image criteria: ``C_j`` = mean over the lesion of ``sum_i a_ij s_j`` (the paper's
criterion) and ``B_i`` = mean lesion optical density per band (the classical criterion); the lesion is the Otsu
dark region of the grey image.

Example:
    >>> import numpy as np
    >>> rgb = np.full((8, 8, 3), 200, np.uint8)
    >>> optical_density(rgb).shape
    (3, 64)
"""

from __future__ import annotations

from itertools import permutations

import numpy as np

from mbench.errors import MbenchError

__all__ = ["CHROMOPHORES", "BANDS", "M_EMPIRICAL", "optical_density", "sca_mixing", "normalise_and_match",
           "nmf_als", "otsu_threshold", "lesion_mask", "criteria", "ChromophoreSeparator"]

CHROMOPHORES = ("oxy", "deoxy", "melanin")
BANDS = ("blue", "green", "red")
# paper 18, Eq. 23: rows B (473 nm), G (532 nm), R (620 nm); columns oxy-Hb, deoxy-Hb, melanin
M_EMPIRICAL = np.array([[15.37, 7.55, 76.00],
                        [35.23, 32.60, 82.86],
                        [1.54, 10.21, 97.21]])
_EPS = 1e-9


def optical_density(rgb: np.ndarray) -> np.ndarray:
    """(3, H*W) optical density ``-log(reflectance)`` in band order B, G, R, pixels in column-major order.

    Reflectance is the 8-bit value / 255, floored at 1/255 (no log of 0).
    """
    img = np.asarray(rgb, dtype=np.float64)
    if img.ndim != 3 or img.shape[2] != 3:
        raise MbenchError("optical density needs an RGB image", expected="(H, W, 3)", found=f"shape {img.shape}")
    reflectance = np.clip(img / 255.0, 1.0 / 255.0, 1.0)
    od = -np.log(reflectance[..., ::-1])  # R, G, B file order -> B, G, R
    return np.stack([od[..., i].ravel(order="F") for i in range(3)])


def sca_mixing(x: np.ndarray, slice_length: int = 16, variance_quantile: float = 0.25,
               min_angle_deg: float = 10.0) -> np.ndarray:
    """Sparse component analysis estimate of the mixing matrix, columns scaled to a first coefficient of 1.

    The ratios ``b_2 / b_1`` and ``b_3 / b_1`` are taken over consecutive slices of ``slice_length`` pixels with
    enough signal (blue optical density > 0.02); a slice whose pixel vectors barely change direction holds one
    source only, whose column is the mean ratio vector ``(1, r2, r3)``. Slices are
    visited by increasing variance (within the lowest ``variance_quantile``); a slice's column is kept when it is at
    least ``min_angle_deg`` from every column kept so far, until three are found.
    """
    x = np.asarray(x, dtype=np.float64)
    n_slices = x.shape[1] // slice_length
    if n_slices < 3:
        raise MbenchError("SCA needs at least three slices of pixels", found=f"{x.shape[1]} pixels",
                          fix="use a larger image or a shorter slice_length")
    blocks = x[:, :n_slices * slice_length].reshape(3, n_slices, slice_length)
    usable = (blocks[0] > 0.02).all(axis=1)  # enough signal for stable ratios
    ratios = blocks[1:, usable] / blocks[0:1, usable]  # (2, n_usable, L)
    mean = ratios.mean(axis=2)
    directions = blocks[:, usable] / np.linalg.norm(blocks[:, usable], axis=0, keepdims=True)
    var = directions.var(axis=2).sum(axis=0)  # spread of the pixel directions: scale-free, no band favoured
    order = np.argsort(var, kind="stable")
    order = order[:max(3, int(np.ceil(variance_quantile * len(order))))]
    columns: list[np.ndarray] = []
    cos_min = np.cos(np.deg2rad(min_angle_deg))
    for k in order:
        v = np.r_[1.0, mean[:, k]]
        v_unit = v / np.linalg.norm(v)
        if all(abs(v_unit @ (c / np.linalg.norm(c))) < cos_min for c in columns):
            columns.append(v)
        if len(columns) == 3:
            return np.stack(columns, axis=1)
    raise MbenchError("SCA found fewer than three single-source zones", found=f"{len(columns)} distinct columns",
                      fix="raise variance_quantile or lower min_angle_deg, or use init=random")


def normalise_and_match(a: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """Columns of ``a`` divided by their first coefficient (rows of ``s`` scaled back), then permuted to the
    chromophore order by the permutation closest to ``M_EMPIRICAL``'s normalised columns. Returns (A, S, order).

    A column whose first coefficient is ~0 is scaled by its largest coefficient instead (no division by zero).
    """
    a, s = np.array(a, dtype=np.float64), np.array(s, dtype=np.float64)
    scale = np.where(np.abs(a[0]) > _EPS, a[0], np.abs(a).max(axis=0) + _EPS)
    a, s = a / scale, s * scale[:, None]
    ref = M_EMPIRICAL / M_EMPIRICAL[0]
    best = min(permutations(range(3)), key=lambda p: float(np.linalg.norm(a[:, list(p)] - ref)))
    order = list(best)
    return a[:, order], s[order], order


def nmf_als(x: np.ndarray, a0: np.ndarray, *, max_iter: int = 200, tol: float = 1e-6) -> tuple[np.ndarray, np.ndarray]:
    """The paper's projected alternating least squares for ``X ~ A S`` (A, S >= 0) from ``A = a0``:
    ``S <- max(0, (A^T A)^-1 A^T X)``, ``A <- max(0, X S^T (S S^T)^-1)``, until the cost 1/2 ||X - AS||^2 falls by
    less than ``tol`` (relative) or ``max_iter`` sweeps (least squares via ``lstsq``, safe for rank-deficient steps).

    Example:
        >>> a = np.array([[1.0, 1.0], [2.0, 0.5]]); s = np.array([[1.0, 0.0, 2.0], [0.0, 1.0, 1.0]])
        >>> a_hat, s_hat = nmf_als(a @ s, a)
        >>> bool(np.allclose(a_hat @ s_hat, a @ s))
        True
    """
    a = np.array(a0, dtype=np.float64)
    previous = np.inf
    s = np.clip(np.linalg.lstsq(a, x, rcond=None)[0], 0, None)
    for _ in range(max_iter):
        s = np.clip(np.linalg.lstsq(a, x, rcond=None)[0], 0, None)
        a = np.clip(np.linalg.lstsq(s.T, x.T, rcond=None)[0].T, 0, None)
        cost = 0.5 * float(np.sum((x - a @ s) ** 2))
        if previous - cost <= tol * max(previous, 1e-12):
            break
        previous = cost
    return a, s


def otsu_threshold(values: np.ndarray, bins: int = 256) -> float:
    """Otsu's threshold of a sample (maximum between-class variance over a ``bins``-bin histogram)."""
    v = np.asarray(values, dtype=np.float64).ravel()
    lo, hi = float(v.min()), float(v.max())
    if hi <= lo:
        return lo
    counts, edges = np.histogram(v, bins=bins, range=(lo, hi))
    centres = (edges[:-1] + edges[1:]) / 2
    w0 = np.cumsum(counts)
    w1 = w0[-1] - w0
    m0 = np.cumsum(counts * centres)
    mu0 = m0 / np.maximum(w0, 1)
    mu1 = (m0[-1] - m0) / np.maximum(w1, 1)
    between = w0 * w1 * (mu0 - mu1) ** 2
    return float(centres[int(np.argmax(between[:-1]))])


def lesion_mask(rgb: np.ndarray) -> np.ndarray:
    """(H, W) boolean lesion region: grey (mean of R, G, B) at or below Otsu's threshold (lesions are darker)."""
    grey = np.asarray(rgb, dtype=np.float64).mean(axis=2)
    mask = grey <= otsu_threshold(grey)
    return mask if mask.any() else np.ones_like(mask)


def criteria(mixing: np.ndarray, sources: np.ndarray, x: np.ndarray, region: np.ndarray) -> dict[str, float]:
    """Per-image criteria over the lesion ``region`` ((H, W) mask; pixels column-major like ``sources``):
    ``C_<chromophore>`` = mean of ``sum_i a_ij s_j`` (paper's criterion), ``B_<band>`` = mean optical density.
    """
    inside = np.asarray(region, dtype=bool).ravel(order="F")
    if not inside.any():
        raise MbenchError("empty lesion region", fix="check the segmentation")
    contributions = mixing.sum(axis=0)[:, None] * sources[:, inside]
    out = {f"C_{name}": float(contributions[j].mean()) for j, name in enumerate(CHROMOPHORES)}
    out.update({f"B_{name}": float(x[i, inside].mean()) for i, name in enumerate(BANDS)})
    return out


class ChromophoreSeparator:
    """Separates an RGB skin photograph into oxy-Hb, deoxy-Hb and melanin maps (see the module docstring).

    Args:
        method: ``nmf`` or ``inverse`` (classical M_emp inversion).
        init: NMF initialisation of A, ``sca`` (paper) or ``random`` (ablation: uniform [0, 1) entries, seeded).
        solver: ``als`` (the paper's projected alternating least squares, :func:`nmf_als`) or ``sklearn``
            (scikit-learn ``NMF(init="custom")``, coordinate descent on the same cost, started from the same A).
        max_iter, tol: NMF stopping rule (the paper stops below an unstated cost threshold).
        slice_length, variance_quantile, min_angle_deg: SCA settings (not stated in the paper).
    """

    def __init__(self, method: str = "nmf", init: str = "sca", solver: str = "als", max_iter: int = 200,
                 tol: float = 1e-6, slice_length: int = 16, variance_quantile: float = 0.25,
                 min_angle_deg: float = 10.0) -> None:
        if method not in ("nmf", "inverse") or init not in ("sca", "random") or solver not in ("als", "sklearn"):
            raise MbenchError("unknown separation method", expected="method nmf|inverse, init sca|random, "
                              "solver als|sklearn", found=f"method={method!r}, init={init!r}, solver={solver!r}")
        self.method, self.init, self.solver, self.max_iter, self.tol = method, init, solver, int(max_iter), float(tol)
        self.sca = dict(slice_length=int(slice_length), variance_quantile=float(variance_quantile),
                        min_angle_deg=float(min_angle_deg))

    def separate(self, image: np.ndarray, *, seed: int) -> dict:
        """``{"mixing": (3, 3), "sources": (3, N), "x": (3, N), "order", "error", "negative_fraction", "criteria"}``
        (the per-image criteria of :func:`criteria` over the Otsu lesion)."""
        x = optical_density(image)
        if self.method == "inverse":
            a, s = M_EMPIRICAL.copy(), np.linalg.solve(M_EMPIRICAL, x)
        else:
            a, s = self._nmf(x, seed)
        a, s, order = normalise_and_match(a, s)
        error = float(0.5 * np.sum((x - a @ s) ** 2))
        return {"mixing": a, "sources": s, "x": x, "order": order, "error": error,
                "negative_fraction": float((s < 0).mean()), "criteria": criteria(a, s, x, lesion_mask(image))}

    def _nmf(self, x: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
        a0 = sca_mixing(x, **self.sca) if self.init == "sca" else np.random.default_rng(seed).uniform(0, 1, (3, 3))
        if self.solver == "als":
            return nmf_als(x, a0, max_iter=self.max_iter, tol=self.tol)
        import warnings

        from sklearn.decomposition import NMF
        from sklearn.exceptions import ConvergenceWarning

        s0 = np.clip(np.linalg.lstsq(a0, x, rcond=None)[0], 0, None)
        model = NMF(n_components=3, init="custom", solver="cd", beta_loss="frobenius", max_iter=self.max_iter,
                    tol=self.tol)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            w = model.fit_transform(x.T, W=np.ascontiguousarray(s0.T), H=np.ascontiguousarray(a0.T))
        return model.components_.T, w.T
