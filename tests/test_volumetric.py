"""Volumetric tasks (issue 7: WMH / stroke, paper 1; MSD brain tumour, paper 17) and the 3D machinery they share.

Cards and splits, the nnU-Net-raw and MSD adapters on their stand-ins, bounded-memory case access and
foreground-oversampled patches, the fold-ensemble average, paper 1's lesion-type averaging rules against a
hand computation, Mann-Whitney subgroup tests against scipy, and both quick settings end to end (slow).
"""

from __future__ import annotations

import csv
import json
import math
import weakref
from pathlib import Path

import numpy as np
import pytest
import yaml
from mbench.cli.main import main
from mbench.data.split import expand_rule, write_manifest
from mbench.data.volumes import ArrayVolumes, PatchSampler, VolumeCase, VolumeSource, class_locations, resample
from mbench.errors import MbenchError
from mbench.tasks import load_task
from scipy import stats as sps

REPO = Path(__file__).resolve().parents[1]
WMH, MSD = "svd-wmh-stroke", "msd-brain-tumour"


# -- cards and splits -----------------------------------------------------------------------------------------------

def test_cards_are_the_papers_protocols():
    wmh = load_task(WMH).spec
    assert wmh.protocol.name == "fold_ensemble" and wmh.protocol.folds == [f"fold{k}" for k in range(5)]
    assert wmh.labels == {"WMH": 1, "stroke": 2} and wmh.volume.channels == ["FLAIR"]
    assert wmh.metrics.conventions.empty_reference == "exclude"
    assert wmh.metrics.mean_over_regions == ["WMH", "stroke"] and wmh.metrics.lesion_free_regions == ["stroke"]
    ref = {(r.metric, r.region, r.setting.split(",")[0]): r.value for r in wmh.reference_results}
    nn = "nnU-Net 3D full-res"
    assert ref[("dice", "mean", nn)] == pytest.approx((ref[("dice", "WMH", nn)] + ref[("dice", "stroke", nn)]) / 2,
                                                      abs=1e-4)
    msd = load_task(MSD).spec
    assert msd.protocol.name == "volumetric_holdout" and msd.volume.channels == ["FLAIR", "T1w", "t1gd", "T2w"]
    assert msd.metrics.report == ["dice", "iou", "hd95"] and msd.labels == {"edema": 1, "non_enhancing": 2,
                                                                             "enhancing": 3}


def test_split_rules_give_the_papers_sizes():
    card = load_task(WMH)
    raw = json.loads((card.folder / card.spec.data.split.file).read_text())
    train = [f"T{i:03d}" for i in range(162)]
    test = [f"S{i:03d}" for i in range(135)]
    splits = expand_rule(raw["rule"], sorted(train + test), {}, {"train": train, "test": test}, seed=raw["seed"])
    assert len(splits["test"]) == 135 and splits["test"] == sorted(test)
    assert [len(splits[f"fold{k}"]) for k in range(5)] == [33, 33, 32, 32, 32]
    assert sorted(c for k in range(5) for c in splits[f"fold{k}"]) == sorted(train)
    card = load_task(MSD)
    raw = json.loads((card.folder / card.spec.data.split.file).read_text())
    ids = [f"BRATS_{i:03d}" for i in range(1, 485)]
    splits = expand_rule(raw["rule"], ids, {}, {}, seed=raw["seed"])
    assert {k: len(v) for k, v in splits.items()} == {"test": 97, "val": 39, "train": 348}
    assert set().union(*map(set, splits.values())) == set(ids)


# -- adapters on the stand-ins --------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def wmh_root(tmp_path_factory) -> Path:
    from mbench.data.synthetic.wmh_stroke import generate_wmh_stroke

    root = tmp_path_factory.mktemp("wmh")
    generate_wmh_stroke(root, n_train=6, n_test=5, shape=(32, 32, 20), seed=4)
    return root


@pytest.fixture(scope="module")
def msd_root(tmp_path_factory) -> Path:
    from mbench.data.synthetic.msd_brain import generate_msd_brain

    root = tmp_path_factory.mktemp("msd")
    generate_msd_brain(root, n_cases=4, shape=(32, 32, 16), seed=4)
    return root


