"""Pydantic models of a task card. Unknown fields are errors (``extra="forbid"``).

A task card is a versioned YAML file under ``tasks/<family>/``: the dataset adapter and split
manifest, the protocol with the paper's settings, the metric profile with its conventions, the
paper's reported numbers, and a ``quick`` block of overrides for a CPU-sized, unofficial run.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from mbench.config.image_schema import ImageToImageSpec

__all__ = [
    "StrictModel", "SplitRef", "StandinSpec", "DataSpec", "SlicingSpec", "PreprocessingSpec", "SamplerInputSpec",
    "HoldoutSpec", "ActiveLearningSpec", "VolumeSpec", "VolumetricHoldoutSpec", "FoldEnsembleSpec", "KFoldSpec", "PruningSweepSpec", "FederatedSpec", "DomainSpec", "TransferStageSpec", "TransferSpec", "WarpSpec",
    "WeakLabelSpec", "TilingSpec", "CrossDomainDetectionSpec", "FeatureEvalSpec", "SeparationEvalSpec", "SignalWindowsSpec", "VideoActionSpec", "LeaveOneOutSpec", "PairwiseRegistrationSpec", "ProtocolSpec", "ConventionProfile", "StrataSpec", "MetricsSpec",
    "ReferenceResult", "TaskSpec", "SuperImagePrepSpec", "SuperImageSpec", "ComparisonPlan", "ImageToImageSpec",
]

ProblemType = Literal["segmentation", "multilabel_classification", "classification", "volume_segmentation",
                      "image_regression", "super_resolution", "detection",
                      "video_classification", "sequence_classification", "registration"]


class StrictModel(BaseModel):
    """Base for every config model: unknown keys rejected, instances immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class SplitRef(StrictModel):
    """A split manifest file (relative to the card) and the sha256 of its bytes, pinned."""

    file: str
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


class StandinSpec(StrictModel):
    """The deterministic synthetic stand-in used when ``data.root`` is not set."""

    generator: str
    params: dict[str, Any] = {}
    split: SplitRef


class DataSpec(StrictModel):
    """Dataset adapter, its parameters, where the real data lives and which split to use."""

    adapter: str
    root: str | None = None
    params: dict[str, Any] = {}
    split: SplitRef
    standin: StandinSpec
    source: str = Field(description="where to obtain the real data")


class SlicingSpec(StrictModel):
    """How 3D cases become 2D samples: axial slices with enough reference foreground.

    For 2D adapters only the modality names count: ``main_modality`` is the image and ``aux_modality`` the
    auxiliary input (e.g. a chest X-ray's lung mask, which an active-learning sampler sees).
    """

    main_modality: str
    aux_modality: str | None = None
    min_foreground_pixels: int = Field(0, ge=0)


class PreprocessingSpec(StrictModel):
    """Intensity preprocessing, applied identically to every image of the task."""

    clip_percentiles: tuple[float, float] = (1.0, 99.0)
    clip_region: Literal["nonzero", "all"] = "nonzero"
    intensity: Literal["clip_percentiles", "divide_255"] = Field(
        "clip_percentiles", description="how raw intensities become [0, 1]: percentile clipping (per volume or image) "
                                        "or division by 255 (8-bit photographs, video frames)")
    resize: tuple[int, int] | None = Field(None, description="resize 2D images (bilinear) and label maps (nearest) to "
                                                             "(height, width) when loading; None keeps the native size")
    normalise: Literal["train_zscore", "imagenet", "none", "case_zscore", "half"] = Field(
        "train_zscore", description="case_zscore: per case and channel over nonzero voxels (nnU-Net MRI; volumes); "
                                    "half: (x - 0.5) / 0.5, i.e. mean = std = 0.5 (M-VAAL's chest X-rays)")
    notes: str = ""

    @field_validator("clip_percentiles")
    @classmethod
    def _ordered(cls, v: tuple[float, float]) -> tuple[float, float]:
        if not 0 <= v[0] < v[1] <= 100:
            raise ValueError(f"clip_percentiles must satisfy 0 <= low < high <= 100, got {list(v)}")
        return v


class SamplerInputSpec(StrictModel):
    """What an active-learning sampler sees: centre crop, resize, channel replication."""

    image_size: int = Field(128, gt=0)
    crop_fraction: float = Field(0.875, gt=0, le=1)
    channels: int = Field(3, ge=1)


class HoldoutSpec(StrictModel):
    """Train on ``train``, select the checkpoint on ``val``, score on ``test``."""

    name: Literal["holdout"]
    seeds: list[int] = Field(min_length=1)


