"""Contract tests over every registered metric, the aggregate helper, lazy imports and ``mbench ls metrics``."""

from __future__ import annotations

import functools
import inspect
import math
import re
import subprocess
import sys

import numpy as np
import pytest

from mbench.errors import MbenchError
from mbench.metrics import METRICS, aggregate, get_metric
from mbench.metrics import functional as F

pytestmark = pytest.mark.filterwarnings("ignore:Please import:DeprecationWarning")


def _function(spec):
    fn = spec.fn
    return fn.func if isinstance(fn, functools.partial) else fn


@pytest.mark.parametrize("metric_id", sorted(METRICS))
def test_declared_contract(metric_id):
    spec = METRICS[metric_id]
    assert re.fullmatch(r"[a-z][a-z0-9_]*", spec.id)
    assert spec.level in ("case", "dataset", "model")
    assert spec.description and spec.definition and spec.reference and spec.empty_policy and spec.inputs
    lo, hi = spec.bounds
    assert lo <= hi and (lo <= spec.worst <= hi)
    fn = _function(spec)
    doc = inspect.getdoc(fn) or ""
    assert "Empty inputs:" in doc and "Example:" in doc and ">>>" in doc, fn.__name__
    assert fn.__name__ in F.__all__
    accepted = inspect.signature(fn).parameters
    assert set(spec.params) <= set(accepted), f"{metric_id}: params {spec.params} not accepted by {fn.__name__}"


def _mask_pair():
    a = np.zeros((12, 12, 12), bool)
    a[2:9, 3:9, 2:8] = True
    b = np.roll(a, 2, axis=0)
    b[10:, 10:, 10:] = True
    return a, b


MASK_METRICS = sorted(m for m, s in METRICS.items() if s.level == "case" and s.inputs == "prediction, reference"
                      and m not in ("lpips", "vif"))  # 2D images only; tested in test_metrics_image / test_image_to_image


@pytest.mark.parametrize("metric_id", MASK_METRICS)
def test_case_metrics_run_from_the_registry_within_bounds(metric_id):
    spec = get_metric(metric_id)
    a, b = _mask_pair()
    extra = {"data_range": 1.0} if "data_range" in spec.params else {}
    value = spec.fn(a.astype(float), b.astype(float), **extra)
    assert isinstance(value, float)
    assert spec.bounds[0] <= value <= spec.bounds[1]
    identical = spec.fn(a.astype(float), a.astype(float), **extra)
    best = spec.bounds[1] if spec.higher_is_better else spec.bounds[0]
    if metric_id not in ("psnr", "specificity", "pixel_accuracy", "precision", "recall"):
        assert identical == best, (metric_id, identical)
    assert (identical >= value) if spec.higher_is_better else (identical <= value)


def test_registry_params_bind_and_override():
    a, b = _mask_pair()
    nsd = get_metric("nsd")
    assert nsd.fn(a, b) == F.nsd(a, b, tolerance=1.0)
    assert nsd.fn(a, b, tolerance=2.0, spacing=(1, 1, 2)) == F.nsd(a, b, tolerance=2.0, spacing=(1, 1, 2))
    assert get_metric("dice").fn(a, a, both_empty=0.0) == 1.0  # the scoring code's call still works
    assert get_metric("f1_macro").fn(np.array([0, 1, 1]), np.array([0, 1, 0])) == F.f1_score(
        np.array([0, 1, 1]), np.array([0, 1, 0]), average="macro")
    assert get_metric("dice_pooled").fn([a, b], [b, b]) == F.pooled_overlap("dice", [a, b], [b, b])
    with pytest.raises(MbenchError, match="needs data_range"):
        get_metric("psnr").fn(a, b)
    with pytest.raises(MbenchError, match="did you mean 'hd95'"):
        get_metric("hd96")


def test_every_issue_metric_is_registered():
    wanted = {"dice", "iou", "precision", "recall", "specificity", "pixel_accuracy", "dice_pooled", "hd95",
              "hd95_surfel", "hd95_pooled", "hd", "assd", "masd", "nsd", "lesion_dice", "lesion_hd95", "psnr", "ssim",
              "mae", "rmse", "lpips", "accuracy", "balanced_accuracy", "top5_accuracy", "f1_macro", "f1_weighted",
              "f1_micro", "roc_auc_macro", "roc_auc_weighted", "map_macro", "kappa", "kappa_quadratic", "coco_ap",
              "coco_ap50", "coco_ap75", "point_f1", "froc", "retrieval_map", "retrieval_top1", "registration_dice",
              "registration_hd95", "folding_fraction", "log_jacobian_std", "n_parameters", "flops", "latency"}
    assert wanted <= set(METRICS)


def test_aggregate_reports_every_denominator():
    values = [0.2, float("inf"), float("nan"), 0.6, float("inf")]
    agg = aggregate(values, worst=373.13)
    assert (agg.n, agg.n_valid, agg.n_nan, agg.n_worst_case_filled) == (5, 4, 1, 2)
    assert agg.mean == pytest.approx((0.2 + 0.6 + 2 * 373.13) / 4)
    assert agg.median == pytest.approx((0.6 + 373.13) / 2)
    worst = aggregate(values, worst=373.13, nan_policy="worst")
    assert (worst.n_valid, worst.n_nan, worst.n_worst_case_filled) == (5, 1, 3)
    assert aggregate(values).mean == math.inf  # no worst case declared: inf stays visible, nothing dropped
    assert math.isnan(aggregate(values, nan_policy="propagate", worst=1.0).mean)
    empty = aggregate([float("nan")])
    assert math.isnan(empty.mean) and (empty.n, empty.n_valid, empty.n_nan) == (1, 0, 1)
    assert aggregate([1.0, 3.0]).as_dict() == {"mean": 2.0, "median": 2.0, "std": 1.0, "n": 2, "n_valid": 2,
                                               "n_nan": 0, "n_worst_case_filled": 0}
    with pytest.raises(MbenchError, match="worst-case value"):
        aggregate([1.0], nan_policy="worst")
    with pytest.raises(MbenchError, match="nan_policy"):
        aggregate([1.0], nan_policy="drop")


def test_import_is_torch_free():
    code = ("import sys, mbench.metrics, mbench.metrics.functional; "
            "print(sorted({'torch', 'lpips', 'monai'} & set(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_ls_metrics_shows_definitions_and_conventions(capsys, monkeypatch):
    from mbench.cli.main import main

    monkeypatch.setenv("COLUMNS", "400")
    assert main(["ls", "metrics"]) == 0
    out = capsys.readouterr().out
    for text in ("hd95_surfel", "surface-distance", "one empty -> inf", "tolerance=1.0", "medpy.metric.binary.hd95"):
        assert text in out