def test_nnunet_raw_adapter_reads_the_standin_with_its_metadata(wmh_root):
    from mbench.data.adapters.nnunet_raw import NnUNetRawAdapter

    a = NnUNetRawAdapter(wmh_root, required_attributes=["protocol", "stroke_type"])
    splits = a.official_splits()
    assert len(splits["train"]) == 6 and len(splits["test"]) == 5
    attrs = a.case_attributes()
    assert "none" in {attrs[c]["stroke_type"] for c in splits["test"]}
    for case in a.case_ids():
        image, labels = a.load_input(case)["FLAIR"], a.load_reference(case)
        assert image.shape == labels.shape and set(np.unique(labels)) <= {0, 1, 2}
        assert bool((labels == 2).any()) == (attrs[case]["stroke_type"] != "none")  # subtype agrees with the labels
        assert (labels == 1).any()  # every case has WMH, as in the paper
        thick = attrs[case]["protocol"] != "1"
        assert (a.spacing(case)[2] > 1) == thick
        assert image[labels == 1].mean() > image[(labels == 0) & (image > 0)].mean()  # WMH bright in FLAIR
    with pytest.raises(MbenchError, match="dataset.json"):
        NnUNetRawAdapter(wmh_root / "imagesTr")


def test_nnunet_raw_adapter_refuses_incomplete_metadata(wmh_root, tmp_path):
    import shutil

    from mbench.data.adapters.nnunet_raw import NnUNetRawAdapter

    copy = tmp_path / "d"
    shutil.copytree(wmh_root, copy)
    lines = (copy / "metadata.csv").read_text().splitlines()
    (copy / "metadata.csv").write_text("\n".join(lines[:-1]) + "\n")
    with pytest.raises(MbenchError, match="does not describe every case"):
        NnUNetRawAdapter(copy, required_attributes=["stroke_type"])


def test_msd_adapter_reads_four_channels_and_the_msd_labels(msd_root):
    from mbench.data.adapters.msd import MSDAdapter

    a = MSDAdapter(msd_root)
    assert a.case_ids() == ["BRATS_001", "BRATS_002", "BRATS_003", "BRATS_004"]
    (msd_root / "imagesTr" / "._BRATS_001.nii.gz").write_bytes(b"macOS resource fork")  # as in the real tarball
    assert MSDAdapter(msd_root).case_ids() == a.case_ids()
    x, y = a.load_input("BRATS_001"), a.load_reference("BRATS_001")
    assert list(x) == ["FLAIR", "T1w", "t1gd", "T2w"] and x["FLAIR"].shape == y.shape == (32, 32, 16)
    assert set(np.unique(y)) <= {0, 1, 2, 3} and (y == 1).any()
    assert x["FLAIR"][y == 1].mean() > x["FLAIR"][(y == 0) & (x["FLAIR"] > 0)].mean()  # edema bright in FLAIR
    assert x["t1gd"][y == 3].mean() > x["t1gd"][y == 1].mean()  # enhancing tumour bright after contrast
    assert a.spacing("BRATS_001") == (1.0, 1.0, 1.0)


# -- bounded memory and patches -------------------------------------------------------------------------------------

class _CountingVolumes(ArrayVolumes):
    """Records how many loaded cases are alive at once."""

    def __init__(self, cases):
        super().__init__(cases)
        self.alive = self.max_alive = 0

    def load(self, case: str) -> VolumeCase:
        out = super().load(case)
        self.alive += 1
        self.max_alive = max(self.max_alive, self.alive)
        weakref.finalize(out, self._gone)
        return out

    def _gone(self):
        self.alive -= 1


def _toy_cases(n=5, shape=(20, 18, 12), seed=0):
    rng = np.random.default_rng(seed)
    cases = {}
    for k in range(n):
        lab = np.zeros(shape, np.int16)
        c = rng.integers(3, np.asarray(shape) - 3)
        lab[c[0] - 1:c[0] + 2, c[1] - 1:c[1] + 2, c[2] - 1:c[2] + 1] = 1 + k % 2
        img = rng.normal(0, 1, (1, *shape)).astype(np.float32) + 3 * (lab > 0)
        cases[f"c{k}"] = (img, lab, (1.0, 1.0, 2.0))
    return cases