class ActiveLearningSpec(StrictModel):
    """Pool-based active learning; the run's ``model`` is the sampler, ``learner`` the task model.

    The learning curve has ``rounds + 1`` points: round 0 trains on ``initial_size`` labelled
    images, each later round adds ``budget`` images chosen by the sampler.
    """

    name: Literal["active_learning"]
    learner: str
    initial_size: int = Field(gt=0)
    budget: int = Field(gt=0)
    rounds: int = Field(ge=0)
    seeds: list[int] = Field(min_length=1)
    initial_selection: Literal["random"] = "random"
    sampler_input: SamplerInputSpec = SamplerInputSpec()


class KFoldSpec(StrictModel):
    """Fold rotation: for each fold, train on the other folds and test on it; one job per (seed, fold).

    ``folds`` are split names of the manifest. The checkpoint is selected on a seeded, group-aware
    ``val_fraction`` of the training folds (the test fold is never seen before testing).
    """

    name: Literal["kfold"]
    folds: list[str] = Field(min_length=2)
    seeds: list[int] = Field(min_length=1)
    val_fraction: float = Field(0.1, gt=0, lt=1)

    @field_validator("folds")
    @classmethod
    def _distinct(cls, v: list[str]) -> list[str]:
        if len(set(v)) != len(v):
            raise ValueError(f"folds must be distinct, got {v}")
        return v


class PruningSweepSpec(StrictModel):
    """Post-training channel pruning (no fine-tuning): one model per seed (train / val), then per fraction of pruned
    channels a structurally pruned copy scored on ``test``; importance from a ``calibration_split`` disjoint from test.
    """

    name: Literal["pruning_sweep"]
    fractions: list[float] = Field(min_length=1, description="fractions of the prunable 3x3-conv channels removed")
    seeds: list[int] = Field(min_length=1)
    importance: Literal["taylor_fo_normalised"] = "taylor_fo_normalised"
    calibration_split: Literal["train", "val"] = "val"
    calibration_size: int | None = Field(None, gt=0, description="a seeded subset of the calibration split; None: all")
    latency_batch: int = Field(10, gt=0)
    latency_repeats: int = Field(5, gt=0)

    @field_validator("fractions")
    @classmethod
    def _fractions(cls, v: list[float]) -> list[float]:
        if any(not 0 <= f < 1 for f in v) or sorted(set(v)) != list(v):
            raise ValueError(f"fractions must be distinct, ascending and in [0, 1), got {v}")
        return v


class FederatedSpec(StrictModel):
    """Federated simulation (FedAvg / FedProx): per (seed, round) every client trains ``local_epochs`` from the global
    weights on its ``<client>_train`` split, with the proximal term (mu / 2) ||w - w_global||^2 (mu = 0 is FedAvg);
    the server averages the client weights (``samples``: weighted by client training-set size, or ``uniform``).
    Each round scores each client's local model on ``<client>_test`` and the global model on ``server_split`` and on
    every client test set. ``classes`` declares each client's classes (the adapter's ``case_attribute``), which the
    protocol checks (non-IID label skew as declared); client and server splits are checked disjoint.
    """

    name: Literal["federated"]
    clients: list[str] = Field(min_length=1, description="client names; splits <client>_train and <client>_test")
    classes: dict[str, list[str]] = Field(default_factory=dict, description="client -> classes it may hold")
    case_attribute: str = "class"
    server_split: str = "test"
    rounds: int = Field(gt=0)
    local_epochs: int = Field(gt=0)
    mu: float = Field(0.0, ge=0, description="FedProx proximal strength; 0 = FedAvg")
    weighting: Literal["samples", "uniform"] = "samples"
    seeds: list[int] = Field(min_length=1)

    @model_validator(mode="after")
    def _clients(self) -> "FederatedSpec":
        if len(set(self.clients)) != len(self.clients):
            raise ValueError(f"clients must be distinct, got {self.clients}")
        unknown = set(self.classes) - set(self.clients)
        if unknown:
            raise ValueError(f"classes names unknown clients {sorted(unknown)}")
        return self

    def split_names(self) -> list[str]:
        return [f"{c}_{part}" for c in self.clients for part in ("train", "test")] + [self.server_split]


class DomainSpec(StrictModel):
    """One more dataset of a multi-dataset protocol: its data block and (3D adapters) its slicing block."""

    data: DataSpec
    slicing: SlicingSpec | None = None


class TransferStageSpec(StrictModel):
    """One trained model of a transfer study: trained on ``train`` (one domain, or several pooled), from scratch or
    initialised from the model of stage ``init`` with ``freeze`` (``encoder``, ``all_but_last_decoder_block``, ``none``).
    """

    train: list[str] = Field(min_length=1)
    init: str | None = None
    freeze: Literal["encoder", "all_but_last_decoder_block", "none"] = "none"
    test: list[str] | None = Field(None, description="domains to score on; None: every domain")


