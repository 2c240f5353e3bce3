"""Registration tasks (paper 13 MALDI-MRI, paper 20 Learn2Reg / AMOS zero-shot): cards, adapters on the stand-ins,
warping against scipy, the Registrar contract, baselines recovering known shifts, the scored metrics against hand
computation and references (sklearn MI, brute-force distance maps), per-case aggregation of pair scores, and quick
end-to-end runs."""

from __future__ import annotations

import csv
import json
import math
import shutil
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest
import yaml
from mbench.config.resolve import resolve_run_config
from mbench.data.split import SplitManifest, write_manifest
from mbench.errors import MbenchError
from mbench.metrics.functional import (
    distance_map,
    distance_transform_ssd,
    folding_fraction,
    log_jacobian_std,
    mutual_information,
    warp,
)
from mbench.models.capabilities import Registrar, check_displacement
from mbench.models.registry import create_model, get_model_entry
from mbench.protocols.pairwise_registration import load_pair, make_pairs, registration_rows
from mbench.stats.pair_units import aggregate_pair_scores, pair_case_id, split_pair_case_id
from mbench.tasks import load_task
from scipy import ndimage

REPO = Path(__file__).resolve().parents[1]
CARDS = ["maldi-mri-reg2d", "maldi-mri-reg2d-mouse-brain", "genreg-l2r-abdomenctct", "genreg-amos-mr"]
REGISTRARS = ["reg_identity", "demons_udt", "demons_dt", "demons_intensity", "bspline_mi", "medm_adam"]


# -- cards and splits ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("task_id", CARDS)
def test_card_validates_pins_its_splits_and_cites_the_paper(task_id):
    task = load_task(task_id)
    spec = task.spec
    for ref in (spec.data.split, spec.data.standin.split):
        manifest = SplitManifest.load(task.folder / ref.file, ref.sha256)
        assert spec.protocol.split in manifest.split_names()
    assert spec.problem == "registration" and spec.reference_results
    assert all(r.source.startswith("paper") for r in spec.reference_results)
    assert resolve_run_config(task_id, spec.models[0]).official
    assert not resolve_run_config(task_id, spec.models[-1], quick=True).official


def test_paper20_test_sets_give_45_and_28_pairs_and_declare_case_units():
    l2r, amos = load_task("genreg-l2r-abdomenctct"), load_task("genreg-amos-mr")
    test = SplitManifest.load(l2r.folder / l2r.spec.data.split.file, l2r.spec.data.split.sha256).ids("test")
    assert test == [f"AbdomenCTCT_{k:04d}" for k in (1, 4, 7, 10, 13, 16, 19, 22, 25, 28)]
    assert len(make_pairs(test, "all_i_lt_j")) == 45
    amos_test = SplitManifest.load(amos.folder / amos.spec.data.split.file, amos.spec.data.split.sha256).ids("test")
    pairs = make_pairs(amos_test, "all_i_lt_j")
    assert len(pairs) == 28 and all(f < m for f, m in pairs)
    for task in (l2r, amos):
        conv = task.spec.metrics.conventions
        assert conv.pair_units == "cases" and conv.empty_reference == "exclude"
        assert task.spec.protocol.label_input == "predicted" and task.spec.protocol.fit_split is None  # zero-shot
        assert task.spec.protocol.label_groups == {"seen": ["aorta", "ivc"]}


def test_make_pairs_dataset_and_within_case():
    assert make_pairs(["a", "b"], "within_case") == [("a", "a"), ("b", "b")]
    assert make_pairs(["a", "b", "c"], "dataset", [("a", "b"), ("c", "x")]) == [("a", "b")]
    with pytest.raises(MbenchError, match="no registration pairs"):
        make_pairs(["a"], "dataset", [("b", "c")])


