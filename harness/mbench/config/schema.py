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
    "HoldoutSpec", "ActiveLearningSpec", "ProtocolSpec", "ConventionProfile", "MetricsSpec",
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


ProtocolSpec = Annotated[Union[HoldoutSpec, ActiveLearningSpec], Field(discriminator="name")]


class ConventionProfile(StrictModel):
    """Declared metric conventions, written into every result."""

    both_empty: float | None = Field(1.0, description="score when reference and prediction are both empty")
    reference_empty_prediction_not: float | None = 0.0
    aggregation: Literal["per_case_mean", "pooled"] = "per_case_mean"
    distance_worst: float | None = Field(None, description="value (mm) that replaces an infinite distance when exactly "
                                                           "one mask is empty; None keeps inf")
    spacing_source: str = "image header"
    case_unit: str = Field("case", description="what one scored case is, e.g. '2D axial slice'")
    notes: str = ""


class MetricsSpec(StrictModel):
    """Metrics reported by the task; ``primary`` is the one learning curves and tables lead with."""

    primary: str
    report: list[str] = Field(min_length=1)
    conventions: ConventionProfile = ConventionProfile()

    @model_validator(mode="after")
    def _primary_reported(self) -> "MetricsSpec":  # noqa: D401
        if self.primary not in self.report:
            raise ValueError(f"primary metric {self.primary!r} must be listed in report {self.report}")
        return self


class ReferenceResult(StrictModel):
    """A number the paper reports, with where it says so."""

    metric: str
    value: float
    setting: str
    source: str
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
    slicing: SlicingSpec
    labels: dict[str, int] = Field(description="label name -> integer code in the reference label maps")
    target: Literal["whole_tumour", "label_presence", "label_index"]
    regions: dict[str, list[str]] = Field(default_factory=dict,
                                          description="scored regions as sets of label names, e.g. WT: [NCR, ED, ET]")
    preprocessing: PreprocessingSpec = PreprocessingSpec()
    protocol: ProtocolSpec
    metrics: MetricsSpec
    models: list[str] = Field(min_length=1, description="registered models this task accepts")
    model_defaults: dict[str, dict[str, Any]] = {}
    reference_results: list[ReferenceResult] = []
    quick: dict[str, Any] = Field(default_factory=dict, description="overrides for the unofficial quick setting")

    @model_validator(mode="after")
    def _regions_use_known_labels(self) -> "TaskSpec":
        for region, names in self.regions.items():
            unknown = [n for n in names if n not in self.labels]
            if unknown:
                raise ValueError(f"region {region!r} uses labels {unknown} not in labels {list(self.labels)}")
        return self

    def region_codes(self) -> dict[str, tuple[int, ...]]:
        """Regions as tuples of label codes, e.g. ``{"WT": (1, 2, 4)}``."""
        return {r: tuple(self.labels[n] for n in names) for r, names in self.regions.items()}