class TransferSpec(StrictModel):
    """Train-on x test-on matrix (paper 7). ``home`` names the card's own ``data`` block; ``domains`` the others.

    Each stage is one job per seed (after its ``init`` stage); it is scored on the test split of each of its
    test domains. A cell is ``scratch`` (in-domain, no init), ``zero_shot`` (the test domain is in no training
    stage of the chain), ``finetune`` (test domain = the last stage's) or ``earlier`` (a domain earlier in the chain).
    """

    name: Literal["transfer"]
    home: str
    domains: dict[str, DomainSpec] = {}
    stages: dict[str, TransferStageSpec] = Field(min_length=1)
    seeds: list[int] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> "TransferSpec":
        names = {self.home, *self.domains}
        if self.home in self.domains:
            raise ValueError(f"home domain {self.home!r} must not be repeated in domains")
        order = list(self.stages)
        for key, st in self.stages.items():
            bad = [d for d in (*st.train, *(st.test or [])) if d not in names]
            if bad:
                raise ValueError(f"stage {key!r} uses unknown domains {bad}; known: {sorted(names)}")
            if st.init is not None and (st.init not in self.stages or order.index(st.init) >= order.index(key)):
                raise ValueError(f"stage {key!r}: init {st.init!r} must be an earlier stage")
            if st.init is None and st.freeze != "none":
                raise ValueError(f"stage {key!r}: freeze needs an init stage")
        return self


class WarpSpec(StrictModel):
    """Seeded weak-label generator: random affine (rotation, isotropic scale, translation) + elastic deformation
    (Simard et al.: uniform(-1, 1) displacement fields smoothed by a Gaussian of ``elastic_sigma`` px, times
    ``elastic_alpha`` px), applied to the true mask, bilinear then thresholded at 0.5."""

    rotate_deg: float = Field(8.0, ge=0)
    scale: float = Field(0.08, ge=0, lt=1, description="scale drawn from [1 - scale, 1 + scale]")
    translate: float = Field(0.03, ge=0, description="shift drawn from +-translate x image size")
    elastic_alpha: float = Field(30.0, ge=0)
    elastic_sigma: float = Field(6.0, gt=0)


class WeakLabelSpec(StrictModel):
    """Iterative weak-label refinement (paper 3) on the card's data (the target), pre-trained on ``source``.

    masks(0) = warped true masks; round k = 1..iterations fine-tunes the pre-trained model (``reinit: pretrained``)
    or the previous round's (``continue``) for ``finetune_epochs`` on masks(k-1), predicts masks(k) and scores them
    on test against the true masks. ``transductive`` lets fine-tuning see the test images (with their masks(k-1)).
    """

    name: Literal["weak_label_refinement"]
    source: DomainSpec
    iterations: int = Field(3, ge=1)
    finetune_epochs: int = Field(15, ge=1)
    reinit: Literal["pretrained", "continue"] = "pretrained"
    transductive: bool = False
    freeze: Literal["encoder", "all_but_last_decoder_block", "none"] = "none"
    warp: WarpSpec = WarpSpec()
    seeds: list[int] = Field(min_length=1)


class VolumeSpec(StrictModel):
    """How 3D cases reach a volumetric model (``mbench.data.volumes``): channels in order, optional resampling."""

    channels: list[str] = Field(min_length=1, description="input modalities of the adapter, stacked in this order")
    target_spacing: tuple[float, float, float] | None = Field(
        None, description="resample every case to this spacing (mm, array axis order) for the model; predictions "
                          "go back to the native grid for scoring; None: native spacing")


class VolumetricHoldoutSpec(StrictModel):
    """3D holdout: a patch-trained model per seed, checkpoint chosen on ``val``, sliding-window scoring on ``test``."""

    name: Literal["volumetric_holdout"]
    seeds: list[int] = Field(min_length=1)

    def split_names(self) -> list[str]:
        return ["train", "val", "test"]


class FoldEnsembleSpec(StrictModel):
    """k-fold training on the training folds and a fold ensemble on ``test`` (paper 1, nnU-Net / Auto3DSeg style).

    For each seed and fold a model trains on the other folds and selects its checkpoint on that fold; the
    ensemble averages the softmax probabilities of the fold models on every test case (argmax of the mean).
    """

    name: Literal["fold_ensemble"]
    folds: list[str] = Field(min_length=2)
    test: str = "test"
    seeds: list[int] = Field(min_length=1)

    @field_validator("folds")
    @classmethod
    def _distinct_folds(cls, v: list[str]) -> list[str]:
        if len(set(v)) != len(v):
            raise ValueError(f"folds must be distinct, got {v}")
        return v

    def split_names(self) -> list[str]:
        return [*self.folds, self.test]