# -- adapters on the stand-ins ------------------------------------------------------------------------------------
def test_learn2reg_adapter_reads_the_standin_in_the_release_layout(tmp_path):
    from mbench.data.adapters.abdomen_registration import Learn2RegAdapter
    from mbench.data.synthetic.abdomen_registration import generate_learn2reg

    ids = generate_learn2reg(tmp_path, n_cases=3, shape=(20, 16, 24), spacing=(2.0, 2.0, 3.0))
    assert (tmp_path / "imagesTr/AbdomenCTCT_0001_0000.nii.gz").is_file()
    for root in (tmp_path, tmp_path.parent):  # the release folder or its parent
        if root == tmp_path.parent and len([p for p in root.iterdir() if p.is_dir()]) > 1:
            continue
        adapter = Learn2RegAdapter(root)
        assert adapter.case_ids() == ids
    adapter = Learn2RegAdapter(tmp_path)
    assert adapter.registration_pairs() == [("AbdomenCTCT_0001", "AbdomenCTCT_0002"),
                                            ("AbdomenCTCT_0002", "AbdomenCTCT_0003")]
    inputs, ref = adapter.load_input(ids[0]), adapter.load_reference(ids[0])
    assert inputs["image"].shape == ref.shape == inputs["predicted_labels"].shape == (20, 16, 24)
    assert adapter.spacing(ids[0]) == (2.0, 2.0, 3.0)
    assert inputs["image"].min() < -900 and set(np.unique(ref)) <= set(range(14))  # CT in HU, 13 labels
    (tmp_path / "predictionsTr/AbdomenCTCT_0002_0000.nii.gz").unlink()
    assert "predicted_labels" not in adapter.load_input(ids[1])

    def read(case):
        return adapter.load_input(case), adapter.load_reference(case), adapter.spacing(case)

    with pytest.raises(MbenchError, match="no predicted segmentation"):
        load_pair(adapter, ids[0], ids[1], "predicted", read)
    oracle = load_pair(adapter, ids[0], ids[1], "reference", read)
    assert np.array_equal(oracle["moving_input_labels"], oracle["moving_labels"])
    with pytest.raises(MbenchError, match="AbdomenCTCT_dataset.json"):
        Learn2RegAdapter(tmp_path / "imagesTr")


def test_amos_adapter_keeps_one_modality(tmp_path):
    from mbench.data.adapters.abdomen_registration import AmosAdapter
    from mbench.data.synthetic.abdomen_registration import generate_amos

    generate_amos(tmp_path, case_numbers=[12, 548, 554], shape=(16, 12, 16))
    assert AmosAdapter(tmp_path).case_ids() == ["amos_0548", "amos_0554"]
    assert AmosAdapter(tmp_path, modality="CT").case_ids() == ["amos_0012"]
    mr = AmosAdapter(tmp_path)
    assert mr.spacing("amos_0548") == (4.0, 4.0, 5.0)
    assert mr.load_input("amos_0548")["image"].min() >= 0  # MRI magnitude
    with pytest.raises(MbenchError, match="modality"):
        AmosAdapter(tmp_path, modality="PET")


def test_maldi_mri_adapter_reads_pairs_and_the_ground_truth_field_explains_the_target_mask(tmp_path):
    from mbench.data.adapters.maldi_mri import MaldiMriAdapter
    from mbench.data.synthetic.maldi_mri import generate_maldi_mri

    ids = generate_maldi_mri(tmp_path, n_pairs=2, size=64)
    adapter = MaldiMriAdapter(tmp_path)
    assert adapter.case_ids() == ids == ["synthetic_01", "synthetic_02"]
    images, masks = adapter.load_input(ids[0]), adapter.load_reference(ids[0])
    assert images["fixed"].shape == images["moving"].shape == masks.shape[1:] == (64, 64) and masks.shape[0] == 2
    d = np.load(tmp_path / ids[0] / "displacement_true.npy")
    assert np.array_equal(warp(masks[0], d, order=0), masks[1])  # target(x) = reference(x + d(x))
    assert not np.array_equal(masks[0], masks[1])
    assert len(adapter.files(ids[0])) == 4
    (tmp_path / ids[1] / "mri_mask.nii.gz").unlink()
    with pytest.raises(MbenchError, match="lacks mri_mask"):
        adapter.load_reference(ids[1])
    with pytest.raises(MbenchError, match="no MALDI-MRI pair"):
        MaldiMriAdapter(tmp_path / ids[0])


