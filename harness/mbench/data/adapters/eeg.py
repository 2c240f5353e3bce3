"""Multichannel EEG recordings with one stimulus label each (paper 14): NMED-T, NMED-H (Stanford Digital
Repository, cleaned "Imputed" MATLAB files aggregated per stimulus) and SEED (BCMI, preprocessed MATLAB files per
subject session).

A case is one recording: one subject's EEG during one stimulus, ``load_input`` -> ``{"eeg": (channels, samples)
float32}``, the reference is the stimulus class code. ``groups()`` decides what must never cross splits:
``group_by="subject"`` (subject-disjoint regime: a subject's recordings all land in one split, checked by the split
manifest) or ``"recording"`` (within-subject regime: subjects recur across splits, but a recording, and so every
window cut from it, stays in one split).

* **NMED-T / NMED-H** layout: ``<root>/<stem>_Imputed.mat`` per stimulus (e.g. ``song21_Imputed.mat``), holding
  ``data<k>`` (channels x samples x subjects), ``subjs<k>`` (subject ids) and ``fs``; ``<k>`` is the number in the
  file name. The class of a file is its position in ``stimuli`` (a card parameter; NMED-T: songs 21-30). NMED-H's
  release stores its 16 stimuli the same way (check the file names against your copy and list them in
  ``stimuli``; ``class_of`` maps each to its class, e.g. the song).
* **SEED** layout: ``<root>/Preprocessed_EEG/<subject>_<date>.mat`` (one per session), holding ``<prefix>_eeg1`` ..
  ``<prefix>_eeg15`` (62 x samples at 200 Hz, one per film clip); the class is the clip index (15 classes, "SEED-M").
MATLAB v7.3 (HDF5) files are read with h5py when installed.
"""

from __future__ import annotations

import re
from abc import abstractmethod
from functools import lru_cache
from pathlib import Path

import numpy as np

from mbench.data.adapter import DatasetAdapter
from mbench.errors import MbenchError

__all__ = ["EEGRecordingsAdapter", "NmedAdapter", "SeedAdapter", "read_mat"]


@lru_cache(maxsize=2)
def read_mat(path: Path) -> dict[str, np.ndarray]:
    """Variables of a MATLAB file (v5 via scipy; v7.3 via h5py), cached for the last two files."""
    import scipy.io

    try:
        return {k: v for k, v in scipy.io.loadmat(path).items() if not k.startswith("__")}
    except NotImplementedError:  # v7.3
        import h5py

        with h5py.File(path, "r") as fh:
            return {k: np.asarray(fh[k]).T for k in fh.keys() if isinstance(fh[k], h5py.Dataset)}


class EEGRecordingsAdapter(DatasetAdapter):
    """Base: subclasses fill ``self._cases`` = {case: (file, variable key, column or None, subject, class code)}."""

    ndim = 1  # signals, not images

    def __init__(self, root: Path, group_by: str = "subject", **params) -> None:
        super().__init__(root, group_by=group_by, **params)
        if group_by not in ("subject", "recording"):
            raise MbenchError("group_by must be subject or recording", found=repr(group_by))
        self.group_by = group_by
        self._cases: dict[str, tuple[Path, str, int | None, str, int]] = self._find()
        if not self._cases:
            raise MbenchError(f"no EEG recordings under {self.root}", fix="set data.root to the release folder")

    @abstractmethod
    def _find(self) -> dict[str, tuple[Path, str, int | None, str, int]]:
        """The cases of the layout under ``self.root``."""

    def case_ids(self) -> list[str]:
        return sorted(self._cases)

    def _case(self, case_id: str) -> tuple[Path, str, int | None, str, int]:
        if case_id not in self._cases:
            raise MbenchError(f"EEG recording {case_id!r} not found under {self.root}")
        return self._cases[case_id]

    def load_input(self, case_id: str) -> dict[str, np.ndarray]:
        path, key, column, _, _ = self._case(case_id)
        data = read_mat(path)[key]
        eeg = data[:, :, column] if column is not None else data
        return {"eeg": np.asarray(eeg, dtype=np.float32)}

    def load_reference(self, case_id: str) -> np.ndarray:
        return np.asarray(self._case(case_id)[4], dtype=np.int64)

    def sampling_rate(self, case_id: str) -> float:
        return float(self.fs)

    def files(self, case_id: str) -> list[Path]:
        return [self._case(case_id)[0]]

    def groups(self) -> dict[str, str]:
        return {c: (v[3] if self.group_by == "subject" else c) for c, v in self._cases.items()}

    def case_attributes(self) -> dict[str, dict[str, str]]:
        return {c: {"subject": v[3], "class": str(v[4])} for c, v in self._cases.items()}