class FeatureEvalSpec(StrictModel):
    """Feature models (``FeatureModel``: per-image features, then a classical classifier). For each seed and each
    split in ``test_splits``, the model is fitted on the other ``splits`` and scored on it: one test split is a
    holdout (e.g. the paper's 80:20), every split a k-fold rotation. ``rebalance: smote`` oversamples the training
    rows only, inside the model's fit. Features are computed once per image and cached (shared by classifiers).
    """

    name: Literal["feature_eval"]
    splits: list[str] = Field(min_length=2, description="manifest splits used (training = all but the test split)")
    test_splits: list[str] = Field(min_length=1, description="each is the test set of one job per seed")
    seeds: list[int] = Field(min_length=1)
    rebalance: Literal["none", "smote"] = "none"

    @model_validator(mode="after")
    def _tests_are_splits(self) -> "FeatureEvalSpec":
        if len(set(self.splits)) != len(self.splits) or not set(self.test_splits) <= set(self.splits):
            raise ValueError(f"splits must be distinct and contain test_splits, got {self.splits} / {self.test_splits}")
        return self

    def split_names(self) -> list[str]:
        return list(self.splits)


class SuperImagePrepSpec(StrictModel):
    """How a case becomes the (C, D, H, W) volume that is tiled (paper 24), after the card's ``volume`` block.

    The ``axial_axis`` of the adapter's arrays moves first (D); then per-channel intensity (``ct_window``: clip to
    ``ct_window`` HU and scale to [-1, 1]; ``zscore``: per case over all voxels; ``none``), then an optional
    ``crop`` (D, H, W) centred on the reference's centre of mass (``reference``, as paper 24's 80 x 80 x 48
    ablation) or the volume centre (``image``), zero-padded where it leaves the volume, then an optional
    ``resize`` (D, H, W): linear for images, nearest for labels, spacing scaled to match.
    """

    axial_axis: int = Field(2, ge=0, le=2, description="array axis of the adapter's volumes that holds the slices")
    intensity: dict[str, Literal["ct_window", "zscore", "none"]] = {}
    ct_window: tuple[float, float] = (-1024.0, 1024.0)
    crop: tuple[int, int, int] | None = None
    crop_centre: Literal["reference", "image"] = "reference"
    resize: tuple[int, int, int] | None = None


class SuperImageSpec(StrictModel):
    """k-fold CV of 2D networks on super images (paper 24) or, for volumetric models, on the volumes themselves.

    Each case is prepared (``prep``), tiled into one 2D image per grid of ``grids`` (a sweep dimension:
    ``auto`` = :func:`mbench.data.super_image.choose_grid`, or ``<rows>x<cols>``), segmented, reassembled exactly and
    scored in 3D with the volume's spacing. Validation is carved out of the training folds as in ``kfold``.
    """

    name: Literal["super_image"]
    folds: list[str] = Field(min_length=2)
    seeds: list[int] = Field(min_length=1)
    val_fraction: float = Field(0.1, gt=0, lt=1)
    grids: list[str] = Field(["auto"], min_length=1)
    prep: SuperImagePrepSpec = SuperImagePrepSpec()
    efficiency: bool = Field(True, description="record parameters and FLOPs of the network at the real input size")

    @field_validator("folds", "grids")
    @classmethod
    def _distinct_items(cls, v: list[str]) -> list[str]:
        if len(set(v)) != len(v):
            raise ValueError(f"entries must be distinct, got {v}")
        return v

    def split_names(self) -> list[str]:
        return list(self.folds)


class SeparationEvalSpec(StrictModel):
    """Unsupervised source separation scored by how well per-image criteria separate two classes (paper 18): each
    image of ``splits`` is separated on its own (one job per seed), its criteria are computed over the lesion, and
    each criterion is scored as a class-1 score (AUC, Mann-Whitney U, box overlap); ``criterion`` is the headline one.
    """

    name: Literal["separation_eval"]
    splits: list[str] = Field(min_length=1)
    seeds: list[int] = Field(min_length=1)
    criterion: str = Field(description="the headline per-image criterion, e.g. C_melanin")

    def split_names(self) -> list[str]:
        return list(self.splits)


