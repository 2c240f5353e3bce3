"""Trauma THOMPSON (papers 12 and 16): egocentric videos of life-saving interventions, trimmed into clips labelled
with a verb, a noun and an action (verb + noun pair), in an EPIC-Kitchens-100-style layout::

    <root>/annotations/TT_train.csv             clip_id,video_id,procedure,start_frame,stop_frame,
                                                verb,verb_class,noun,noun_class,action_class
    <root>/annotations/TT_validation.csv        the same columns
    <root>/annotations/TT_test_timestamps.csv   clip_id,video_id,procedure,start_frame,stop_frame (no labels)
    <root>/annotations/TT_verb_classes.csv      id,key                      (37 verbs)
    <root>/annotations/TT_noun_classes.csv      id,key                      (41 nouns)
    <root>/annotations/TT_action_classes.csv    id,key,verb_class,noun_class (127 actions)
    <root>/frames/<video_id>/frame_0000000001.jpg  every frame of the MP4, 1-based (EPIC's rgb_frames naming)

The papers do not publish the release's file layout; this is the harness's documented layout (the EPIC-Kitchens
convention the paper benchmarks against). File and folder names are adapter parameters, so a release that names
them differently is read by changing the card's ``data.params``. Frames are extracted from the MP4s beforehand,
e.g. ``ffmpeg -i P01.mp4 -q:v 2 -start_number 1 frames/P01/frame_%010d.jpg``.

The test labels are withheld: the public release has test timestamps only. :class:`TraumaThompsonClipsAdapter`
never returns a test label (``load_reference`` of a test clip is an error); an organiser keeps the test labels in a
separate file (same columns as ``TT_train.csv``) that only :mod:`mbench.protocols.withheld` reads, at scoring time.

Two adapters read the layout:

* :class:`TraumaThompsonClipsAdapter` (paper 16): a case is a clip; ``clip_frames`` returns ``T`` uniformly
  sampled frames (T, 3, H, W); the reference of a labelled clip is ``[verb_class, noun_class, action_class]``.
  ``group_by="clip"`` is the paper's clip-level split (clips of one video may fall in train and test: the protocol
  reports how many); ``"video"`` groups clips by video for a leakage-free split.
* :class:`TraumaThompsonProceduresAdapter` (paper 12): a case is one procedure video (one instance); its input is
  its chronological list of (verb, noun, start, stop) actions from the labelled annotation files, its reference the
  procedure class code.
"""

from __future__ import annotations

import csv
from functools import cached_property
from pathlib import Path

import numpy as np

from mbench.data.adapter import DatasetAdapter
from mbench.data.video import read_jpeg_frames, sample_frame_indices
from mbench.errors import MbenchError

__all__ = ["read_annotations", "TraumaThompsonClipsAdapter", "TraumaThompsonProceduresAdapter", "LABEL_COLUMNS",
           "HEADS"]

TIMESTAMP_COLUMNS = ("clip_id", "video_id", "procedure", "start_frame", "stop_frame")
LABEL_COLUMNS = ("verb", "verb_class", "noun", "noun_class", "action_class")
HEADS = ("verb", "noun", "action")  # the reference vector's order


def read_annotations(path: Path, labelled: bool) -> dict[str, dict[str, str]]:
    """Rows of an annotation CSV by clip id; checks the columns (``labelled``: the label columns too)."""
    path = Path(path)
    if not path.is_file():
        raise MbenchError(f"annotation file not found: {path}", expected="the release's annotation CSVs",
                          fix="point data.root at the dataset folder, or set the file names in data.params")
    with open(path, newline="") as fh:
        reader = csv.DictReader(fh)
        need = TIMESTAMP_COLUMNS + (LABEL_COLUMNS if labelled else ())
        missing = [c for c in need if c not in (reader.fieldnames or [])]
        if missing:
            raise MbenchError(f"{path.name} lacks columns {missing}", expected=", ".join(need),
                              found=", ".join(reader.fieldnames or []))
        rows = {}
        for row in reader:
            if row["clip_id"] in rows:
                raise MbenchError(f"{path.name}: clip id {row['clip_id']!r} appears twice")
            rows[row["clip_id"]] = row
    return rows


