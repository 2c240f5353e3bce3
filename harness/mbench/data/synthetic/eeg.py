"""Deterministic EEG stand-ins in the NMED-T / NMED-H and SEED release layouts (paper 14).

Signal model (per subject s, stimulus k): ``x = A_shared s_k(t) + A_subj(s) u_s(t) + noise`` over C channels.
``s_k`` is the stimulus's time course, identical for every listener (two class-specific rhythms, amplitude-modulated
at a class-specific rate, like a song's beat); ``u_s`` a strong subject-specific rhythm with its own spatial
pattern; pink-ish background noise. The subject term dominates, so decoding within subjects is easier than across
them, as in the paper.

Example:
    >>> import tempfile, pathlib
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> len(generate_nmed(root, stimuli=["song21", "song22"], n_subjects=2, n_channels=4, seconds=6, seed=0))
    4
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["recording", "generate_nmed", "generate_seed"]


def _pattern(rng: np.random.Generator, n_channels: int) -> np.ndarray:
    p = rng.normal(size=n_channels)
    return p / np.linalg.norm(p)


def recording(k: int, subject: int, *, n_channels: int, fs: float, seconds: float, seed: int,
              subject_gain: float = 1.0) -> np.ndarray:
    """(n_channels, samples) float32 EEG of ``subject`` during stimulus ``k`` (microvolt-like scale)."""
    n = int(round(seconds * fs))
    t = np.arange(n) / fs
    stim = np.random.default_rng([seed, 1, k])
    subj = np.random.default_rng([seed, 2, subject])
    noise_rng = np.random.default_rng([seed, 3, subject, k])
    f1, f2, beat = 4 + 1.3 * k + stim.uniform(0, 0.5), 9 + 0.9 * k, 0.5 + 0.25 * k
    s_k = (np.sin(2 * np.pi * f1 * t + stim.uniform(0, 6.3)) * (1 + 0.5 * np.sin(2 * np.pi * beat * t))
           + 0.6 * np.sin(2 * np.pi * f2 * t + stim.uniform(0, 6.3)))
    fu = subj.uniform(6, 14)
    u_s = np.sin(2 * np.pi * fu * t + subj.uniform(0, 6.3)) + 0.5 * np.sin(2 * np.pi * 2.1 * fu * t)
    shared = _pattern(np.random.default_rng([seed, 4]), n_channels)
    own = _pattern(subj, n_channels)
    white = noise_rng.normal(size=(n_channels, n))
    pink = np.cumsum(white, axis=1)
    pink -= np.convolve(pink.mean(0), np.ones(int(fs)) / fs, mode="same")[None]  # remove the slow drift
    pink = pink / (pink.std(axis=1, keepdims=True) + 1e-9)
    x = np.outer(shared, s_k) * np.sqrt(n_channels) + subject_gain * np.outer(own, u_s) * np.sqrt(n_channels) \
        + 1.0 * white + 0.5 * pink
    return (10.0 * x).astype(np.float32)


def generate_nmed(root: Path, stimuli: list[str], n_subjects: int = 6, n_channels: int = 8, fs: float = 125.0,
                  seconds: float = 60.0, seed: int = 2017, disjoint_subjects: bool = False) -> list[str]:
    """NMED layout: ``<stimulus>_Imputed.mat`` with ``data<k>`` (C x T x subjects), ``subjs<k>``, ``fs``.

    ``disjoint_subjects`` gives every stimulus its own listeners (NMED-H: each participant heard one version, so
    subject and class are confounded, as the paper's Sect. 6.4 notes).
    """
    import scipy.io

    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    ids = []
    for k, stem in enumerate(stimuli):
        offset = k * n_subjects if disjoint_subjects else 0
        subjects = [f"{offset + s + 1:02d}" for s in range(n_subjects)]
        number = "".join(ch for ch in stem if ch.isdigit())
        data = np.stack([recording(k, offset + s, n_channels=n_channels, fs=fs, seconds=seconds, seed=seed)
                         for s in range(n_subjects)], axis=2)
        scipy.io.savemat(root / f"{stem}_Imputed.mat", {f"data{number}": data, f"subjs{number}": np.asarray(
            subjects, dtype=object), "fs": fs}, do_compression=True)
        ids += [f"sub{s}_{stem}" for s in subjects]
    return sorted(ids)


def generate_seed(root: Path, n_subjects: int = 5, sessions: int = 1, n_channels: int = 8, fs: float = 200.0,
                  seconds: float = 40.0, seed: int = 2015) -> list[str]:
    """SEED layout: ``Preprocessed_EEG/<subject>_<date>.mat`` with ``ab_eeg1`` .. ``ab_eeg15`` (C x T)."""
    import scipy.io

    folder = Path(root) / "Preprocessed_EEG"
    folder.mkdir(parents=True, exist_ok=True)
    ids = []
    for s in range(n_subjects):
        for session in range(sessions):
            date = f"2013{10 + session:02d}{s + 1:02d}"
            clips = {f"ab_eeg{k + 1}": recording(k, s, n_channels=n_channels, fs=fs, seconds=seconds,
                                                 seed=seed + 97 * session) for k in range(15)}
            scipy.io.savemat(folder / f"{s + 1}_{date}.mat", clips, do_compression=True)
            ids += [f"sub{s + 1:02d}_{date}_clip{k + 1:02d}" for k in range(15)]
    return sorted(ids)