class TilingSpec(StrictModel):
    """Square tiles over large images (whole-slide regions): ``size`` px, ``overlap`` px between evaluation tiles,
    ``train_overlap`` between training tiles; detections of overlapping tiles merge by NMS at ``merge_iou``."""

    size: int = Field(512, gt=0)
    overlap: int = Field(64, ge=0)
    train_overlap: int = Field(0, ge=0)
    merge_iou: float = Field(0.5, gt=0, le=1)

    @model_validator(mode="after")
    def _overlap_below_size(self) -> "TilingSpec":
        if self.overlap >= self.size or self.train_overlap >= self.size:
            raise ValueError(f"tile overlaps must be smaller than the tile size {self.size}")
        return self


class CrossDomainDetectionSpec(StrictModel):
    """Single-source domain generalisation for detection (paper 11): per seed and ``sources`` domain, a detector is
    trained on the tiles of that domain's images (a seeded ``val_fraction`` of them held out for checkpoint
    selection; 0 = train on all, keep the last epoch) and scored on every other domain's whole images (tiles mapped
    back to image coordinates, duplicates merged), one result per (source, target) pair. ``domains`` are split
    names of the manifest; ``detect`` the label names the detector learns and is scored on (other labels, e.g. hard
    negatives, are not references). Point F1 matches box centres within ``f1_radius`` px at scores >= ``f1_threshold``.
    ``train_images`` / ``test_images`` cap each domain at a seeded subset of its images (the same for every run
    seed; quick settings only).
    """

    name: Literal["cross_domain_detection"]
    domains: list[str] = Field(min_length=2)
    sources: list[str] | None = Field(None, description="source domains to train on; None: every domain")
    seeds: list[int] = Field(min_length=1)
    detect: list[str] = Field(min_length=1)
    val_fraction: float = Field(0.0, ge=0, lt=1)
    train_images: int | None = Field(None, ge=1, description="train on a seeded subset of n images of the source "
                                     "domain (quick runs; before the val hold-out); None: all")
    test_images: int | None = Field(None, ge=1, description="score a seeded subset of n images of each target "
                                    "domain (quick runs); None: all")
    tiling: TilingSpec = TilingSpec()
    f1_radius: float = Field(30.0, gt=0)
    f1_threshold: float = Field(0.5, ge=0, le=1)

    @model_validator(mode="after")
    def _sources_known(self) -> "CrossDomainDetectionSpec":
        if len(set(self.domains)) != len(self.domains):
            raise ValueError(f"domains must be distinct, got {self.domains}")
        unknown = [d for d in self.sources or [] if d not in self.domains]
        if unknown:
            raise ValueError(f"sources {unknown} are not in domains {self.domains}")
        return self

    def split_names(self) -> list[str]:
        return list(self.domains)


class FewShotSpec(StrictModel):
    """Few-shot identification of unseen classes (paper 10, GMDB-Rare): the run's model is an embedder.

    Per seed: fit the embedder on the base classes (``train``; checkpoint on ``val``), check that no novel class is
    a base class, embed the ``novel`` split, then per support / query episode (the release's fold files, e.g.
    GMDB's 10 rare gallery / test splits) rank the support images by cosine similarity to each query (1-NN) and
    score the retrieval metrics. ``base_test`` (when the embedder has a classifier head) adds base-class accuracy.
    """

    name: Literal["few_shot"]
    seeds: list[int] = Field(min_length=1)
    novel: str = "novel"
    base_test: str | None = "test"
    episodes: Literal["official"] = Field("official", description="support / query episodes: the dataset's own "
                                                                     "fold files (the adapter's episodes())")
    n_episodes: int = Field(10, gt=0, description="episodes the data must define (GMDB-Rare: 10)")
    similarity: Literal["cosine"] = "cosine"
    model_kind: Literal["embedder"] = "embedder"

    def split_names(self) -> list[str]:
        return ["train", "val", *([self.base_test] if self.base_test else []), self.novel]


class SignalWindowsSpec(StrictModel):
    """Classification of fixed-length signal windows (EEG, paper 14): every recording of the manifest's train / val /
    test splits is cut into non-overlapping (``overlap_s`` = 0) windows of each length in ``window_s`` (seconds);
    a window never straddles two recordings, and a recording belongs to one split (the adapter's ``group_by`` decides
    whether subjects may recur across splits). One job per (seed, window length); channels are z-scored with
    training-set statistics. Rows carry the window length as their region (``window=5s``).
    """

    name: Literal["signal_windows"]
    window_s: list[float] = Field(min_length=1)
    overlap_s: float = Field(0.0, ge=0)
    seeds: list[int] = Field(min_length=1)

    @model_validator(mode="after")
    def _windows(self) -> "SignalWindowsSpec":
        if any(w <= 0 for w in self.window_s) or any(self.overlap_s >= w for w in self.window_s):
            raise ValueError(f"window_s must be positive and longer than overlap_s, got {self.window_s}")
        return self