# -- warping ------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(7, 9), (5, 6, 7)])
def test_warps_match_scipy_map_coordinates(shape):
    torch = pytest.importorskip("torch")
    from mbench.models.baselines.torch_warp import warp_torch

    rng = np.random.default_rng(len(shape))
    image = rng.random(shape).astype(np.float32)
    labels = rng.integers(0, 4, shape).astype(np.float32)
    u = (rng.standard_normal((len(shape), *shape)) * 2).astype(np.float32)
    coords = np.indices(shape) + u
    for arr, order, mode in ((image, 1, "bilinear"), (labels, 0, "nearest")):
        ref = ndimage.map_coordinates(arr, coords, order=order, mode="nearest")
        assert np.allclose(warp(arr, u, order=order), ref, atol=1e-6)
        out = warp_torch(torch.from_numpy(arr)[None, None], torch.from_numpy(u)[None], mode=mode)[0, 0].numpy()
        assert np.allclose(out, ref, atol=1e-5) if order else np.array_equal(out, ref)


def test_identity_field_gives_the_input_back():
    torch = pytest.importorskip("torch")
    from mbench.models.baselines.torch_warp import warp_torch

    image = np.random.default_rng(0).random((6, 5, 4)).astype(np.float32)
    zero = create_model(get_model_entry("reg_identity"), {}, "cpu").register(image, image)
    assert zero.shape == (3, 6, 5, 4) and not zero.any()
    assert np.array_equal(warp(image, zero, order=1), image) and np.array_equal(warp(image, zero, order=0), image)
    assert np.allclose(warp_torch(torch.from_numpy(image)[None, None], torch.from_numpy(zero)[None])[0, 0].numpy(),
                       image, atol=1e-6)
    assert folding_fraction(zero) == 0.0 and log_jacobian_std(zero) == 0.0


# -- the Registrar contract and the baselines ---------------------------------------------------------------------
@pytest.mark.parametrize("model_id", REGISTRARS)
def test_registered_registrars_honour_the_contract(model_id):
    entry = get_model_entry(model_id)
    if entry.requires_torch:
        pytest.importorskip("torch")
    if model_id == "bspline_mi":
        pytest.importorskip("SimpleITK")
    assert entry.kind == "learner" and entry.problems == ("registration",)
    fast = {"iterations": 3, "levels": 1} if "demons" in model_id or model_id == "bspline_mi" else \
        {"iterations": 3} if model_id == "medm_adam" else {}
    if model_id == "bspline_mi":
        fast["mesh_size"] = 2
    model = create_model(entry, {**entry.defaults, **fast}, "cpu")
    assert isinstance(model, Registrar)
    fixed = np.zeros((16, 18)); fixed[4:12, 5:13] = 1
    moving = np.roll(fixed, 1, axis=0)
    u = model.register(moving, fixed, moving_labels=moving.astype(int), fixed_labels=fixed.astype(int))
    assert check_displacement(u, fixed.shape).shape == (2, 16, 18)


def test_check_displacement_refuses_bad_fields():
    with pytest.raises(MbenchError, match="invalid displacement"):
        check_displacement(np.zeros((3, 4, 5)), (4, 5))
    with pytest.raises(MbenchError, match="invalid displacement"):
        check_displacement(np.full((2, 4, 5), np.nan), (4, 5))


def _blob(shape, centre, sigma=3.0):
    grid = np.indices(shape, dtype=float)
    return np.exp(-sum((g - c) ** 2 for g, c in zip(grid, centre)) / (2 * sigma ** 2))


