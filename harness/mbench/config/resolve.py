"""Resolve ``task=... model=... key=value`` into one :class:`RunConfig` with its hash and official status.

Layers, later wins: the task card; its ``quick`` block (with ``--quick``); ``key=value`` overrides.
Override prefixes: ``model.*`` (the run's model), ``learner.*`` (the active-learning task model, a task
setting), ``run.*`` (device, output folder), ``data.root`` (where the real data is); any other key
addresses a field of the task card. Changing a task setting, ``--quick`` or ``--limit`` makes the run
unofficial, and the reason is recorded.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mbench.config.execution import EXECUTION_KEYS, ExecutionOptions
from mbench.config.loading import read_yaml, validate_task_dict
from mbench.config.overrides import deep_merge, get_dotted, set_dotted
from mbench.config.schema import ActiveLearningSpec, TaskSpec
from mbench.data.split import sha256_file
from mbench.errors import MbenchError, did_you_mean
from mbench.paths import results_dir

__all__ = ["RunOptions", "RunConfig", "resolve_run_config", "OFFICIAL_FREE_KEYS"]

# Task-card keys a user may set without changing the benchmark itself (also any ``<...>.data.root``: where
# a further dataset of a multi-dataset protocol lives, e.g. protocol.domains.chaos.data.root).
OFFICIAL_FREE_KEYS = {"data.root"}
_RUN_KEYS = {"device", "out"}
_INFERENCE_KEYS = {"precision", "eval_batch_size", "num_workers", "score_pool", "score_workers"}  # run.* of inference
_RUN_KEYS |= _INFERENCE_KEYS
_RUN_KEYS |= {*EXECUTION_KEYS, "seed"}  # where jobs run (mbench.config.execution); run.seed: one seed


@dataclass(frozen=True)
class RunOptions:
    """Options of one invocation that do not change what is computed (except ``limit``)."""

    out: Path = field(default_factory=results_dir)
    device: str = "auto"
    limit: int | None = None
    quick: bool = False
    # inference (mbench.inference.settings): only ``precision`` can change predictions, so only it enters the hash
    precision: str = "fp32"
    eval_batch_size: int | None = None
    num_workers: int = 0
    score_pool: str = "thread"
    score_workers: int = 1
    # where the jobs run (executor, resources): never part of the hash
    execution: ExecutionOptions = field(default_factory=ExecutionOptions)

    @property
    def inference(self):
        """The :class:`~mbench.inference.settings.InferenceSettings` of these options (validated)."""
        from mbench.inference.settings import InferenceSettings

        return InferenceSettings(precision=self.precision, eval_batch_size=self.eval_batch_size,
                                 num_workers=self.num_workers, score_pool=self.score_pool,
                                 score_workers=self.score_workers)


@dataclass(frozen=True)
class RunConfig:
    """Everything a run needs, resolved. ``resolved()`` is what gets hashed and stored."""

    task: TaskSpec
    card_path: Path
    model: str
    model_kind: str
    model_params: dict[str, Any]
    learner: str | None
    learner_params: dict[str, Any] | None
    run: RunOptions
    unofficial_reasons: tuple[str, ...] = ()

    @property
    def card_folder(self) -> Path:
        return self.card_path.parent

    @property
    def official(self) -> bool:
        return not self.unofficial_reasons

    def resolved(self) -> dict[str, Any]:
        """The resolved configuration as plain data (hash input and ``config`` in ``run.json``)."""
        return {
            "task": self.task.model_dump(mode="json"),
            "model": {"id": self.model, "kind": self.model_kind, "params": self.model_params},
            "learner": None if self.learner is None else {"id": self.learner, "params": self.learner_params},
            "run": {"limit": self.run.limit, "quick": self.run.quick,
                    **({"precision": self.run.precision} if self.run.precision != "fp32" else {})},
            "official": self.official,
            "unofficial_reasons": list(self.unofficial_reasons),
        }

    @property
    def hash(self) -> str:
        """sha256 of the canonical JSON of :meth:`resolved` (device, output folder, batch size and workers excluded;
        a reduced ``run.precision`` included, since it can change predictions)."""
        return hashlib.sha256(json.dumps(self.resolved(), sort_keys=True).encode()).hexdigest()

    @property
    def run_id(self) -> str:
        """Stable id: the same resolved config maps to the same results folder (which makes resume work).

        Characters that are not portable in file names (e.g. ``:`` and ``@`` of ``sub:<id>@<version>``) become ``_``.
        """
        model = re.sub(r"[^A-Za-z0-9._-]", "_", self.model)
        return f"{self.task.id}--{model}--{self.hash[:10]}"


def _check_model(task: TaskSpec, model: str) -> None:
    if model not in task.models:
        raise did_you_mean(f"model for task {task.id!r}:", model, task.models,
                           fix=f"task {task.id} accepts: {', '.join(task.models)}")


def resolve_run_config(task_name: str, model: str, overrides: dict[str, Any] | None = None, *, quick: bool = False,
                       limit: int | None = None) -> RunConfig:
    """Resolve a run.

    Example:
        >>> cfg = resolve_run_config("brats", "mvaal")
        >>> cfg.task.id, cfg.official, cfg.task.protocol.initial_size
        ('brats18-al-wtseg', True, 200)
    """
    from mbench.models.registry import get_model_entry, resolve_params
    from mbench.tasks.registry import resolve_task_name

    card_path = resolve_task_name(task_name)
    raw = read_yaml(card_path)
    reasons: list[str] = []
    if quick:
        if not raw.get("quick"):
            raise MbenchError(f"task {raw.get('id')} has no quick setting", fix="run without --quick")
        raw = deep_merge(raw, raw["quick"])
        reasons.append("quick setting (--quick)")
    model_overrides: dict[str, Any] = {}
    run_kwargs: dict[str, Any] = {}
    learner_overrides: dict[str, Any] = {}
    for key, value in (overrides or {}).items():
        head, _, rest = key.partition(".")
        if head == "model" and rest:
            model_overrides[rest] = value
        elif head == "learner" and rest:
            learner_overrides[rest] = value
        elif head == "run" and rest:
            if rest not in _RUN_KEYS:
                raise did_you_mean("run option", rest, _RUN_KEYS, fix="run options are: " + ", ".join(_RUN_KEYS))
            if rest == "seed":
                _use_one_seed(raw, value, reasons)
            else:
                run_kwargs[rest] = Path(value) if rest == "out" else value
        else:
            try:
                old = get_dotted(raw, key)
            except KeyError:
                old = None
            if old == value:
                continue
            set_dotted(raw, key, value)
            if key not in OFFICIAL_FREE_KEYS and not key.endswith(".data.root"):  # where a dataset lives
                reasons.append(f"{key}={value!r} (card: {old!r})")
    task = validate_task_dict(raw, source=f"{card_path} with overrides")
    _check_model(task, model)
    entry = get_model_entry(model)
    protocol = task.protocol
    expected_kind = ("sampler" if isinstance(protocol, ActiveLearningSpec)
                     else getattr(protocol, "model_kind", "learner"))  # e.g. few_shot runs an embedder
    if entry.kind != expected_kind:
        raise MbenchError(f"model {model!r} is a {entry.kind}, but task {task.id} ({protocol.name}) runs a "
                          f"{expected_kind}", expected=f"a {expected_kind} from: {', '.join(task.models)}",
                          found=model, fix="pick one of the task's models (`mbench ls tasks`)")
    # the super-image protocol compares 2D segmentation learners with volumetric ones on the same volumes
    accepted = {task.problem} | ({"volume_segmentation"} if protocol.name == "super_image" else set())
    if entry.kind == "learner" and not accepted & set(entry.problems):
        raise MbenchError(f"model {model!r} cannot learn {task.problem}", expected=", ".join(entry.problems),
                          found=task.problem)
    model_params = resolve_params(entry, task.model_defaults.get(model, {}), model_overrides)
    learner = learner_params = None
    if isinstance(protocol, ActiveLearningSpec):
        learner = protocol.learner
        lentry = get_model_entry(learner)
        learner_params = resolve_params(lentry, task.model_defaults.get(learner, {}), learner_overrides)
        reasons += [f"learner.{k}={v!r}" for k, v in learner_overrides.items()
                    if task.model_defaults.get(learner, {}).get(k, lentry.defaults.get(k)) != v]
    elif learner_overrides:
        raise MbenchError("learner.* overrides apply to active-learning tasks only",
                          fix=f"use model.* to set parameters of {model!r}")
    if limit is not None:
        if limit < 1:
            raise MbenchError("--limit must be positive", found=str(limit))
        reasons.append(f"--limit {limit} samples per split")
    execution = ExecutionOptions.from_overrides({k: run_kwargs.pop(k) for k in EXECUTION_KEYS if k in run_kwargs})
    options = RunOptions(limit=limit, quick=quick, execution=execution, **run_kwargs)
    if run_kwargs.keys() & _INFERENCE_KEYS:  # clear errors now rather than at the first prediction
        from mbench.inference.settings import check_precision

        check_precision(options.inference.precision, options.device)
    return RunConfig(task=task, card_path=card_path, model=model, model_kind=entry.kind, model_params=model_params,
                     learner=learner, learner_params=learner_params,
                     run=options, unofficial_reasons=tuple(reasons))


def _use_one_seed(raw: dict[str, Any], seed: Any, reasons: list[str]) -> None:
    """``run.seed=k``: run the protocol for seed ``k`` only (``protocol.seeds=[k]``; a sweep: ``-m run.seed=0,1,2``).

    The per-case results of seed ``k`` equal those of seed ``k`` in a run of all the card's seeds (every
    component seed derives from the job's seed); a subset of the card's seeds is unofficial.
    """
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise MbenchError("run.seed must be an integer", found=repr(seed), fix="e.g. run.seed=1, or -m run.seed=0,1,2")
    old = (raw.get("protocol") or {}).get("seeds")
    if old != [seed]:
        set_dotted(raw, "protocol.seeds", [seed])
        reasons.append(f"run.seed={seed} (card seeds: {old!r})")


def card_sha256(config: RunConfig) -> str:
    """sha256 of the task card file the run was resolved from."""
    return sha256_file(config.card_path)
