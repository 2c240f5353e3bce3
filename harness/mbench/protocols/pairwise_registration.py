"""Deformable registration of case pairs, scored after warping (papers 13 and 20); one job per seed.

For every pair of the card's split (``pairs``: all unordered inter-subject pairs ``i < j`` with fixed = the earlier
case, the dataset's own pair list, or the fixed / moving images within each case) a
:class:`~mbench.models.capabilities.Registrar` returns a displacement field ``u`` (ndim, *spatial) in voxels on the
fixed grid. The **reference** moving labels are warped with nearest neighbour (``moving(x + u)``, border values
outside: :func:`mbench.metrics.functional.warp`) and scored against the reference fixed labels per region with the
card's convention profile and the fixed image's voxel spacing (mm); the field is scored by its Jacobian
(``folding_fraction``, ``log_jacobian_std``), and image-similarity metrics compare two images (the card's
``similarity_images``; the moving image is warped linearly). The registrar receives the label maps named by
``label_input`` (e.g. predicted segmentations), never the reference ones unless the card says so.

Rows name a pair ``"<fixed>|<moving>"`` (:func:`mbench.stats.pair_units.pair_case_id`); their group is the fixed
case. The unregioned row of a mask metric is the mean over the regions with a finite score in that pair (labels
absent from the fixed map are left out under ``empty_reference: exclude``; an infinite distance, a label lost by the
warp, is left out of the mean as paper 20's code does and counted in the row's note). ``label_groups`` add rows of
region ``mean:<group>``. Pairs share cases, so the card declares ``metrics.conventions.pair_units`` and paired
statistics run on per-case means (:mod:`mbench.stats.pair_units`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from functools import lru_cache
from itertools import combinations
from typing import Any

import numpy as np

from mbench.config.schema import PairwiseRegistrationSpec, TaskSpec
from mbench.errors import MbenchError
from mbench.metrics.functional.registration import warp
from mbench.metrics.registry import get_metric
from mbench.models.capabilities import Progress, Registrar, check_displacement
from mbench.models.registry import create_model, get_model_entry
from mbench.protocols.base import EvaluationProtocol, Job, RunContext
from mbench.protocols.scoring import case_score
from mbench.stats.pair_units import pair_case_id

__all__ = [
    "FIELD_METRICS",
    "IMAGE_METRICS",
    "PairData",
    "PairwiseRegistrationProtocol",
    "make_pairs",
    "registration_rows",
]

FIELD_METRICS = ("folding_fraction", "log_jacobian_std")  # scored on the displacement field
IMAGE_METRICS = ("mutual_information",)  # scored on two images
MASK_ALIASES = {"registration_dice": "dice", "registration_hd95": "hd95"}  # warped labels are the prediction


def make_pairs(cases: list[str], how: str, dataset_pairs: list[tuple[str, str]] | None = None) -> list[tuple[str, str]]:
    """(fixed, moving) pairs of ``cases``: ``all_i_lt_j``, ``dataset`` (the release's pairs within ``cases``) or
    ``within_case`` (each case with itself).

    Example:
        >>> make_pairs(["c", "a", "b"], "all_i_lt_j")
        [('a', 'b'), ('a', 'c'), ('b', 'c')]
    """
    if how == "all_i_lt_j":
        return list(combinations(sorted(cases), 2))
    if how == "within_case":
        return [(c, c) for c in cases]
    keep = set(cases)
    chosen = [(f, m) for f, m in (dataset_pairs or []) if f in keep and m in keep]
    if not chosen:
        raise MbenchError("the dataset defines no registration pairs among the split's cases",
                          expected="pairs of the release's list (e.g. registration_val of dataset.json)",
                          found=f"{len(dataset_pairs or [])} pairs, none within {len(cases)} cases",
                          fix="use pairs: all_i_lt_j, or point data.root at the complete release")
    return chosen


class PairData(dict):
    """One pair: ``fixed`` / ``moving`` images, their ``*_labels`` (reference) and ``*_input_labels`` (what the
    registrar sees, or None), and ``spacing`` (mm per axis of the fixed image)."""


def load_pair(adapter: Any, fixed: str, moving: str, label_input: str,
              read: Callable[[str], tuple[dict, Any, Any]]) -> PairData:
    """Read one pair through the adapter (inter-subject pairs through the ``read`` cache)."""
    if fixed == moving:  # within_case: the case holds both images and a (2, *spatial) reference
        inputs, ref, spacing = read(fixed)
        ref = np.asarray(ref)
        pred = {"predicted": (inputs.get("fixed_predicted_labels"), inputs.get("moving_predicted_labels")),
                "reference": (ref[0], ref[1]), "none": (None, None)}[label_input]
        return PairData(fixed=inputs["fixed"], moving=inputs["moving"], fixed_labels=ref[0], moving_labels=ref[1],
                        fixed_input_labels=pred[0], moving_input_labels=pred[1], spacing=spacing)
    (fin, fref, spacing), (min_, mref, _) = read(fixed), read(moving)

    def given(inputs: dict, ref: np.ndarray, case: str):
        if label_input == "none":
            return None
        if label_input == "reference":
            return ref
        if inputs.get("predicted_labels") is None:
            raise MbenchError(f"case {case} has no predicted segmentation, and the card feeds predicted labels",
                              expected="predicted label maps beside the images (the adapter's predictions folder)",
                              found="none", fix="write the segmenter's predictions where the task README says, or "
                                                "run with task.protocol.label_input=reference (unofficial oracle)")
        return inputs["predicted_labels"]

    return PairData(fixed=fin["image"], moving=min_["image"], fixed_labels=np.asarray(fref),
                    moving_labels=np.asarray(mref), fixed_input_labels=given(fin, fref, fixed),
                    moving_input_labels=given(min_, mref, moving), spacing=spacing)


def _mean_note(values: dict[str, float], what: str) -> tuple[float, str]:
    finite = [v for v in values.values() if math.isfinite(v)]
    left = [k for k, v in values.items() if not math.isfinite(v)]
    note = f"mean of {len(finite)} {what}" + (f"; left out (nan/inf): {', '.join(left)}" if left else "")
    return (float(np.mean(finite)) if finite else math.nan), note


def registration_rows(task: TaskSpec, pair: str, group: str, data: PairData, u: np.ndarray,
                      context: dict[str, Any]) -> list[dict[str, Any]]:
    """Score rows of one registered pair (see the module docstring)."""
    spec: PairwiseRegistrationSpec = task.protocol  # type: ignore[assignment]
    spacing = tuple(float(s) for s in data["spacing"]) if data.get("spacing") is not None else None
    warped = warp(data["moving_labels"], u, order=0)
    fixed = np.asarray(data["fixed_labels"])
    regions = task.region_codes() or {"": tuple(int(v) for v in task.labels.values() if v != 0)}
    rows: list[dict[str, Any]] = []

    def row(region: str, metric: str, value: float, note: str = "") -> None:
        rows.append({**context, "case": pair, "group": group, "region": region, "metric": metric,
                     "value": float(value), "note": note})

    warped_image = None
    for metric_id in task.metrics.report:
        if metric_id in FIELD_METRICS:
            row("", metric_id, get_metric(metric_id).fn(u), "displacement field, voxel units")
            continue
        if metric_id in IMAGE_METRICS:
            if warped_image is None:
                warped_image = warp(np.asarray(data["moving"], dtype=np.float64), u, order=1)
            first = data["moving"] if spec.similarity_images == "moving_vs_warped" else data["fixed"]
            value = get_metric(metric_id).fn(np.asarray(first, float), warped_image,
                                             **task.metrics.params.get(metric_id, {}))
            row("", metric_id, value, spec.similarity_images.replace("_", " "))
            continue
        base = MASK_ALIASES.get(metric_id, metric_id)
        per_region = {}
        for region, codes in regions.items():
            value, note = case_score(base, np.isin(warped, codes), np.isin(fixed, codes), task, spacing)
            per_region[region] = value
            if region:
                row(region, metric_id, value, note)
        if "" not in regions:
            value, note = _mean_note(per_region, "regions")
            row("", metric_id, value, note)
        else:
            row("", metric_id, per_region[""], "")
        for name, labels in spec.label_groups.items():
            value, note = _mean_note({lab: per_region[lab] for lab in labels}, f"regions of group {name}")
            row(f"mean:{name}", metric_id, value, note)
    return rows


class PairwiseRegistrationProtocol(EvaluationProtocol[PairwiseRegistrationSpec]):
    """The ``pairwise_registration`` protocol; the run's model is a registrar."""

    def splits_to_load(self) -> list[str]:
        return []  # pairs are read one at a time

    def pairs(self, ctx: RunContext) -> list[tuple[str, str]]:
        """The (fixed, moving) pairs this run registers."""
        cases = ctx.task.split_ids(self.spec.split)
        if self.spec.max_cases is not None:
            cases = sorted(cases)[: self.spec.max_cases]
        adapter = ctx.task.adapter
        dataset_pairs = adapter.registration_pairs() if hasattr(adapter, "registration_pairs") else None
        return make_pairs(cases, self.spec.pairs, dataset_pairs)

    def run_job(self, job: Job, ctx: RunContext, deps: dict[str, dict], progress: Progress) -> dict:
        cfg, spec = self.config, self.spec
        model = create_model(get_model_entry(cfg.model), cfg.model_params, cfg.run.device)
        if not isinstance(model, Registrar):
            raise MbenchError(f"model {cfg.model!r} is not a registrar",
                              expected="register(moving, fixed, ...) (mbench.models.capabilities.Registrar)")
        adapter = ctx.task.adapter
        train_log: dict[str, Any] = {"n_parameters": None, "zero_shot": spec.fit_split is None,
                                     "train_source": spec.train_source}
        if spec.fit_split is not None:
            train_pairs = make_pairs(ctx.task.split_ids(spec.fit_split), spec.pairs,
                                     adapter.registration_pairs() if hasattr(adapter, "registration_pairs") else None)
            train_log.update(model.fit(train_pairs, adapter, seed=job.seed, progress=progress) or {})

        @lru_cache(maxsize=3)  # the fixed case stays cached across its pairs: at most 3 cases in memory
        def read(case: str) -> tuple[dict, Any, Any]:
            return adapter.load_input(case), adapter.load_reference(case), adapter.spacing(case)

        pairs = self.pairs(ctx)
        rows, seconds = [], []
        context = {**job.context(), "n_labelled": 0}
        for k, (fixed, moving) in enumerate(pairs):
            data = load_pair(adapter, fixed, moving, spec.label_input, read)
            t0 = time.perf_counter()
            u = model.register(data["moving"], data["fixed"], moving_labels=data["moving_input_labels"],
                               fixed_labels=data["fixed_input_labels"], spacing=data["spacing"])
            seconds.append(time.perf_counter() - t0)
            u = check_displacement(u, np.asarray(data["fixed"]).shape)
            case = fixed if fixed == moving else pair_case_id(fixed, moving)
            rows += registration_rows(cfg.task, case, fixed, data, u, context)
            progress(f"register ({cfg.model})", k + 1, len(pairs))
        read.cache_clear()
        headline = [r["value"] for r in rows if r["metric"] == cfg.task.metrics.primary and r["region"] == ""]
        finite = np.asarray([v for v in headline if math.isfinite(v)])
        return {"rows": rows, "train_log": train_log, "pairs": [list(p) for p in pairs],
                "primary_over_pairs": {"mean": float(finite.mean()) if finite.size else None,
                                       "sd": float(finite.std(ddof=1)) if finite.size > 1 else None,
                                       "n": len(headline)},
                "timings": {"train_s": 0.0, "test_s": float(sum(seconds)),
                            "register_s_per_pair": float(np.mean(seconds)) if seconds else 0.0}}
