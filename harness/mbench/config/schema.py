"""Pydantic models of a task card. Unknown fields are errors (``extra="forbid"``).

A task card is a versioned YAML file under ``tasks/<family>/``: the dataset adapter and split
manifest, the protocol with the paper's settings, the metric profile with its conventions, the
paper's reported numbers, and a ``quick`` block of overrides for a CPU-sized, unofficial run.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = [
    "StrictModel", "SplitRef", "StandinSpec", "DataSpec", "SlicingSpec", "PreprocessingSpec", "SamplerInputSpec",
    "HoldoutSpec", "ActiveLearningSpec", "KFoldSpec", "PruningSweepSpec", "FederatedSpec", "DomainSpec", "TransferStageSpec", "TransferSpec", "WarpSpec",
    "WeakLabelSpec", "ProtocolSpec", "ConventionProfile", "StrataSpec", "MetricsSpec",
    "ReferenceResult", "TaskSpec",
]

ProblemType = Literal["segmentation", "multilabel_classification", "classification"]


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
    """How 3D cases become 2D samples: axial slices with enough reference foreground."""

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
    normalise: Literal["train_zscore", "imagenet", "none"] = "train_zscore"
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


ProtocolSpec = Annotated[Union[HoldoutSpec, ActiveLearningSpec, KFoldSpec, PruningSweepSpec, FederatedSpec, TransferSpec, WeakLabelSpec], Field(discriminator="name")]


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

    @model_validator(mode="after")
    def _primary_reported(self) -> "MetricsSpec":  # noqa: D401
        if self.primary not in self.report:
            raise ValueError(f"primary metric {self.primary!r} must be listed in report {self.report}")
        return self


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
    labels: dict[str, int] = Field(description="label name -> integer code in the reference label maps")
    target: Literal["whole_tumour", "foreground", "label_presence", "label_index"]
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

    @model_validator(mode="after")
    def _regions_use_known_labels(self) -> "TaskSpec":
        for region, names in self.regions.items():
            unknown = [n for n in names if n not in self.labels]
            if unknown:
                raise ValueError(f"region {region!r} uses labels {unknown} not in labels {list(self.labels)}")
        strata = self.metrics.strata
        if strata is not None:
            unknown = [r for r in strata.regions if r not in self.regions]
            if unknown:
                raise ValueError(f"metrics.strata.regions {unknown} are not in regions {list(self.regions)}")
        return self

    def split_names(self) -> list[str]:
        """The split names the protocol reads from the manifest (``train``/``val``/``test`` or the folds)."""
        if isinstance(self.protocol, FederatedSpec):
            return self.protocol.split_names()
        return list(self.protocol.folds) if isinstance(self.protocol, KFoldSpec) else ["train", "val", "test"]

    def region_codes(self) -> dict[str, tuple[int, ...]]:
        """Regions as tuples of label codes, e.g. ``{"WT": (1, 2, 4)}``."""
        return {r: tuple(self.labels[n] for n in names) for r, names in self.regions.items()}
