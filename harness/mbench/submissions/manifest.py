"""``submission.yaml``: the versioned manifest of a submission package, and the I/O contract a task expects.

A package is a folder (or a ``.zip`` of one) holding ``submission.yaml`` and, by kind:

- ``predictor``: code whose entry class has ``predict(images) -> array`` (pre-trained, weights in the package);
- ``trainable``: code with ``fit(images, targets, val_images, val_targets, *, score, seed, progress)`` and
  ``predict(images)`` (the :class:`mbench.models.capabilities.Learner` protocol), trained by the harness's protocol;
- ``sampler``: code with ``query(view, n, *, seed, progress) -> ids`` (the ``Sampler`` protocol) for
  active-learning tasks;
- ``predictions``: no code, a folder of predictions for every test sample in the task's format.

Example:
    >>> m = SubmissionManifest.model_validate({
    ...     "schema_version": 1, "id": "thresh", "version": "1.0.0", "team": "Lab A",
    ...     "authors": [{"name": "A. Author"}], "licence": "MIT", "tasks": ["brats18-wtseg"], "kind": "predictor",
    ...     "entry": {"file": "model.py", "class": "Model"},
    ...     "io": {"input": {"shape": [None, None], "dtype": "float32"},
    ...            "output": {"shape": [None, None], "dtype": "uint8", "labels": {0: "background", 1: "tumour"}}}})
    >>> m.model_id, m.entry.class_name
    ('sub:thresh@1.0.0', 'Model')
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from mbench.config.loading import format_validation_error
from mbench.config.schema import TaskSpec
from mbench.errors import MbenchError

__all__ = [
    "KINDS",
    "MANIFEST_NAME",
    "SCHEMA_VERSION",
    "ArraySpec",
    "Author",
    "EntryPoint",
    "IOContract",
    "OutputSpec",
    "PredictionsSpec",
    "SubmissionManifest",
    "WeightFile",
    "check_io",
    "expected_io",
    "load_manifest",
    "manifest_schema",
    "safe_relative_path",
]

SCHEMA_VERSION = 1
MANIFEST_NAME = "submission.yaml"
KINDS = ("predictor", "trainable", "sampler", "predictions")
Kind = Literal["predictor", "trainable", "sampler", "predictions"]
DType = Literal["float32", "float64", "uint8", "bool", "int64"]
_SAFE_PART = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]*$")
SEGMENTATION_DTYPES = ("uint8", "bool", "float32")
SCORE_DTYPES = ("float32", "float64")


def safe_relative_path(value: str) -> str:
    """A relative POSIX path inside the package: no ``..``, no absolute paths, plain names only.

    Example:
        >>> safe_relative_path("weights/model.npz")
        'weights/model.npz'
        >>> safe_relative_path("../secret")
        Traceback (most recent call last):
        ...
        ValueError: '../secret' is not a plain relative path inside the package (parts: letters, digits, . _ -)
    """
    path = PurePosixPath(value)
    if not value or path.is_absolute() or "\\" in value or not all(_SAFE_PART.match(p) for p in path.parts):
        raise ValueError(f"{value!r} is not a plain relative path inside the package (parts: letters, digits, . _ -)")
    return str(path)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Author(_Strict):
    """One author; ``name`` is free text (it is escaped wherever it is shown)."""

    name: str = Field(min_length=1, max_length=200)
    email: str | None = Field(None, max_length=200)
    affiliation: str | None = Field(None, max_length=300)


class EntryPoint(_Strict):
    """The file in the package and the class in it that the sandbox instantiates with ``params``."""

    file: str = Field(description="a .py file in the package, relative to its root")
    class_name: str = Field(alias="class", pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")

    @field_validator("file")
    @classmethod
    def _py(cls, v: str) -> str:
        v = safe_relative_path(v)
        if not v.endswith(".py"):
            raise ValueError(f"entry file must be a .py file, got {v!r}")
        return v


class WeightFile(_Strict):
    """A file of the package (weights, lookup tables) and the sha256 of its bytes, checked before every run."""

    path: str
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")

    @field_validator("path")
    @classmethod
    def _safe(cls, v: str) -> str:
        return safe_relative_path(v)


class ArraySpec(_Strict):
    """One sample's array: shape without the batch axis (``null`` = any size), dtype, channels."""

    shape: list[int | None] = Field(min_length=1, description="per-sample shape; null for any size")
    dtype: DType
    channels: int | None = Field(None, ge=1, description="size of a leading channel axis; null when there is none")