def test_patch_sampler_holds_one_case_at_a_time_and_oversamples_foreground():
    src = _CountingVolumes(_toy_cases())
    sampler = PatchSampler(src, (8, 8, 8), foreground_fraction=1.0)
    rng = np.random.default_rng(0)
    for _ in range(10):
        x, y = sampler.sample(rng, 3)
        assert x.shape == (3, 1, 8, 8, 8) and y.shape == (3, 8, 8, 8)
        assert (y > 0).any(axis=(1, 2, 3)).all()  # every patch forced onto foreground
    assert src.max_alive == 1
    # no oversampling: foreground patches only as often as chance gives them (lesions are tiny here)
    x, y = PatchSampler(src, (4, 4, 4), foreground_fraction=0.0).sample(np.random.default_rng(1), 40)
    assert (y > 0).any(axis=(1, 2, 3)).mean() < 0.5
    # nnU-Net's rule: the last third of a batch is forced to foreground
    x, y = PatchSampler(src, (4, 4, 4), foreground_fraction=1 / 3).sample(np.random.default_rng(2), 6)
    assert (y[-2:] > 0).any(axis=(1, 2, 3)).all()


def test_patches_larger_than_the_volume_are_zero_padded():
    img = np.ones((2, 4, 5, 3), np.float32)
    lab = np.ones((4, 5, 3), np.int16)
    x, y = PatchSampler(ArrayVolumes({"a": (img, lab, (1, 1, 1))}), (8, 8, 8), 1.0).sample(np.random.default_rng(0), 1)
    assert x.shape == (1, 2, 8, 8, 8) and x.sum() == img.sum() and y.sum() == lab.sum()


def test_volume_source_caches_each_case_once_and_memory_maps_it(wmh_root, tmp_path):
    from mbench.data.adapters.nnunet_raw import NnUNetRawAdapter

    adapter = NnUNetRawAdapter(wmh_root)
    ids = adapter.official_splits()["train"]
    src = VolumeSource(adapter, ids, channels=["FLAIR"], labels={"WMH": 1, "stroke": 2}, normalise="case_zscore",
                       target_spacing=(2.0, 2.0, 2.0), cache=tmp_path / "cache")
    sampler = PatchSampler(src, (8, 8, 8))
    for _ in range(5):
        sampler.sample(np.random.default_rng(0), 4)
    assert src.loads <= len(ids)  # every case decompressed at most once
    case = src.load(ids[0])
    assert isinstance(case.image, np.memmap) and case.image.dtype == np.float32
    assert case.spacing == (2.0, 2.0, 2.0) and case.image.shape[1:] == case.labelmap.shape
    native, spacing = src.native(ids[0])
    assert spacing[0] == 1.0 and native.shape[0] == 2 * case.labelmap.shape[0]
    brain = np.asarray(case.image[0]) != 0
    assert abs(float(np.asarray(case.image[0])[brain].mean())) < 0.1  # z-scored over the head
    assert src.locations(ids[0]).keys() == class_locations(np.asarray(case.labelmap)).keys()
    before = src.loads
    VolumeSource(adapter, ids, channels=["FLAIR"], labels={"WMH": 1, "stroke": 2}, target_spacing=(2.0, 2.0, 2.0),
                 cache=tmp_path / "cache").load(ids[1])
    assert src.loads == before  # a second source reuses the cache


def test_resample_returns_to_the_native_grid():
    lab = np.zeros((10, 10, 4), np.int16)
    lab[2:6, 3:7, 1:3] = 1
    up = resample(lab, (1, 1, 4), (1, 1, 1), order=0)
    assert up.shape == (10, 10, 16)
    back = resample(up, (1, 1, 1), (1, 1, 4), order=0, shape=lab.shape)
    np.testing.assert_array_equal(back, lab)


# -- fold ensemble --------------------------------------------------------------------------------------------------