@pytest.mark.parametrize("model_id", ["demons_intensity", "bspline_mi"])
def test_classical_baselines_recover_a_known_translation(model_id):
    if model_id == "bspline_mi":
        pytest.importorskip("SimpleITK")
    shift = (2.0, -3.0)
    fixed = _blob((40, 40), (20, 20), 5.0)
    moving = ndimage.shift(fixed, shift, order=3, mode="nearest")  # moving(x + shift) = fixed(x)
    entry = get_model_entry(model_id)
    coarse = {"mesh_size": 2} if model_id == "bspline_mi" else {}  # a translation needs no fine control grid
    u = create_model(entry, {**entry.defaults, **coarse}, "cpu").register(moving, fixed)
    core = fixed > 0.3
    assert np.median(u[0][core]) == pytest.approx(shift[0], abs=0.3)
    assert np.median(u[1][core]) == pytest.approx(shift[1], abs=0.3)
    factor = 0.7 if model_id == "bspline_mi" else 0.1  # a 2x2 B-spline grid fits a translation only roughly
    assert np.abs(warp(moving, u, order=1) - fixed)[core].mean() < factor * np.abs(moving - fixed)[core].mean()


def test_mask_demons_recover_a_shifted_mask_and_label_adam_a_3d_shift():
    pytest.importorskip("torch")
    from mbench.models.baselines.demons import DemonsRegistrar
    from mbench.models.baselines.label_adam import LabelInstanceOptimiser

    yy, xx = np.mgrid[:48, :48]
    fixed = ((yy - 24) ** 2 / 14 ** 2 + (xx - 24) ** 2 / 10 ** 2 <= 1).astype(np.uint8)
    moving = np.roll(fixed, 3, axis=1)
    for sim in ("udt", "dt"):
        u = DemonsRegistrar(sim, levels=2, iterations=60).register(moving, fixed, moving_labels=moving,
                                                                     fixed_labels=fixed)
        assert np.median(u[1][fixed > 0]) == pytest.approx(3.0, abs=0.5)
    with pytest.raises(MbenchError, match="needs the moving and fixed masks"):
        DemonsRegistrar("udt").register(moving, fixed)
    f3 = np.zeros((20, 16, 24), np.int64); f3[5:15, 4:12, 6:18] = 1; f3[5:15, 4:12, 18:21] = 2
    m3 = np.roll(f3, 2, axis=2)
    u = LabelInstanceOptimiser(encoding="onehot", iterations=60, downsample=1).register(
        m3.astype(float), f3.astype(float), moving_labels=m3, fixed_labels=f3)
    assert np.median(u[2][f3 > 0]) == pytest.approx(2.0, abs=0.3)
    with pytest.raises(MbenchError, match="needs the moving and fixed label maps"):
        LabelInstanceOptimiser().register(m3, f3)


def test_medm_encoding_follows_the_papers_formula_and_ignores_label_identity():
    from mbench.models.baselines.label_adam import medm_encoding

    labels = np.zeros((9, 11), int); labels[2:7, 3:9] = 1; labels[7:9, 3:9] = 2
    lam = 7.0
    expected = np.zeros(labels.shape)
    for c in (0, 1, 2):
        d = ndimage.distance_transform_edt(np.pad(labels == c, 1))[1:-1, 1:-1]
        x = lam - d
        expected += (lam - np.where(x > 0, x, np.expm1(np.minimum(x, 0)))) / lam
    enc = medm_encoding(labels, lam=lam)
    assert enc.shape == (1, 9, 11) and np.allclose(enc[0], expected, atol=1e-6)
    swapped = np.choose(labels, [0, 5, 3])  # other codes, same shapes
    assert np.allclose(medm_encoding(swapped), enc)
    assert medm_encoding(labels, per_label=True).shape == (3, 9, 11)


# -- metrics: hand computation and references ---------------------------------------------------------------------
def _toy_task():
    return load_task("maldi-mri-reg2d").spec