class NmedAdapter(EEGRecordingsAdapter):
    """NMED-T / NMED-H cleaned data: one ``<stimulus>_Imputed.mat`` per stimulus, subjects along the third axis."""

    def __init__(self, root: Path, stimuli: list[str], class_of: dict[str, int] | None = None,
                 group_by: str = "subject", fs: float = 125.0) -> None:
        self.stimuli, self.class_of, self.fs = list(stimuli), dict(class_of or {}), float(fs)
        super().__init__(root, group_by=group_by, stimuli=stimuli, class_of=class_of, fs=fs)

    def _find(self) -> dict[str, tuple[Path, str, int | None, str, int]]:
        cases = {}
        for k, stem in enumerate(self.stimuli):
            path = self.root / f"{stem}_Imputed.mat"
            if not path.is_file():
                raise MbenchError("NMED: a stimulus file is missing", expected=str(path),
                                  found=str(sorted(p.name for p in self.root.glob("*.mat"))[:5]),
                                  fix="set data.root to the folder of the cleaned *_Imputed.mat files, or fix "
                                      "data.params.stimuli")
            number = re.sub(r"\D", "", stem)
            variables = read_mat(path)
            key, subjects = f"data{number}", f"subjs{number}"
            if key not in variables:
                raise MbenchError(f"NMED: {path.name} holds no {key}", found=str(sorted(variables)))
            ids = [str(np.asarray(s).ravel()[0]) for s in np.asarray(variables[subjects]).ravel()] \
                if subjects in variables else [f"{i + 1:02d}" for i in range(variables[key].shape[2])]
            if "fs" in variables:
                self.fs = float(np.asarray(variables["fs"]).ravel()[0])
            for col, subject in enumerate(ids):
                cases[f"sub{subject}_{stem}"] = (path, key, col, f"sub{subject}", self.class_of.get(stem, k))
        return cases


class SeedAdapter(EEGRecordingsAdapter):
    """SEED preprocessed EEG: ``Preprocessed_EEG/<subject>_<date>.mat`` with ``<prefix>_eeg<clip>`` per film clip."""

    n_clips = 15

    def __init__(self, root: Path, group_by: str = "subject", fs: float = 200.0) -> None:
        self.fs = float(fs)
        super().__init__(root, group_by=group_by, fs=fs)

    def _find(self) -> dict[str, tuple[Path, str, int | None, str, int]]:
        base = self.root / "Preprocessed_EEG" if (self.root / "Preprocessed_EEG").is_dir() else self.root
        files = sorted(p for p in base.glob("*_*.mat") if re.fullmatch(r"\d+_\d+", p.stem))
        if not files:
            raise MbenchError(f"no SEED layout under {self.root}", expected="Preprocessed_EEG/<subject>_<date>.mat",
                              fix="set data.root to the SEED folder")
        cases = {}
        for path in files:
            subject = f"sub{int(path.stem.split('_')[0]):02d}"
            keys = {int(m.group(1)): k for k in read_mat(path) if (m := re.fullmatch(r"[A-Za-z]+_eeg(\d+)", k))}
            if sorted(keys) != list(range(1, self.n_clips + 1)):
                raise MbenchError(f"SEED: {path.name} lacks clips", expected="<prefix>_eeg1 .. _eeg15",
                                  found=str(sorted(keys)))
            for clip, key in keys.items():
                cases[f"{subject}_{path.stem.split('_')[1]}_clip{clip:02d}"] = (path, key, None, subject, clip - 1)
        return cases