def test_fold_ensemble_averages_the_members_softmax(tmp_path):
    from mbench.models.baselines.volume_segmenter import VolumeSegmenterNet
    from mbench.protocols.volumetric import ensemble_probabilities

    src = ArrayVolumes(_toy_cases(3, shape=(12, 12, 12)))
    params = {"arch": "unet", "channels": [4, 8], "strides": [2], "num_res_units": 0, "patch_size": [8, 8, 8],
              "batch_size": 2, "epochs": 1, "iterations_per_epoch": 2, "device": "cpu", "overlap": 0.5}
    models = []
    for seed in (0, 1):
        m = VolumeSegmenterNet(**params)
        m.fit(src, None, classes=3, score=lambda p, r, s: 0.0, seed=seed)
        m.save(tmp_path / f"m{seed}.pt")
        fresh = VolumeSegmenterNet(**params)
        fresh.load(tmp_path / f"m{seed}.pt")
        models.append(fresh)
    image = src.load("c0").image
    probs = [m.predict_proba(image) for m in models]
    assert probs[0].shape == (3, 12, 12, 12)
    np.testing.assert_allclose(probs[0].sum(0), 1.0, atol=1e-5)
    assert not np.allclose(probs[0], probs[1])
    np.testing.assert_allclose(ensemble_probabilities(models, image), (probs[0] + probs[1]) / 2, atol=1e-6)


# -- paper 1's averaging rules ---------------------------------------------------------------------------------------

def test_lesion_type_averaging_matches_a_hand_computation():
    """Per lesion type, means over the cases holding it; stroke-free cases scored for false positives only."""
    from mbench.metrics.functional import hd95
    from mbench.protocols.volume_scoring import volume_case_rows, volume_summary_rows
    from mbench.results.summary import summarise
    from sklearn.metrics import confusion_matrix

    spec = load_task(WMH).spec
    spacing = (1.0, 1.0, 3.0)
    shape = (12, 12, 6)
    ref_a = np.zeros(shape, np.int16); ref_a[2:6, 2:6, 1:3] = 1; ref_a[8:10, 8:10, 2:4] = 2
    pred_a = np.zeros(shape, np.int16); pred_a[2:6, 2:5, 1:3] = 1; pred_a[8:10, 8:11, 2:4] = 2
    ref_b = np.zeros(shape, np.int16); ref_b[3:7, 3:7, 2:4] = 1  # stroke-free
    pred_b = ref_b.copy(); pred_b[0:2, 0:2, 0:1] = 2  # 4 false stroke voxels
    ref_c = np.zeros(shape, np.int16); ref_c[1:5, 1:5, 1:2] = 1; ref_c[6:10, 6:10, 3:5] = 2
    pred_c = np.zeros(shape, np.int16); pred_c[1:5, 1:5, 1:2] = 1  # stroke missed entirely
    cases = {"a": (pred_a, ref_a), "b": (pred_b, ref_b), "c": (pred_c, ref_c)}
    context = {"task": WMH, "model": "m", "seed": 0, "fold": None, "round": None, "n_labelled": 3}
    rows = []
    for case, (p, r) in cases.items():
        rows += volume_case_rows(spec, case, case, p, r, spacing, context)
    rows += volume_summary_rows(spec, rows, list(cases), {"stroke_type": ["cortical", "none", "subcortical"]}, context)
    summary = {k: v["points"][0]["mean"] for k, v in summarise(rows)["metrics"].items()}

    def dice(p, r):
        return 2 * np.sum(p & r) / (p.sum() + r.sum())

    wmh = [dice(p == 1, r == 1) for p, r in cases.values()]
    stroke = [dice(p == 2, r == 2) for p, r in (cases["a"], cases["c"])]  # b has no stroke: not averaged
    assert summary["dice:WMH"] == pytest.approx(np.mean(wmh))
    assert summary["dice:stroke"] == pytest.approx(np.mean(stroke)) and stroke[1] == 0.0
    assert summary["dice:mean"] == pytest.approx((np.mean(wmh) + np.mean(stroke)) / 2)
    assert summary["recall:stroke"] == pytest.approx(np.mean([4 / 4 * 1.0, 0.0]))
    assert summary["precision:stroke"] == pytest.approx(np.mean([4 / 6, 0.0]))  # c predicts no stroke: 0
    # HD95 in mm with the anisotropic spacing; the missed stroke of c takes the card's worst-case distance
    expected_hd = np.mean([hd95(pred_a == 2, ref_a == 2, spacing=spacing), spec.metrics.conventions.distance_worst])
    assert summary["hd95:stroke"] == pytest.approx(expected_hd)
    stroke_rows = [r for r in rows if r["metric"] == "dice" and r["region"] == "stroke" and r["case"] != "*"]
    assert [(r["case"], math.isnan(r["value"])) for r in stroke_rows] == [("a", False), ("b", True), ("c", False)]
    fp = {r["metric"]: r for r in rows if r["metric"].startswith("false_positive")}
    assert set(fp) == {"false_positive_case", "false_positive_volume"}
    assert fp["false_positive_case"]["case"] == "b" and fp["false_positive_case"]["value"] == 1.0
    cm = confusion_matrix((ref_b == 2).ravel(), (pred_b == 2).ravel(), labels=[False, True])
    assert fp["false_positive_volume"]["value"] == pytest.approx(cm[0, 1] * np.prod(spacing))
    assert summary["dice:stroke|stroke_type=cortical"] == pytest.approx(stroke[0])
    assert math.isnan(summary["dice:stroke|stroke_type=none"] or math.nan)