def test_precision_recall_f_of_warped_masks_match_hand_counts():
    task = _toy_task()
    fixed = np.zeros((10, 12), np.uint8); fixed[2:7, 2:8] = 1  # 30 pixels
    moving = np.zeros_like(fixed); moving[3:9, 4:9] = 1  # 30 pixels
    u = np.zeros((2, 10, 12)); u[0] += 1  # warped(y, x) = moving(y + 1, x): rows 2..7, cols 4..8
    data = {"fixed": fixed.astype(float), "moving": moving.astype(float), "fixed_labels": fixed,
            "moving_labels": moving, "spacing": None}
    rows = registration_rows(task, "p1", "p1", data, u, {"seed": 0})
    got = {r["metric"]: r["value"] for r in rows}
    warped = np.zeros_like(fixed); warped[2:8, 4:9] = 1
    common = int((warped & fixed).sum())  # rows 2..6 x cols 4..7 = 20
    assert common == 20
    p, r = common / warped.sum(), common / fixed.sum()
    assert got["precision"] == pytest.approx(p) and got["recall"] == pytest.approx(r)
    assert got["dice"] == pytest.approx(2 * p * r / (p + r))
    assert got["distance_transform_ssd"] == pytest.approx(distance_transform_ssd(warped, fixed))
    assert got["mutual_information"] == pytest.approx(mutual_information(moving, warp(moving.astype(float), u,
                                                                                          order=1), bins=32))
    assert got["folding_fraction"] == 0.0 and {r["case"] for r in rows} == {"p1"}


def test_per_label_rows_means_and_label_groups():
    task = load_task("genreg-l2r-abdomenctct").spec
    codes = task.labels
    fixed = np.zeros((12, 12, 12), np.int16)
    fixed[2:6, 2:6, 2:6] = codes["aorta"]; fixed[7:10, 7:10, 7:10] = codes["ivc"]; fixed[2:5, 8:11, 2:5] = codes["liver"]
    moving = fixed.copy()
    moving[moving == codes["liver"]] = 0  # liver lost in the moving map -> 0 Dice, inf HD95
    data = {"fixed": fixed.astype(float), "moving": moving.astype(float), "fixed_labels": fixed,
            "moving_labels": moving, "spacing": (2.0, 2.0, 2.0)}
    rows = registration_rows(task, pair_case_id("a", "b"), "a", data, np.zeros((3, 12, 12, 12)), {"seed": 0})
    dice = {r["region"]: r["value"] for r in rows if r["metric"] == "registration_dice"}
    hd = {r["region"]: r["value"] for r in rows if r["metric"] == "registration_hd95"}
    assert dice["aorta"] == dice["ivc"] == 1.0 and dice["liver"] == 0.0
    assert math.isnan(dice["spleen"])  # absent from the fixed map: excluded by the card's convention
    assert dice[""] == pytest.approx(2 / 3) and dice["mean:seen"] == 1.0  # (1 + 1 + 0) / 3, spleen excluded
    assert math.isinf(hd["liver"]) and hd[""] == 0.0  # inf left out of the mean, as paper 20's code
    assert "left out" in next(r["note"] for r in rows if r["metric"] == "registration_hd95" and r["region"] == "")


def test_mutual_information_matches_sklearn_on_the_same_bins():
    from mbench.metrics.functional.similarity import joint_histogram
    from sklearn.metrics import mutual_info_score

    rng = np.random.default_rng(0)
    a = rng.random((30, 40))
    b = np.sin(4 * a) + 0.2 * rng.random((30, 40))
    for bins in (2, 8, 32):
        def codes(v, bins=bins):
            return np.minimum(((v - v.min()) / (v.max() - v.min()) * bins).astype(int), bins - 1).ravel()

        ref = mutual_info_score(codes(a), codes(b)) / np.log(2)
        assert mutual_information(a, b, bins=bins) == pytest.approx(ref, rel=1e-9, abs=1e-12)
        assert joint_histogram(a, b, bins=bins).sum() == a.size
    assert mutual_information(a, np.full_like(a, 3.0)) == 0.0  # constant image
    assert mutual_information(a, a, bins=4) == pytest.approx(2.0, abs=0.01)  # ~uniform: log2(4)
    assert math.isnan(mutual_information(np.zeros(0), np.zeros(0)))
    with pytest.raises(MbenchError, match="differ in shape"):
        mutual_information(a, a[:5])
    with pytest.raises(MbenchError, match="2 bins"):
        mutual_information(a, b, bins=1)