def _class_table(path: Path) -> dict[int, dict[str, str]]:
    with open(path, newline="") as fh:
        return {int(r["id"]): r for r in csv.DictReader(fh)}


class _Layout(DatasetAdapter):
    """The shared annotation reading of both adapters."""

    def __init__(self, root: Path, annotations: str = "annotations", train_file: str = "TT_train.csv",
                 val_file: str = "TT_validation.csv", test_file: str = "TT_test_timestamps.csv",
                 verb_classes: str = "TT_verb_classes.csv", noun_classes: str = "TT_noun_classes.csv",
                 action_classes: str = "TT_action_classes.csv", **params) -> None:
        super().__init__(root, **params)
        folder = self.root / annotations
        self.annotation_files = {"train": folder / train_file, "validation": folder / val_file,
                                 "test": folder / test_file}
        self.class_files = {"verb": folder / verb_classes, "noun": folder / noun_classes,
                            "action": folder / action_classes}

    @cached_property
    def rows(self) -> dict[str, dict[str, dict[str, str]]]:
        """Annotation rows per official split, by clip id (test rows have timestamps only)."""
        out = {name: read_annotations(path, labelled=name != "test") for name, path in self.annotation_files.items()}
        seen: dict[str, str] = {}
        for name, rows in out.items():
            for clip in rows:
                if seen.setdefault(clip, name) != name:
                    raise MbenchError(f"clip {clip!r} is in both {seen[clip]} and {name} annotation files")
        return out

    @cached_property
    def classes(self) -> dict[str, dict[int, dict[str, str]]]:
        """The verb, noun and action class tables (id -> row)."""
        return {head: _class_table(path) for head, path in self.class_files.items()}

    def n_classes(self) -> dict[str, int]:
        """Classes per head, from the release's class tables."""
        return {head: len(table) for head, table in self.classes.items()}

    def action_pairs(self) -> np.ndarray:
        """(n_actions, 2) verb and noun class of each action class id (for action = verb x noun scoring)."""
        table = self.classes["action"]
        return np.asarray([[int(table[a]["verb_class"]), int(table[a]["noun_class"])] for a in sorted(table)])


class TraumaThompsonClipsAdapter(_Layout):
    """Clips of paper 16's action recognition task (see the module docstring)."""

    ndim = 0  # video clips: read with clip_frames, not as images

    def __init__(self, root: Path, frames: str = "frames", frame_pattern: str = "frame_{:010d}.jpg",
                 group_by: str = "clip", hash_frames: int = 8, **params) -> None:
        super().__init__(root, **params)
        if group_by not in ("clip", "video"):
            raise MbenchError("group_by must be clip or video", found=repr(group_by))
        self.frames, self.frame_pattern, self.group_by, self.hash_frames = frames, frame_pattern, group_by, hash_frames

    @cached_property
    def _all(self) -> dict[str, dict[str, str]]:
        return {c: r for rows in self.rows.values() for c, r in rows.items()}

    @cached_property
    def _split_of(self) -> dict[str, str]:
        return {c: name for name, rows in self.rows.items() for c in rows}

    def case_ids(self) -> list[str]:
        return sorted(self._all)

    def official_splits(self) -> dict[str, list[str]]:
        return {name: sorted(rows) for name, rows in self.rows.items()}

    def groups(self) -> dict[str, str]:
        return {c: (r["video_id"] if self.group_by == "video" else c) for c, r in self._all.items()}

    def case_attributes(self) -> dict[str, dict[str, str]]:
        return {c: {"procedure": r["procedure"], "video": r["video_id"]} for c, r in self._all.items()}

    def is_labelled(self, clip_id: str) -> bool:
        """False for the test clips, whose labels the release withholds."""
        return self._split_of[clip_id] != "test"

    def load_reference(self, case_id: str) -> np.ndarray:
        """``[verb_class, noun_class, action_class]`` of a training or validation clip; test clips are refused."""
        if not self.is_labelled(case_id):
            raise MbenchError(f"clip {case_id!r} is a test clip: its labels are withheld",
                              fix="test predictions are scored by mbench.protocols.withheld against the organiser's "
                                  "label file, never read through the adapter")
        r = self._all[case_id]
        return np.asarray([int(r["verb_class"]), int(r["noun_class"]), int(r["action_class"])], dtype=np.int64)

    def _frame_path(self, video: str, number: int) -> Path:
        return self.root / self.frames / video / self.frame_pattern.format(number)

    def clip_frames(self, case_id: str, n_frames: int, size: int | None) -> np.ndarray:
        """(n_frames, 3, size, size) float32 in [0, 1]: frames sampled uniformly over the clip's range."""
        r = self._all[case_id]
        numbers = sample_frame_indices(int(r["start_frame"]), int(r["stop_frame"]), n_frames)
        return read_jpeg_frames([self._frame_path(r["video_id"], int(n)) for n in numbers], size)

    def load_input(self, case_id: str) -> dict[str, np.ndarray]:
        return {"clip": self.clip_frames(case_id, self.hash_frames, None)}

    def files(self, case_id: str) -> list[Path]:
        """The clip's annotation file and ``hash_frames`` frames sampled from it (hashing every frame of a 1080p
        release, about 60 GB, per run is impractical; the sampled frames are the ones a T = hash_frames model reads)."""
        r = self._all[case_id]
        numbers = sample_frame_indices(int(r["start_frame"]), int(r["stop_frame"]), self.hash_frames)
        return [self.annotation_files[self._split_of[case_id]],
                *[self._frame_path(r["video_id"], int(n)) for n in sorted(set(numbers.tolist()))]]