def test_false_positive_metrics_on_empty_inputs():
    from mbench.metrics.functional import false_positive_case, false_positive_volume

    z = np.zeros((3, 3, 3))
    assert false_positive_case(z, z) == 0.0 and false_positive_volume(z, z, spacing=(2, 2, 2)) == 0.0
    one = z.copy(); one[0, 0, 0] = 1
    assert false_positive_case(one, one) == 0.0 and false_positive_volume(one, z, spacing=(2, 2, 0.5)) == 2.0


# -- subgroup statistics --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("seed,n_a,n_b,ties", [(0, 6, 7, False), (1, 25, 30, True)])
def test_subgroup_mann_whitney_matches_scipy(seed, n_a, n_b, ties):
    from mbench.stats.subgroups import compare_subgroups

    rng = np.random.default_rng(seed)
    x, y = rng.normal(0.7, 0.1, n_a), rng.normal(0.6, 0.1, n_b)
    if ties:
        x, y = np.round(x, 1), np.round(y, 1)
    scores = {f"a{i}": v for i, v in enumerate(x)} | {f"b{i}": v for i, v in enumerate(y)} | {"both1": 0.0}
    groups = {f"a{i}": "cortical" for i in range(n_a)} | {f"b{i}": "subcortical" for i in range(n_b)}
    groups["both1"] = "both"  # left out, as the paper does
    r = compare_subgroups(scores, groups, "cortical", "subcortical", n_boot=0)
    ref = sps.mannwhitneyu(x, y, alternative="two-sided", method="asymptotic" if ties else "exact")
    assert r.statistic == pytest.approx(ref.statistic) and r.p_value == pytest.approx(ref.pvalue, rel=1e-9)
    assert r.n == n_a + n_b and r.mean_a == pytest.approx(x.mean())
    with pytest.raises(MbenchError, match="paired"):
        compare_subgroups(scores, groups, "cortical", "subcortical", test="wilcoxon")
    with pytest.raises(MbenchError, match="no scored cases"):
        compare_subgroups(scores, groups, "cortical", "lacunar")


# -- end to end -----------------------------------------------------------------------------------------------------