def test_distance_map_matches_brute_force_and_ssd_edge_cases():
    rng = np.random.default_rng(3)
    mask = ndimage.binary_opening(rng.random((12, 14)) > 0.35)
    bg = np.argwhere(~mask)
    brute = np.zeros(mask.shape)
    for y, x in np.argwhere(mask):
        brute[y, x] = np.sqrt(((bg - (y, x)) ** 2).sum(1)).min()
    assert np.allclose(distance_map(mask), brute)
    full = np.ones((3, 5), bool)  # no background: distance to the nearest pixel outside the image
    assert distance_map(full).tolist()[1] == [1.0, 2.0, 2.0, 2.0, 1.0]
    empty = np.zeros(mask.shape, bool)
    assert distance_transform_ssd(empty, empty) == 0.0
    assert distance_transform_ssd(mask, empty) == pytest.approx(float(np.mean(brute ** 2)))


# -- per-case aggregation of pair scores --------------------------------------------------------------------------
def test_pair_scores_aggregate_to_cases():
    scores = {pair_case_id(f, m): v for (f, m), v in
              {("a", "b"): 1.0, ("a", "c"): 2.0, ("b", "c"): 4.0, ("a", "d"): math.nan, ("c", "d"): 6.0}.items()}
    assert aggregate_pair_scores(scores, "cases") == {"a": 1.5, "b": 2.5, "c": 4.0, "d": 6.0}
    assert aggregate_pair_scores(scores, "fixed_case") == {"a": 1.5, "b": 4.0, "c": 6.0}
    assert split_pair_case_id("x|y") == ("x", "y")
    with pytest.raises(MbenchError, match="not a registration pair"):
        aggregate_pair_scores({"lonely": 1.0})
    with pytest.raises(MbenchError, match="separator"):
        pair_case_id("a|b", "c")


def _fake_run(root: Path, model: str, values: dict[tuple[str, str], float], pair_units: str) -> None:
    folder = root / f"t--{model}"
    folder.mkdir(parents=True)
    config = {"task": {"metrics": {"primary": "registration_dice", "conventions": {"pair_units": pair_units}},
                       "protocol": {"name": "pairwise_registration"}}}
    (folder / "run.json").write_text(json.dumps({"task": "t", "model": model, "status": "complete",
                                                 "official": True, "config": config}))
    with open(folder / "scores.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, ["run", "task", "model", "seed", "fold", "round", "n_labelled", "case", "group",
                                "region", "metric", "value", "note"])
        w.writeheader()
        for (f, m), v in values.items():
            w.writerow({"run": folder.name, "task": "t", "model": model, "seed": 0, "case": pair_case_id(f, m),
                        "group": f, "region": "", "metric": "registration_dice", "value": v, "note": ""})


@pytest.mark.parametrize("pair_units", ["cases", "none"])
def test_score_matrix_uses_case_units_when_the_card_declares_pairs(tmp_path, pair_units):
    from mbench.stats import load_score_matrix

    cases = ["c1", "c2", "c3", "c4"]
    pairs = make_pairs(cases, "all_i_lt_j")
    rng = np.random.default_rng(0)
    a = {p: float(rng.random()) for p in pairs}
    b = {p: v - 0.1 for p, v in a.items()}
    _fake_run(tmp_path, "m1", a, pair_units)
    _fake_run(tmp_path, "m2", b, pair_units)
    matrix = load_score_matrix("t", root=tmp_path)
    if pair_units == "cases":
        assert list(matrix.cases) == cases
        expected = aggregate_pair_scores({pair_case_id(*p): v for p, v in a.items()}, "cases")
        assert matrix.values[:, matrix.index("m1")].tolist() == pytest.approx([expected[c] for c in cases])
        assert any("averaged per case" in n for n in matrix.notes)
    else:
        assert len(matrix.cases) == 6