class VideoActionSpec(StrictModel):
    """Multi-head video action recognition with withheld test labels (paper 16, Trauma THOMPSON): per seed a video
    classifier trains on ``train`` clips (checkpoint on ``val``) and predicts every ``test`` clip; ``n_frames`` frames
    are sampled uniformly per clip and resized to ``frame_size``. The test labels are never read through the adapter:
    only the scorer (``mbench.protocols.withheld``) opens ``withheld_labels`` (relative to the data root, or
    absolute), after prediction. Without that file the run is predictions-only (predictions stored in the job
    result, rows NaN with a note). ``action_scores``:
    ``head`` (the action head) or ``verb_noun`` (P(verb) x P(noun) over the valid pairs, EPIC-Kitchens style).
    Rows: region ``<head>`` (over all clips) and ``<head>|<by>=<value>`` / ``<head>|<by>:mean`` per stratum.
    """

    name: Literal["video_actions"]
    seeds: list[int] = Field(min_length=1)
    heads: dict[str, int] = Field(min_length=1, description="head -> number of classes, e.g. verb: 37")
    n_frames: int = Field(8, ge=1, description="frames sampled uniformly per clip (segment centres)")
    frame_size: int = Field(224, gt=0)
    action_scores: Literal["head", "verb_noun"] = "head"
    withheld_labels: str | None = Field(None, description="the organiser's test label file; None: predictions only")
    by: str | None = Field("procedure", description="case attribute for the per-stratum breakdown; None: none")

    def split_names(self) -> list[str]:
        return ["train", "val", "test"]


class LeaveOneOutSpec(StrictModel):
    """Leave-one-out cross-validation over the groups (procedure instances) of ``split`` (paper 12): for each group,
    a sequence classifier is fitted on all other groups and predicts the held-out one; a group never crosses train
    and test. One job per seed; rows: accuracy over the held-out predictions and the within- / between-class
    distance statistics of the classifier's representation over all instances.
    """

    name: Literal["leave_one_out"]
    split: str = "all"
    seeds: list[int] = Field(min_length=1)

    def split_names(self) -> list[str]:
        return [self.split]

class PairwiseRegistrationSpec(StrictModel):
    """Deformable registration of case pairs (papers 13 and 20): a registrar maps each (moving, fixed) pair of
    ``split`` to a displacement field; the reference moving labels are warped (nearest neighbour) and scored against
    the fixed labels, the field by its Jacobian, the images by similarity. One job per seed.

    ``pairs``: ``all_i_lt_j`` (inter-subject: every unordered pair of the split's sorted cases, fixed = the earlier),
    ``dataset`` (the release's own pair list) or ``within_case`` (each case holds a fixed and a moving image of the
    same specimen, e.g. MALDI and MRI of one section). ``label_input``: which label maps the registrar receives
    (``predicted`` segmentations the dataset provides, the ``reference`` masks, or ``none``); scoring always uses the
    reference labels. ``fit_split`` None = nothing is trained on the task's data (zero-shot or classical methods);
    ``train_source`` declares what the model was trained on instead. ``label_groups`` add per-pair means over label
    subsets (region ``mean:<group>``, e.g. labels seen in training). ``similarity_images``: the two images the image
    similarity metrics compare (paper 13: the original and the registered moving image).
    """

    name: Literal["pairwise_registration"]
    split: str = "test"
    pairs: Literal["all_i_lt_j", "dataset", "within_case"]
    max_cases: int | None = Field(None, ge=2, description="use only the first n cases of the split (quick runs)")
    seeds: list[int] = Field(default_factory=lambda: [0], min_length=1)
    label_input: Literal["predicted", "reference", "none"] = "predicted"
    fit_split: str | None = None
    train_source: str = Field("", description="what the registrar was trained on (zero-shot declaration)")
    segmenter_split: str | None = Field(None, description="the manifest split the segmenter whose predicted labels "
                                        "the registrar sees was trained on (paper 20: nnU-Net); never registered")
    label_groups: dict[str, list[str]] = Field(default_factory=dict)
    similarity_images: Literal["moving_vs_warped", "fixed_vs_warped"] = "moving_vs_warped"

    def split_names(self) -> list[str]:
        return [self.split] + [s for s in (self.fit_split, self.segmenter_split) if s]


ProtocolSpec = Annotated[Union[HoldoutSpec, ActiveLearningSpec, KFoldSpec, PruningSweepSpec, FederatedSpec, TransferSpec, WeakLabelSpec, VolumetricHoldoutSpec, FoldEnsembleSpec, FeatureEvalSpec, ImageToImageSpec, SuperImageSpec, SeparationEvalSpec, CrossDomainDetectionSpec, FewShotSpec, SignalWindowsSpec, VideoActionSpec, LeaveOneOutSpec, PairwiseRegistrationSpec], Field(discriminator="name")]


