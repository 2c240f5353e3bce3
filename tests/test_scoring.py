"""Score rows: region scoring follows the task's convention profile; values match the metric functions."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mbench.config.resolve import resolve_run_config
from mbench.metrics import functional as F
from mbench.protocols.scoring import aggregate_primary, score_rows
from mbench.tasks.targets import label_index


@pytest.fixture(scope="module")
def regions_task():
    return resolve_run_config("brats-regions", "unet").task


def test_region_rows_match_independent_region_masks(regions_task):
    rng = np.random.default_rng(0)
    ref = np.zeros((3, 40, 40), np.uint8)
    ref[:, 10:30, 10:30] = 2
    ref[:, 15:25, 15:25] = 4
    ref[0, 18:22, 18:22] = 1
    ref[2, 15:25, 15:25] = 2  # slice 2 has no tumour core
    pred_codes = ref.copy()
    pred_codes[0] = np.roll(ref[0], 2, axis=1)
    pred_codes[1, 15:25, 15:25] = 2  # slice 1: core missed entirely -> TC/ET HD95 infinite
    pred_codes[2, rng.random((40, 40)) < 0.01] = 2
    labels = regions_task.labels
    pred_idx = label_index(pred_codes, labels)
    spacing = np.array([[1.0, 1.0], [0.5, 2.0], [1.0, 1.0]])
    rows = score_rows(regions_task, ["a", "b", "c"], ["p", "p", "q"], pred_idx, None, {"seed": 0}, ref, spacing)
    got = {(r["case"], r["region"], r["metric"]): r for r in rows}
    regions = {"WT": [1, 2, 4], "TC": [1, 4], "ET": [4]}
    for k, case in enumerate("abc"):
        for region, codes in regions.items():
            p, t = np.isin(pred_codes[k], codes), np.isin(ref[k], codes)
            assert got[(case, region, "dice")]["value"] == pytest.approx(F.dice(p, t))
            expected = F.hd95(p, t, spacing=tuple(spacing[k]))
            if math.isinf(expected):
                assert got[(case, region, "hd95")]["value"] == 339.41
                assert got[(case, region, "hd95")]["note"].startswith("inf -> 339.41")
            else:
                assert got[(case, region, "hd95")]["value"] == pytest.approx(expected)
    # slice 2: the core is absent from both masks -> Dice 1 by the profile, HD95 0 mm
    assert got[("c", "TC", "dice")]["value"] == 1.0 and got[("c", "TC", "hd95")]["value"] == 0.0
    assert got[("b", "TC", "hd95")]["value"] == 339.41  # predicted no core where there is one


def test_selection_score_averages_cases_and_regions(regions_task):
    labels = regions_task.labels
    ref = np.zeros((2, 8, 8), np.uint8)
    ref[:, 2:6, 2:6] = 2
    ref[:, 3:5, 3:5] = 4
    perfect = aggregate_primary(regions_task, label_index(ref, labels), label_index(ref, labels))
    assert perfect == 1.0
    empty = aggregate_primary(regions_task, np.zeros_like(ref), label_index(ref, labels))
    assert empty == 0.0


def test_binary_task_rows_have_no_region():
    task = resolve_run_config("brats", "random").task
    masks = np.zeros((2, 4, 4), np.uint8)
    masks[:, 1:3, 1:3] = 1
    rows = score_rows(task, ["x", "y"], ["p", "q"], masks, masks, {"seed": 1})
    assert [(r["case"], r["region"], r["metric"], r["value"]) for r in rows] == [("x", "", "dice", 1.0),
                                                                                  ("y", "", "dice", 1.0)]


def test_profile_options_change_scores_as_declared(regions_task):
    """NSD tolerance, connectivity and empty-reference exclusion come from the card's profile."""
    from mbench.protocols.scoring import case_score

    ref = np.zeros((30, 30), bool)
    ref[10:20, 10:20] = True
    pred = np.roll(ref, 2, axis=0)
    base = regions_task.model_copy(update={"regions": {}})
    conv = base.metrics.conventions

    def with_conv(**changes):
        return base.model_copy(update={"metrics": base.metrics.model_copy(
            update={"conventions": conv.model_copy(update=changes)})})

    assert case_score("nsd", pred, ref, with_conv(nsd_tolerance=1.0))[0] == pytest.approx(
        F.nsd(pred, ref, tolerance=1.0))
    assert case_score("nsd", pred, ref, with_conv(nsd_tolerance=2.0))[0] == pytest.approx(
        F.nsd(pred, ref, tolerance=2.0)) == 1.0
    assert case_score("hd95", pred, ref, with_conv(connectivity=2), (1.0, 1.0))[0] == pytest.approx(
        F.hd95(pred, ref, spacing=(1.0, 1.0), connectivity=2))
    empty = np.zeros_like(ref)
    value, note = case_score("dice", pred, empty, with_conv(empty_reference="exclude"))
    assert math.isnan(value) and "excluded" in note
    assert case_score("dice", empty, empty, with_conv(both_empty=0.5)) == (0.5, "both empty")
    assert case_score("hd95", pred, empty, with_conv(distance_worst=None))[0] == math.inf