# -- end to end ---------------------------------------------------------------------------------------------------
def _tiny_card(tmp_path: Path, family: str, card: str, new_id: str, params: dict, split: dict,
               quick_protocol: dict | None = None) -> None:
    tasks = tmp_path / "tasks" / family
    shutil.copytree(REPO / f"tasks/{family}/splits", tasks / "splits")
    raw = yaml.safe_load((REPO / f"tasks/{family}/{card}.yaml").read_text())
    sha = write_manifest(tasks / "splits/tiny.json", **split)
    raw["id"], raw["aliases"] = new_id, []
    raw["data"]["standin"].update(params=params, split={"file": "splits/tiny.json", "sha256": sha})
    if quick_protocol is not None:
        raw["quick"]["protocol"] = quick_protocol
    (tasks / f"{new_id}.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))


@pytest.mark.slow
def test_quick_zero_shot_run_and_case_level_comparison(tmp_path, monkeypatch):
    from mbench.cli.main import main
    from mbench.stats import load_score_matrix

    ids = [f"AbdomenCTCT_{k:04d}" for k in (1, 2, 3)]
    _tiny_card(tmp_path, "learn2reg", "genreg-l2r-abdomenctct", "tiny-l2r",
               {"n_cases": 3, "shape": [24, 20, 32], "spacing": [4.0, 4.0, 4.0], "seed": 1},
               {"splits": {"test": ids}, "group_key": "patient", "seed": 0, "method": "test", "dataset": "tiny"}, {})
    monkeypatch.setenv("MBENCH_TASKS_DIR", str(tmp_path / "tasks"))
    monkeypatch.setenv("MBENCH_RESULTS", str(tmp_path / "results"))
    for model in ("reg_identity", "medm_adam"):
        assert main(["run", "task=tiny-l2r", f"model={model}", "--quick"]) == 0
    runs = {p.name.split("--")[1]: p for p in (tmp_path / "results").iterdir()}
    with open(runs["medm_adam"] / "scores.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert {r["case"] for r in rows} == {"AbdomenCTCT_0001|AbdomenCTCT_0002", "AbdomenCTCT_0001|AbdomenCTCT_0003",
                                         "AbdomenCTCT_0002|AbdomenCTCT_0003"}
    assert {"aorta", "ivc", "liver", "mean:seen", ""} <= {r["region"] for r in rows}
    (job,) = [json.loads(p.read_text()) for p in (runs["medm_adam"] / "jobs").glob("*.json")]
    assert job["train_log"]["zero_shot"] and len(job["pairs"]) == 3
    matrix = load_score_matrix("tiny-l2r", root=tmp_path / "results")
    assert list(matrix.cases) == ids and matrix.unit == "case"
    mean = {m: float(np.nanmean(matrix.values[:, matrix.index(m)])) for m in matrix.models}
    assert mean["medm_adam"] > mean["reg_identity"]


@pytest.mark.slow
def test_quick_maldi_mri_run_scores_udt_above_identity(tmp_path, monkeypatch):
    from mbench.cli.main import main

    _tiny_card(tmp_path, "maldi_mri", "maldi-mri-reg2d", "tiny-maldi",
               {"n_pairs": 2, "size": 96, "kind": "synthetic", "seed": 5},
               {"splits": None, "group_key": "pair", "seed": 0, "method": "test", "dataset": "tiny",
                "rule": {"sizes": {"all": "rest"}, "n_pool": 2}})
    monkeypatch.setenv("MBENCH_TASKS_DIR", str(tmp_path / "tasks"))
    monkeypatch.setenv("MBENCH_RESULTS", str(tmp_path / "results"))
    scores = {}
    for model in ("reg_identity", "demons_udt"):
        assert main(["run", "task=tiny-maldi", f"model={model}", "--quick"]) == 0
        (folder,) = [p for p in (tmp_path / "results").iterdir() if f"--{model}--" in p.name]
        with open(folder / "scores.csv") as fh:
            rows = list(csv.DictReader(fh))
        assert {r["case"] for r in rows} == {"synthetic_01", "synthetic_02"}
        scores[model] = {m: np.mean([float(r["value"]) for r in rows if r["metric"] == m])
                         for m in ("dice", "precision", "recall", "mutual_information", "distance_transform_ssd")}
    assert scores["demons_udt"]["dice"] > scores["reg_identity"]["dice"]
    assert scores["demons_udt"]["distance_transform_ssd"] < scores["reg_identity"]["distance_transform_ssd"]


class _SpyRegistrar:
    """Records what the protocol hands it; registers with a zero field."""

    calls: ClassVar[list] = []

    def fit(self, pairs, adapter, *, seed, progress):
        type(self).calls.append(("fit", list(pairs), adapter.load_reference(pairs[0][1]).shape, seed))
        return {"n_parameters": 7}

    def register(self, moving, fixed, *, moving_labels=None, fixed_labels=None, spacing=None):
        type(self).calls.append(("register", moving.shape, moving_labels is None, tuple(spacing)))
        return np.zeros((fixed.ndim, *fixed.shape))


def test_protocol_fits_on_the_declared_split_and_passes_what_the_card_says(tmp_path, monkeypatch):
    from mbench.cli.main import main
    from mbench.models.registry import ModelEntry, registered_model

    ids = [f"AbdomenCTCT_{k:04d}" for k in (1, 2, 3, 4)]
    _tiny_card(tmp_path, "learn2reg", "genreg-l2r-abdomenctct", "tiny-l2r-fit",
               {"n_cases": 4, "shape": [16, 12, 16], "spacing": [4.0, 4.0, 4.0], "seed": 2},
               {"splits": {"test": ids[:2], "train": ids[2:]}, "group_key": "patient", "seed": 0, "method": "t",
                "dataset": "t"})
    card = tmp_path / "tasks/learn2reg/tiny-l2r-fit.yaml"
    raw = yaml.safe_load(card.read_text())
    raw["protocol"].update(fit_split="train", label_input="none")
    raw["protocol"].pop("segmenter_split")
    raw["models"] = ["spy_registrar"]
    card.write_text(yaml.safe_dump(raw, sort_keys=False))
    monkeypatch.setenv("MBENCH_TASKS_DIR", str(tmp_path / "tasks"))
    monkeypatch.setenv("MBENCH_RESULTS", str(tmp_path / "results"))
    _SpyRegistrar.calls = []
    entry = ModelEntry("spy_registrar", "learner", _SpyRegistrar, "spy", problems=("registration",),
                       requires_torch=False)
    with registered_model(entry):
        assert main(["run", "task=tiny-l2r-fit", "model=spy_registrar"]) == 0
    fit, register = _SpyRegistrar.calls[0], _SpyRegistrar.calls[1]
    assert fit[:3] == ("fit", [(ids[2], ids[3])], (16, 12, 16))
    assert register == ("register", (16, 12, 16), True, (4.0, 4.0, 4.0))  # label_input none: no labels given
    assert len(_SpyRegistrar.calls) == 2
    (folder,) = list((tmp_path / "results").iterdir())
    (job,) = [json.loads(p.read_text()) for p in (folder / "jobs").glob("*.json")]
    assert job["train_log"]["n_parameters"] == 7 and not job["train_log"]["zero_shot"]