class ConventionProfile(StrictModel):
    """Declared metric conventions, written into every result."""

    both_empty: float | None = Field(1.0, description="score when reference and prediction are both empty")
    reference_empty_prediction_not: float | None = 0.0
    aggregation: Literal["per_case_mean", "pooled"] = "per_case_mean"
    distance_worst: float | None = Field(None, description="value (mm) that replaces an infinite distance when exactly "
                                                           "one mask is empty; None keeps inf")
    empty_reference: Literal["count", "exclude"] = Field(
        "count", description="whether cases whose reference is empty count (exclude -> NaN with a note, counted as n_nan)")
    nsd_tolerance: float | None = Field(None, gt=0, description="NSD tolerance in mm (metric default when None)")
    connectivity: int = Field(1, ge=1, le=3, description="boundary connectivity of the surface metrics")
    spacing_source: str = "image header"
    case_unit: str = Field("case", description="what one scored case is, e.g. '2D axial slice'")
    pair_units: Literal["none", "cases", "fixed_case"] = Field(
        "none", description="registration tasks whose score rows are case pairs (case id 'fixed|moving'): paired "
        "statistics first average each case's pair scores, so the test units are cases, not the pairs that share "
        "them ('cases': a pair counts for its fixed and its moving case; 'fixed_case': for its fixed case only)")
    notes: str = ""


class StrataSpec(StrictModel):
    """Report case-level metrics per stratum of a case attribute (e.g. PanNuke's tissue type) and their mean.

    Each evaluation adds dataset-level rows (case ``*``) with region ``<region>|<by>=<value>`` (the mean
    over the stratum's cases) and ``<region>|<by>:mean`` (the unweighted mean over strata).
    """

    by: str = Field(description="case attribute the adapter provides, e.g. 'tissue'")
    regions: list[str] = Field(default_factory=list, description="regions to stratify; empty = unregioned rows")
    aggregate: Literal["unweighted_mean"] = "unweighted_mean"


class MetricsSpec(StrictModel):
    """Metrics reported by the task; ``primary`` is the one learning curves and tables lead with."""

    primary: str
    report: list[str] = Field(min_length=1)
    conventions: ConventionProfile = ConventionProfile()
    strata: StrataSpec | None = None
    mean_over_regions: list[str] = Field(default_factory=list, description="regions whose means are averaged into "
                                         "dataset-level rows of region 'mean' per metric (paper 1's mean DSC)")
    lesion_free_regions: list[str] = Field(default_factory=list, description="regions whose empty-reference cases "
                                           "are scored by the false_positive_* metrics (paper 1's 'FP out of 7')")
    params: dict[str, dict[str, Any]] = Field(default_factory=dict, description="metric id -> keyword arguments "
                                              "(e.g. psnr: {data_range: 1.0}); a reported metric whose registry "
                                              "default of data_range is None must declare it here")

    @model_validator(mode="after")
    def _primary_reported(self) -> "MetricsSpec":  # noqa: D401
        if self.primary not in self.report:
            raise ValueError(f"primary metric {self.primary!r} must be listed in report {self.report}")
        self._declared_data_ranges()
        return self

    def _declared_data_ranges(self) -> None:
        """Metrics whose data range has no default (PSNR, SSIM, LPIPS, VIF) must get it from the card."""
        from mbench.metrics.registry import get_metric

        for metric_id in self.report:
            needs = get_metric(metric_id).params.get("data_range", 0) is None
            if needs and self.params.get(metric_id, {}).get("data_range") is None:
                raise ValueError(f"metric {metric_id!r} needs an explicit data range: declare metrics.params."
                                 f"{metric_id}.data_range (the width of the target's intensity scale)")
        for metric_id in self.params:  # a typo is an error (an unreported metric may keep its parameters)
            get_metric(metric_id)


class PostprocessOp(StrictModel):
    """One post-processing step on binary predicted masks (``mbench.protocols.postprocess``), applied before scoring."""

    op: Literal["remove_small_objects", "closing", "fill_holes", "keep_largest_component"]
    min_size: int | None = Field(None, ge=1, description="remove_small_objects: smallest kept component (pixels)")
    radius: int | None = Field(None, ge=0, description="closing: disk radius (pixels)")
    connectivity: int | None = Field(None, ge=1, le=2, description="1 = 4-neighbour, 2 = 8-neighbour")

    @model_validator(mode="after")
    def _params_fit_the_op(self) -> "PostprocessOp":
        allowed = {"remove_small_objects": {"min_size"}, "closing": {"radius"}}.get(self.op, set()) | {"connectivity"}
        if self.op == "closing":
            allowed -= {"connectivity"}
        extra = [k for k in ("min_size", "radius", "connectivity") if getattr(self, k) is not None and k not in allowed]
        if extra:
            raise ValueError(f"post-processing op {self.op!r} takes no {extra}")
        return self