def _tiny_card(tasks: Path, card: str, family: str, standin: dict, rule: dict, quick_protocol: dict | None) -> None:
    folder = tasks / family
    (folder / "splits").mkdir(parents=True)
    sha = write_manifest(folder / "splits" / "tiny.json", None, group_key="patient", seed=5, method="test",
                         dataset="tiny", rule=rule)
    raw = yaml.safe_load((REPO / "tasks" / family / f"{card}.yaml").read_text())
    raw["id"], raw["aliases"] = f"tiny-{card}", []
    raw["data"]["standin"] = {**raw["data"]["standin"], "params": standin,
                              "split": {"file": "splits/tiny.json", "sha256": sha}}
    raw["data"]["split"]["file"] = "splits/tiny.json"
    raw["data"]["split"]["sha256"] = sha
    if quick_protocol:
        raw["quick"]["protocol"] = quick_protocol
    for params in raw["quick"]["model_defaults"].values():  # CI-sized training: the code path, not the accuracy
        params.update(epochs=2, iterations_per_epoch=3, val_every=2)
    (folder / f"tiny-{card}.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))


@pytest.fixture
def tiny_volumetric(tmp_path, monkeypatch) -> Path:
    tasks = tmp_path / "tasks"
    _tiny_card(tasks, WMH, "wmh_stroke", {"n_train": 6, "n_test": 5, "shape": [32, 32, 20], "seed": 4},
               {"official": {"test": "official:test"}, "pool": "official:train", "n_pool": 6,
                "sizes": {"fold0": 2, "fold1": 1, "fold2": 1, "fold3": 1, "fold4": "rest"}},
               {"folds": ["fold0", "fold1"]})
    _tiny_card(tasks, MSD, "msd_brain", {"n_cases": 6, "shape": [32, 32, 24], "seed": 4},
               {"pool": "all", "n_pool": 6, "sizes": {"test": 2, "val": 1, "train": "rest"}}, None)
    monkeypatch.setenv("MBENCH_TASKS_DIR", str(tasks))
    return tasks


def _rows(folder: Path) -> list[dict]:
    return list(csv.DictReader(open(folder / "scores.csv")))


@pytest.mark.slow
def test_wmh_quick_setting_runs_the_fold_ensemble_end_to_end(tiny_volumetric, results):
    from mbench.stats.subgroups import subgroup_comparison

    assert main(["run", f"task=tiny-{WMH}", "model=unet3d", "--quick"]) == 0
    (folder,) = [p for p in results.iterdir() if p.is_dir()]
    record = json.loads((folder / "run.json").read_text())
    assert record["status"] == "complete" and not record["official"]
    assert sorted(p.name for p in (folder / "jobs").glob("*.json")) == [
        "seed0-ensemble.json", "seed0-fold0.json", "seed0-fold1.json"]
    ensemble = json.loads((folder / "jobs" / "seed0-ensemble.json").read_text())
    assert ensemble["members"] == ["seed0-fold0", "seed0-fold1"]
    rows = _rows(folder)
    test_cases = {r["case"] for r in rows if r["case"] != "*"}
    assert len(test_cases) == 5
    free = [c for c, a in ensemble["case_attributes"].items() if a["stroke_type"] == "none"]
    assert free and {r["case"] for r in rows if r["metric"] == "false_positive_case"} == set(free)
    assert {r["region"] for r in rows if r["case"] == "*" and r["metric"] == "dice"} >= {"mean", "stroke|stroke_type:mean"}
    summary = json.loads((folder / "summary.json").read_text())
    assert {"dice:WMH", "dice:stroke", "dice:mean", "hd95:WMH", "false_positive_case:stroke"} <= set(summary["metrics"])
    r = subgroup_comparison(f"tiny-{WMH}", "unet3d", "dice:WMH", "stroke_type", "cortical", "subcortical",
                            root=results, n_boot=0)
    assert r.method.startswith("Mann-Whitney")


@pytest.mark.slow
def test_msd_quick_setting_runs_end_to_end_and_the_leaderboard_shows_it(tiny_volumetric, results, tmp_path):
    assert main(["run", f"task=tiny-{MSD}", "model=segresnet3d", "--quick"]) == 0
    (folder,) = [p for p in results.iterdir() if p.is_dir()]
    rows = _rows(folder)
    assert {r["region"] for r in rows if r["metric"] == "iou"} >= {"edema", "non_enhancing", "enhancing", "WT", "TC"}
    assert all(float(r["value"]) <= 373.13 for r in rows if r["metric"] == "hd95")
    config = tmp_path / "lb.yaml"
    config.write_text(yaml.safe_dump({"title": "t", "tasks": [{"id": f"tiny-{MSD}", "metrics": ["dice:mean",
                                                                                              "dice:edema"]}]}))
    assert main(["leaderboard", "build", "--results", str(results), "--config", str(config),
                 "--out", str(tmp_path / "site"), "--resamples", "20"]) == 0
    assert "dice:edema" in (tmp_path / "site" / "tasks" / f"tiny-{MSD}.html").read_text()