class OutputSpec(_Strict):
    """What the submission returns per sample, and what its values mean."""

    shape: list[int | None] = Field(min_length=1, description="per-sample shape; null for 'same as the input'")
    dtype: DType
    labels: dict[int, str] = Field(default_factory=dict, description="value -> meaning (segmentation), "
                                   "or index -> label name (multi-label scores)")
    range: tuple[float, float] | None = Field(None, description="value range of scores, e.g. [0, 1]")


class IOContract(_Strict):
    """The I/O contract: inputs the submission expects, outputs it produces (samplers return ids)."""

    input: ArraySpec
    aux_input: ArraySpec | None = None
    output: OutputSpec | None = None


class PredictionsSpec(_Strict):
    """Where a predictions-only package keeps its files: ``<folder>/<case>/<slice>.npy`` per test sample id."""

    folder: str = "predictions"
    format: Literal["npy-per-sample"] = "npy-per-sample"

    @field_validator("folder")
    @classmethod
    def _safe(cls, v: str) -> str:
        return safe_relative_path(v)


class SubmissionManifest(_Strict):
    """``submission.yaml``, schema version 1. See ``submissions/examples/*/submission.yaml``."""

    schema_version: Literal[1] = Field(description="version of this schema; mbench refuses versions it does not know")
    id: str = Field(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$", max_length=64)
    version: str = Field(pattern=r"^\d+\.\d+\.\d+$")
    team: str = Field(min_length=1, max_length=200, description="shown on the leaderboard (escaped)")
    authors: list[Author] = Field(min_length=1)
    licence: str = Field(min_length=1, max_length=100, description="SPDX id, e.g. MIT or Apache-2.0")
    description: str = Field("", max_length=2000)
    tasks: list[str] = Field(min_length=1, description="task ids (or aliases) the package is made for")
    kind: Kind
    entry: EntryPoint | None = None
    params: dict[str, Any] = Field(default_factory=dict, description="keyword arguments of the entry class")
    weights: list[WeightFile] = Field(default_factory=list)
    io: IOContract
    predictions: PredictionsSpec | None = None
    requirements: list[str] = Field(default_factory=list, description="Python packages the code imports; they "
                                    "must already be installed where mbench runs (nothing is installed)")

    @model_validator(mode="after")
    def _kind_fields(self) -> SubmissionManifest:
        if self.kind == "predictions":
            if self.entry is not None:
                raise ValueError("a predictions package has no code: remove 'entry'")
        else:
            if self.entry is None:
                raise ValueError(f"a {self.kind} package needs 'entry: {{file: ..., class: ...}}'")
            if self.predictions is not None:
                raise ValueError(f"'predictions' is for predictions-only packages, not a {self.kind}")
        if self.kind != "sampler" and self.io.output is None:
            raise ValueError(f"a {self.kind} package must declare io.output")
        return self

    @property
    def predictions_spec(self) -> PredictionsSpec:
        """Where the predictions of a predictions-only package are (the default folder unless declared)."""
        return self.predictions or PredictionsSpec()

    @property
    def model_id(self) -> str:
        """The id the run, the results and the leaderboard use: ``sub:<id>@<version>``."""
        return f"sub:{self.id}@{self.version}"


def manifest_schema() -> dict[str, Any]:
    """The JSON Schema of ``submission.yaml`` (``mbench validate submission=... --schema``).

    Example:
        >>> schema = manifest_schema()
        >>> schema["properties"]["schema_version"]["const"], "kind" in schema["required"]
        (1, True)
    """
    schema = SubmissionManifest.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = f"https://mbench.invalid/schemas/submission-v{SCHEMA_VERSION}.json"
    schema["title"] = f"mbench submission manifest, schema version {SCHEMA_VERSION}"
    return schema


def load_manifest(folder: Path) -> SubmissionManifest:
    """Read and validate ``<folder>/submission.yaml``."""
    path = Path(folder) / MANIFEST_NAME
    if not path.is_file():
        raise MbenchError(f"no {MANIFEST_NAME} in {folder}", expected=f"a package folder or .zip with {MANIFEST_NAME}",
                          found=", ".join(sorted(p.name for p in Path(folder).iterdir())[:8]) or "an empty folder",
                          fix="`mbench submission new <dir> task=<id> kind=<kind>` writes a working package")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise MbenchError(f"{path}: invalid YAML", found=str(exc).splitlines()[0], fix="fix the YAML syntax") from None
    if not isinstance(data, dict):
        raise MbenchError(f"{path} must be a YAML mapping", found=type(data).__name__)
    version = data.get("schema_version")
    if version != SCHEMA_VERSION:
        raise MbenchError(f"{path}: unsupported schema_version {version!r}", expected=str(SCHEMA_VERSION),
                          found=repr(version), fix=f"write schema_version: {SCHEMA_VERSION} (see --schema)")
    try:
        return SubmissionManifest.model_validate(data)
    except ValidationError as exc:
        raise format_validation_error(str(path), exc, SubmissionManifest) from None


# (problem, target) -> the meaning of each output value (segmentation) or column (multi-label scores)
def _target_labels(task: TaskSpec) -> dict[int, str]:
    if task.problem == "segmentation" and task.target in ("whole_tumour", "foreground"):
        return {0: "background", 1: task.target.replace("_", " ")}
    if task.problem == "segmentation" and task.target == "label_index":
        return {0: "background", **{i + 1: name for i, name in enumerate(task.labels)}}
    if task.problem == "multilabel_classification" and task.target == "label_presence":
        return dict(enumerate(task.labels))
    raise MbenchError(f"submissions do not support task {task.id} yet ({task.problem}, target {task.target})",
                      expected="segmentation (whole_tumour, foreground, label_index) or multi-label classification",
                      found=f"{task.problem} / {task.target}", fix="submit to another task, or use a registered model")


def expected_io(task: TaskSpec, kind: str) -> IOContract:
    """The contract the harness follows for ``task``: what it sends and what it accepts back.

    Segmentation outputs are one map per sample with the sample's spatial shape, values in the label set
    ({0, 1} for binary targets, class indices 0..K for ``label_index``); multi-label outputs one score per
    label in [0, 1]. Samplers get the pool images as the card's
    ``sampler_input`` says (and the auxiliary modality where the task has one).

    Example:
        >>> from mbench.tasks.registry import load_task
        >>> io = expected_io(load_task("brats18-wtseg").spec, "predictor")
        >>> io.input.shape, io.output.labels
        ([None, None], {0: 'background', 1: 'whole tumour'})
    """
    imagenet = task.preprocessing.normalise == "imagenet"
    image = ArraySpec(shape=[3, None, None] if imagenet else [None, None], dtype="float32",
                      channels=3 if imagenet else None)
    if kind == "sampler":
        size = getattr(task.protocol, "sampler_input", None)
        side = size.image_size if size else None
        single = ArraySpec(shape=[side, side], dtype="float32")
        return IOContract(input=single, aux_input=single if task.slicing.aux_modality else None)
    if task.problem == "segmentation":
        out = OutputSpec(shape=[None, None], dtype="uint8", labels=_target_labels(task))
    else:
        out = OutputSpec(shape=[len(task.labels)], dtype="float32", labels=_target_labels(task), range=(0.0, 1.0))
    return IOContract(input=image, output=out)


def check_io(declared: IOContract, task: TaskSpec, kind: str) -> list[str]:
    """Where a manifest's I/O contract disagrees with what ``task`` sends and accepts (empty: compatible)."""
    want = expected_io(task, kind)
    problems = []

    def shapes(name: str, got: list[int | None], exp: list[int | None]) -> None:
        if len(got) != len(exp) or any(g is not None and e is not None and g != e for g, e in zip(got, exp)):
            problems.append(f"{name}.shape {got}: task {task.id} uses {exp} (null = any size)")

    shapes("io.input", declared.input.shape, want.input.shape)
    if declared.input.dtype != want.input.dtype:
        problems.append(f"io.input.dtype {declared.input.dtype}: task {task.id} sends {want.input.dtype}")
    if (declared.input.channels or 1) != (want.input.channels or 1):
        problems.append(f"io.input.channels {declared.input.channels}: task {task.id} sends {want.input.channels or 1}")
    if want.aux_input is not None and declared.aux_input is not None:
        shapes("io.aux_input", declared.aux_input.shape, want.aux_input.shape)
    if want.aux_input is None and declared.aux_input is not None:
        problems.append(f"io.aux_input declared, but task {task.id} has no auxiliary modality")
    if kind == "sampler" or declared.output is None or want.output is None:
        return problems
    out, exp = declared.output, want.output
    shapes("io.output", out.shape, exp.shape)
    allowed = SEGMENTATION_DTYPES if task.problem == "segmentation" else SCORE_DTYPES
    if out.dtype not in allowed:
        problems.append(f"io.output.dtype {out.dtype}: task {task.id} accepts {' or '.join(allowed)}")
    if set(out.labels) != set(exp.labels):
        problems.append(f"io.output.labels {sorted(out.labels)}: task {task.id} uses values {sorted(exp.labels)} "
                        f"({', '.join(f'{k}={v}' for k, v in exp.labels.items())})")
    if exp.range is not None and out.range is not None and (out.range[0] < exp.range[0] or out.range[1] > exp.range[1]):
        problems.append(f"io.output.range {list(out.range)}: task {task.id} accepts scores in {list(exp.range)}")
    return problems
