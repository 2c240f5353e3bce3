"""What protocols require of models: small protocols (structural interfaces), no base classes.

Models never receive reference objects; a learner gets training targets only of the labelled
training data, and a sampler gets images and the labelled / unlabelled id lists, never the
targets of unlabelled samples (see :class:`SamplerView`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np

from mbench.errors import MbenchError

__all__ = ["Progress", "Learner", "Sampler", "SamplerView", "no_progress", "Detector", "check_detections", "FeatureModel", "ImageTranslator", "VolumeSegmenter", "Embedder", "check_embeddings",
           "VideoClassifier", "check_video_scores", "SequenceClassifier", "Registrar", "check_displacement"]

# progress(stage, completed, total): e.g. ("train", 3, 30)
Progress = Callable[[str, int, int], None]


def no_progress(stage: str, completed: int, total: int) -> None:
    """A progress callback that ignores its calls."""


@runtime_checkable
class Learner(Protocol):
    """A task model trained from scratch on labelled data.

    ``fit`` receives images (N, H, W) in [0, 1], targets, the validation set and the selection
    score (higher is better); it keeps the checkpoint with the best validation score.
    ``predict`` returns binary masks (N, H, W) for segmentation or scores (N, L) for classification.
    """

    def fit(self, images: np.ndarray, targets: np.ndarray, val_images: np.ndarray, val_targets: np.ndarray, *,
            score: Callable[[np.ndarray, np.ndarray], float], seed: int, progress: Progress) -> dict: ...

    def predict(self, images: np.ndarray) -> np.ndarray: ...


@dataclass(frozen=True)
class SamplerView:
    """Everything an active-learning sampler may see of the training pool.

    Images of every pool sample (main modality, and the auxiliary one where the task has it), the
    ids of the labelled and unlabelled samples, and targets of labelled samples only. The targets
    of unlabelled samples are not in this object at all.
    """

    pool_ids: tuple[str, ...]
    labelled_ids: tuple[str, ...]
    images: np.ndarray  # (N_pool, H, W) float32, aligned with pool_ids
    aux: np.ndarray | None = None
    _labelled_targets: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    @property
    def unlabelled_ids(self) -> tuple[str, ...]:
        labelled = set(self.labelled_ids)
        return tuple(i for i in self.pool_ids if i not in labelled)

    def index(self, ids: Sequence[str]) -> np.ndarray:
        """Positions of ``ids`` in ``images`` / ``aux``."""
        where = {c: i for i, c in enumerate(self.pool_ids)}
        return np.asarray([where[c] for c in ids], dtype=int)

    def labelled_targets(self, ids: Sequence[str]) -> np.ndarray:
        """Targets of labelled samples; asking for an unlabelled one is an error."""
        unknown = [i for i in ids if i not in self._labelled_targets]
        if unknown:
            raise MbenchError("a sampler asked for targets of unlabelled samples",
                              expected="ids from labelled_ids", found=f"{unknown[:3]}",
                              fix="samplers may only use targets of the labelled pool")
        return np.stack([self._labelled_targets[i] for i in ids])


@runtime_checkable
class Sampler(Protocol):
    """Chooses ``n`` unlabelled ids to label next."""

    def query(self, view: SamplerView, n: int, *, seed: int, progress: Progress) -> list[str]: ...


@runtime_checkable
class Detector(Protocol):
    """An object detector trained from scratch (or from local pretrained weights) on labelled boxes.

    ``images`` is a sequence (an array or a lazy tile sequence) of RGB images (3, H, W) float32 in [0, 1];
    ``targets`` one ``{"boxes": (n, 4) float (x1, y1, x2, y2) pixels, "labels": (n,) int}`` per image. ``fit`` may
    select its checkpoint with ``score(detections, val_targets)`` (higher is better) when ``val_images`` is not
    empty. ``detect`` returns one ``{"boxes": (n, 4), "scores": (n,), "labels": (n,)}`` per image, in that image's
    pixel coordinates (see :func:`check_detections`).
    """

    def fit(self, images: Sequence[np.ndarray], targets: Sequence[dict], val_images: Sequence[np.ndarray],
            val_targets: Sequence[dict], *, score: Callable[[list[dict], Sequence[dict]], float], seed: int,
            progress: Progress) -> dict: ...

    def detect(self, images: Sequence[np.ndarray]) -> list[dict]: ...


def check_detections(detections: object, n_images: int, labels: Sequence[int] | None = None) -> list[dict]:
    """Validate a detector's output: one mapping per image with finite ``boxes`` (n, 4) where x1 <= x2 and
    y1 <= y2, ``scores`` (n,) and integer ``labels`` (n,) (from ``labels`` when given); returns numpy copies.

    Example:
        >>> out = check_detections([{"boxes": [[0, 0, 5, 5]], "scores": [0.5], "labels": [1]}], 1)
        >>> out[0]["boxes"].shape
        (1, 4)
    """
    if not isinstance(detections, (list, tuple)) or len(detections) != n_images:
        raise MbenchError("a detector must return one entry per image", expected=f"a list of {n_images} mappings",
                          found=f"{type(detections).__name__} of length {len(detections) if hasattr(detections, '__len__') else '?'}",
                          fix="return [{'boxes': (n, 4), 'scores': (n,), 'labels': (n,)}, ...] in input order")
    out = []
    for i, det in enumerate(detections):
        try:
            boxes = np.asarray(det["boxes"], dtype=float).reshape(-1, 4)
            scores = np.asarray(det["scores"], dtype=float).reshape(-1)
            lab = np.asarray(det["labels"]).reshape(-1)
        except (KeyError, TypeError, ValueError) as exc:
            raise MbenchError(f"detections of image {i} are malformed ({exc})",
                              expected="a mapping with boxes (n, 4), scores (n,), labels (n,)",
                              found=repr(det)[:80]) from None
        problem = ("boxes, scores and labels differ in length" if not len(boxes) == len(scores) == len(lab)
                   else "non-finite boxes or scores" if not (np.isfinite(boxes).all() and np.isfinite(scores).all())
                   else "boxes with x2 < x1 or y2 < y1" if np.any(boxes[:, 2] < boxes[:, 0])
                   or np.any(boxes[:, 3] < boxes[:, 1])
                   else "non-integer labels" if lab.size and not np.all(np.mod(lab.astype(float), 1) == 0)
                   else "labels outside the task's classes" if labels is not None and lab.size
                   and not np.isin(lab.astype(int), list(labels)).all() else "")
        if problem:
            raise MbenchError(f"detections of image {i}: {problem}",
                              expected="finite (x1, y1, x2, y2) boxes, one score and one label each",
                              found=f"{len(boxes)} boxes, {len(scores)} scores, labels {sorted(set(lab.tolist()))[:5]}")
        out.append({"boxes": boxes, "scores": scores, "labels": lab.astype(int)})
    return out


@runtime_checkable
class FeatureModel(Protocol):
    """A non-deep-learning model: a per-image feature extractor followed by a classical classifier (scikit-learn,
    XGBoost). ``extract`` maps one image (H, W, 3) uint8-range RGB to a 1D feature vector; ``feature_key`` names the
    extractor and its settings (features are cached per image under it and shared by every classifier with the same
    key). ``fit`` receives training rows only; ``rebalance`` (``"none"`` or ``"smote"``) is applied inside ``fit``
    to those rows and never to the rows given to ``predict``, which returns (N, n_classes) probabilities.
    """

    def feature_key(self) -> str: ...

    def extract(self, image: np.ndarray) -> np.ndarray: ...

    def fit(self, features: np.ndarray, targets: np.ndarray, *, n_classes: int, seed: int, rebalance: str) -> dict: ...

    def predict(self, features: np.ndarray) -> np.ndarray: ...


@runtime_checkable
class ImageTranslator(Protocol):
    """An image-to-image model (MRI -> SPR, low- -> high-resolution CT) trained on paired images.

    ``fit`` receives lazily read training and validation pairs (:class:`mbench.data.paired.PairedCases`; inputs
    ``(C, *spatial)``, targets ``(*spatial)`` in the task's target units; training inputs may be synthesised from
    the targets) and ``score(predictions, targets)`` (lists of images, higher is better) to select its checkpoint.
    ``predict`` maps one case's input channels ``(C, *spatial_in)`` to its image ``(*spatial_out)`` in target units
    (one case at a time, so 3D volumes stay memory-bounded).
    """

    def fit(self, train: Any, val: Any, *, score: Callable[[list[np.ndarray], list[np.ndarray]], float], seed: int,
            progress: Progress) -> dict: ...

    def predict(self, inputs: np.ndarray) -> np.ndarray: ...


@runtime_checkable
class VolumeSegmenter(Protocol):
    """A 3D segmentation model trained on patches of lazily loaded volumes (``mbench.data.volumes``).

    ``fit`` samples training patches from ``train`` (a :class:`~mbench.data.volumes.VolumeAccess`: ids and one
    case at a time, images (C, D, H, W), class-index label maps), scores ``val`` cases with
    ``score(prediction, reference, spacing)`` (class-index maps, higher is better) and keeps the best checkpoint.
    ``predict_proba`` maps one image (C, D, H, W) float32 to class probabilities (classes, D, H, W) (sliding
    window); ``save`` / ``load`` write and read the trained weights (fold ensembles reload their members).
    """

    def fit(self, train, val, *, classes: int, score: Callable[[np.ndarray, np.ndarray, tuple], float], seed: int,
            progress: Progress) -> dict: ...

    def predict_proba(self, image: np.ndarray) -> np.ndarray: ...

    def save(self, path) -> None: ...

    def load(self, path) -> None: ...


@runtime_checkable
class SourceSeparator(Protocol):
    """Unsupervised blind source separation of one image (no training): ``separate`` returns at least
    ``{"mixing": (B, K) matrix A, "sources": (K, N) maps S, "x": (B, N) the mixed observations, "criteria": {name:
    float}}`` with X ~ A S (pixels vectorised in the order the separator documents) and the per-image criteria that
    protocols score; ``seed`` drives any random initialisation.
    """

    def separate(self, image: np.ndarray, *, seed: int) -> dict: ...



@runtime_checkable
class Embedder(Protocol):
    """Maps images to feature vectors for retrieval / few-shot identification (e.g. syndromes from faces).

    ``fit`` trains on images (N, C, H, W) or (N, H, W) of the *base* classes with integer ``labels``; it may select
    its checkpoint on ``val_images`` / ``val_labels`` and may use per-image ``keypoints`` (N, K, 2) in (x, y) pixels
    (e.g. for keypoint-guided mixup). ``embed`` returns (N, d) float32 vectors, L2-normalised; classes unseen in
    training are identified by nearest neighbours among them (see :func:`check_embeddings`).
    """

    def fit(self, images: np.ndarray, labels: np.ndarray, val_images: np.ndarray, val_labels: np.ndarray, *,
            keypoints: np.ndarray | None, seed: int, progress: Progress) -> dict: ...

    def embed(self, images: np.ndarray) -> np.ndarray: ...


def check_embeddings(embeddings: object, n_images: int) -> np.ndarray:
    """Validate an embedder's output: finite (n_images, d) with d >= 1; returns float32 rows scaled to unit length.

    Example:
        >>> check_embeddings([[3.0, 4.0]], 1).tolist()
        [[0.6000000238418579, 0.800000011920929]]
    """
    arr = np.asarray(embeddings, dtype=np.float32)
    if arr.ndim != 2 or arr.shape[0] != n_images or arr.shape[1] < 1 or not np.isfinite(arr).all():
        raise MbenchError("invalid embeddings", expected=f"finite array of shape ({n_images}, d), d >= 1",
                          found=f"shape {arr.shape}, finite: {bool(np.isfinite(arr).all())}",
                          fix="return one feature vector per input image from embed()")
    norms = np.linalg.norm(arr, axis=1, keepdims=True)
    if (norms == 0).any():
        raise MbenchError("zero embedding vector: cosine similarity is undefined",
                          found=f"{int((norms == 0).sum())} zero rows", fix="embed() must not return all-zero rows")
    return (arr / norms).astype(np.float32)


@runtime_checkable
class SignalLearner(Protocol):
    """A classifier of multichannel signal windows (EEG): ``fit`` receives training windows (N, channels, samples)
    float32 with labels 0..n_classes-1 and a validation set for checkpoint selection; ``predict`` returns
    (N, n_classes) probabilities. Windows never straddle two recordings (the protocol cuts them).
    """

    def fit(self, signals: np.ndarray, targets: np.ndarray, val_signals: np.ndarray, val_targets: np.ndarray, *,
            n_classes: int, seed: int, progress: Progress) -> dict: ...

    def predict(self, signals: np.ndarray) -> np.ndarray: ...


@runtime_checkable
class VideoClassifier(Protocol):
    """A multi-head classifier of video clips (egocentric action recognition: verb, noun and action heads).

    ``clips`` are (N, T, C, H, W) float32 in [0, 1] (an array, or a lazy sequence such as
    :class:`mbench.data.video.VideoClips` whose ``clips[index_array]`` gives a batch); ``targets`` maps each head to
    (N,) integer classes of the labelled clips and ``n_classes`` each head to its number of classes. ``fit`` may select
    its checkpoint on the validation clips. ``predict`` returns, per head, (N, n_classes[head]) class scores (e.g.
    probabilities; see :func:`check_video_scores`). A video classifier never sees test labels.
    """

    def fit(self, clips: Any, targets: dict[str, np.ndarray], val_clips: Any, val_targets: dict[str, np.ndarray], *,
            n_classes: dict[str, int], seed: int, progress: Progress) -> dict: ...

    def predict(self, clips: Any) -> dict[str, np.ndarray]: ...


def check_video_scores(scores: object, n_clips: int, n_classes: dict[str, int]) -> dict[str, np.ndarray]:
    """Validate a video classifier's output: per head of ``n_classes`` a finite (n_clips, n_classes[head]) array.

    Example:
        >>> out = check_video_scores({"verb": [[0.2, 0.8]]}, 1, {"verb": 2})
        >>> out["verb"].shape
        (1, 2)
    """
    if not isinstance(scores, dict) or set(n_classes) - set(scores):
        raise MbenchError("a video classifier must return scores for every head",
                          expected=f"a dict with keys {sorted(n_classes)}",
                          found=f"{type(scores).__name__} with keys {sorted(scores) if isinstance(scores, dict) else '-'}",
                          fix="return {head: (N, n_classes[head]) scores} from predict()")
    out = {}
    for head, k in n_classes.items():
        arr = np.asarray(scores[head], dtype=np.float64)
        if arr.shape != (n_clips, k) or not np.isfinite(arr).all():
            raise MbenchError(f"invalid {head} scores", expected=f"finite array of shape ({n_clips}, {k})",
                              found=f"shape {arr.shape}, finite: {bool(np.isfinite(arr).all())}")
        out[head] = arr
    return out


@runtime_checkable
class SequenceClassifier(Protocol):
    """Classifies symbolic action sequences (task graphs, paper 12): each sample is a chronological list of
    ``{"verb", "noun", "start", "stop"}`` actions. ``fit`` receives the training sequences and integer labels
    0..n_classes-1; ``predict`` returns (N, n_classes) scores; ``represent`` the fixed-length vector of each sequence
    the classifier works on (used for the within- / between-class distance analysis).
    """

    def fit(self, sequences: list[list[dict]], labels: np.ndarray, *, n_classes: int, seed: int) -> dict: ...

    def predict(self, sequences: list[list[dict]]) -> np.ndarray: ...

    def represent(self, sequences: list[list[dict]]) -> np.ndarray: ...


@runtime_checkable
class Registrar(Protocol):
    """A deformable registration model: ``register`` maps one (moving, fixed) pair to a displacement field.

    Images are (*spatial) float arrays (2D or 3D) on the same grid; ``moving_labels`` / ``fixed_labels`` are
    optional integer label maps of the same shape (segmentations a label-driven method works on: the task says
    whether they are predicted or reference ones), ``spacing`` the voxel size in mm. The field ``u`` is
    (ndim, *spatial) in **voxels**, channel-first in array-axis order, and pulls back: the warped moving image is
    ``moving(x + u(x))`` (:func:`mbench.metrics.functional.warp`, as ``grid_sample`` / ``map_coordinates``).
    ``fit`` is optional (classical and zero-shot methods train nothing on the task's data); where a card names a
    ``fit_split`` the protocol calls ``fit(pairs, adapter, seed=..., progress=...)`` with the (fixed, moving) case-id
    pairs of that split and the dataset adapter to read them one at a time (memory stays bounded), and records the
    returned training log.
    """

    def register(self, moving: np.ndarray, fixed: np.ndarray, *, moving_labels: np.ndarray | None = None,
                 fixed_labels: np.ndarray | None = None, spacing: Sequence[float] | None = None) -> np.ndarray: ...


def check_displacement(field: object, shape: Sequence[int]) -> np.ndarray:
    """Validate a registrar's output: a finite (ndim, *shape) field in voxels; returns it as float32.

    Example:
        >>> check_displacement(np.zeros((2, 4, 5)), (4, 5)).shape
        (2, 4, 5)
    """
    arr = np.asarray(field, dtype=np.float32)
    want = (len(shape), *map(int, shape))
    if arr.shape != want or not np.isfinite(arr).all():
        raise MbenchError("invalid displacement field", expected=f"finite array of shape {want} (voxels, "
                          "channel-first, moving(x + u(x)) sampled on the fixed grid)",
                          found=f"shape {arr.shape}, finite: {bool(np.isfinite(arr).all()) if arr.size else '-'}",
                          fix="return u with the vector components first, one per spatial axis of the fixed image")
    return arr