class ComparisonPlan(StrictModel):
    """The tests a task's comparison runs (each shown in its own table), e.g. the paper's Welch test beside the
    paired test the design calls for; ``against_best``: compare a chosen model with the best other entry per metric."""

    tests: list[str] = Field(min_length=1, description="mbench.stats.TESTS ids, e.g. [welch, ttest_rel, wilcoxon]")
    correction: str = "none"
    alpha: float = Field(0.05, gt=0, lt=1)
    against_best: bool = False
    notes: str = ""


class ReferenceResult(StrictModel):
    """A number the paper reports, with where it says so."""

    metric: str
    value: float
    setting: str
    source: str
    region: str = Field("", description="the scored region (or '<region>|<by>=<stratum>') the number refers to")
    note: str = ""


class TaskSpec(StrictModel):
    """One task card. See ``tasks/brats18/*.yaml`` for complete examples."""

    id: str = Field(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$")
    version: str = Field(pattern=r"^\d+\.\d+\.\d+$")
    title: str
    family: str
    paper: str
    aliases: list[str] = []
    problem: ProblemType
    data: DataSpec
    slicing: SlicingSpec | None = Field(None, description="3D datasets only: how volumes become 2D slices")
    volume: VolumeSpec | None = Field(None, description="volumetric tasks only: channels and resampling")
    labels: dict[str, int] = Field(description="label name -> integer code in the reference label maps")
    target: Literal["whole_tumour", "foreground", "label_presence", "label_index", "class_code", "image", "boxes"] = Field(
        description="what learners predict: masks, multi-hot presence, class-index maps, or class_code (image "
                    "classification: the adapter's reference is one integer class code per image, used as is)")
    regions: dict[str, list[str]] = Field(default_factory=dict,
                                          description="scored regions as sets of label names, e.g. WT: [NCR, ED, ET]")
    preprocessing: PreprocessingSpec = PreprocessingSpec()
    protocol: ProtocolSpec
    metrics: MetricsSpec
    models: list[str] = Field(min_length=1, description="registered models this task accepts")
    model_defaults: dict[str, dict[str, Any]] = {}
    reference_results: list[ReferenceResult] = []
    postprocessing: list[PostprocessOp] = Field(default_factory=list, description="ops applied in order to "
                                                "binary test predictions before scoring (empty: none)")
    quick: dict[str, Any] = Field(default_factory=dict, description="overrides for the unofficial quick setting")
    comparison: ComparisonPlan | None = Field(None, description="the statistical comparison the paper makes; "
                                              "`mbench compare` runs it when no test= is given")

    @model_validator(mode="after")
    def _regions_use_known_labels(self) -> "TaskSpec":
        for region, names in self.regions.items():
            unknown = [n for n in names if n not in self.labels]
            if unknown:
                raise ValueError(f"region {region!r} uses labels {unknown} not in labels {list(self.labels)}")
        for key in ("mean_over_regions", "lesion_free_regions"):
            unknown = [r for r in getattr(self.metrics, key) if r not in self.regions]
            if unknown:
                raise ValueError(f"metrics.{key} {unknown} are not in regions {list(self.regions)}")
        if self.problem == "volume_segmentation" and self.volume is None:
            raise ValueError("volume_segmentation tasks need a volume block (channels, target_spacing)")
        strata = self.metrics.strata
        if strata is not None:
            unknown = [r for r in strata.regions if r not in self.regions]
            if unknown:
                raise ValueError(f"metrics.strata.regions {unknown} are not in regions {list(self.regions)}")
        return self

    def split_names(self) -> list[str]:
        """The split names the protocol reads from the manifest (``train``/``val``/``test`` or the folds)."""
        if hasattr(self.protocol, "split_names"):  # federated, volumetric protocols
            return self.protocol.split_names()
        return list(self.protocol.folds) if isinstance(self.protocol, KFoldSpec) else ["train", "val", "test"]

    def region_codes(self) -> dict[str, tuple[int, ...]]:
        """Regions as tuples of label codes, e.g. ``{"WT": (1, 2, 4)}``."""
        return {r: tuple(self.labels[n] for n in names) for r, names in self.regions.items()}