class TraumaThompsonProceduresAdapter(_Layout):
    """Procedure instances of paper 12's task graphs: one case per video of the labelled annotation files.

    ``procedures`` lists the procedure names in class-code order; ``splits`` the annotation files whose labelled
    actions are used (default: training and validation; an organiser may add the withheld test labels with
    ``extra_labels``, a file with the training columns, so that every video's sequence is complete).
    """

    ndim = 0  # action sequences

    def __init__(self, root: Path, procedures: list[str] | None = None, extra_labels: str | None = None,
                 **params) -> None:
        super().__init__(root, **params)
        self.procedures = list(procedures or ["TOUR", "CRIC", "CT", "ND", "IO"])
        self.extra_labels = Path(extra_labels).expanduser() if extra_labels else None

    @cached_property
    def _labelled(self) -> dict[str, dict[str, str]]:
        rows = {**self.rows["train"], **self.rows["validation"]}
        if self.extra_labels is not None:
            rows.update(read_annotations(self.extra_labels, labelled=True))
        return rows

    @cached_property
    def sequences(self) -> dict[str, list[dict]]:
        """Video id -> its actions in chronological order: verb, noun (names), start, stop, procedure."""
        out: dict[str, list[dict]] = {}
        for r in self._labelled.values():
            out.setdefault(r["video_id"], []).append(
                {"verb": r["verb"], "noun": r["noun"], "start": int(r["start_frame"]), "stop": int(r["stop_frame"]),
                 "procedure": r["procedure"]})
        for video, acts in out.items():
            acts.sort(key=lambda a: (a["start"], a["stop"]))
            names = {a["procedure"] for a in acts}
            if len(names) != 1 or not names <= set(self.procedures):
                raise MbenchError(f"video {video!r} has procedure labels {sorted(names)}",
                                  expected=f"exactly one of {self.procedures}",
                                  fix="set data.params.procedures to the release's procedure names")
        return out

    def case_ids(self) -> list[str]:
        return sorted(self.sequences)

    def case_attributes(self) -> dict[str, dict[str, str]]:
        return {v: {"procedure": acts[0]["procedure"]} for v, acts in self.sequences.items()}

    def load_input(self, case_id: str) -> dict[str, np.ndarray]:
        """``{"actions": object array of {"verb", "noun", "start", "stop"} dicts}`` in chronological order (no
        procedure label)."""
        acts = [{k: a[k] for k in ("verb", "noun", "start", "stop")} for a in self.sequences[case_id]]
        out = np.empty(len(acts), dtype=object)
        out[:] = acts
        return {"actions": out}

    def load_reference(self, case_id: str) -> np.ndarray:
        return np.asarray([self.procedures.index(self.sequences[case_id][0]["procedure"])], dtype=np.int64)

    def files(self, case_id: str) -> list[Path]:
        return [self.annotation_files["train"], self.annotation_files["validation"],
                *([self.extra_labels] if self.extra_labels else [])]
