"""Super images (paper 24): exact tiling round trip, grid choice, HECKTOR / LASC adapters and stand-ins, cards and
splits, 3D scoring after reassembly, parameters / FLOPs at the real input size, quick end-to-end runs."""

from __future__ import annotations

import csv
import json
import math

import numpy as np
import pytest
import yaml
from conftest import REPO
from hypothesis import given, settings
from hypothesis import strategies as st

from mbench.config.schema import SuperImagePrepSpec
from mbench.data.adapter import create_adapter
from mbench.data.split import SplitManifest, expand_rule, write_manifest
from mbench.data.super_image import SuperImageGrid, choose_grid, parse_grid, tile, untile
from mbench.data.synthetic.registry import generate_standin
from mbench.data.volume_prep import PreparedVolumes, crop_centred, prepare_case
from mbench.data.volumes import ArrayVolumes
from mbench.errors import MbenchError
from mbench.metrics import functional as F
from mbench.tasks import Task, load_task

CARDS = ["hecktor21-gtvt-seg", "hecktor21-gtvt-seg-crop80", "lasc18-la-seg"]


# ---------------------------------------------------------------- tiling


@st.composite
def volumes_and_grids(draw):
    c, d = draw(st.integers(1, 3)), draw(st.integers(1, 30))
    h, w = draw(st.integers(1, 9)), draw(st.integers(1, 9))
    how = draw(st.sampled_from(["auto", "rows", "cols", "both"]))
    if how == "auto":
        grid = choose_grid(d)
    elif how == "rows":
        grid = choose_grid(d, rows=draw(st.integers(1, d)))
    elif how == "cols":
        grid = choose_grid(d, cols=draw(st.integers(1, d)))
    else:  # non-square, possibly with several empty cells
        rows = draw(st.integers(1, d))
        grid = SuperImageGrid(d, rows, math.ceil(d / rows) + draw(st.integers(0, 3)))
    seed = draw(st.integers(0, 2 ** 16))
    return np.random.default_rng(seed).normal(size=(c, d, h, w)).astype(np.float32), grid, seed


@settings(max_examples=150, deadline=None)
@given(volumes_and_grids())
def test_round_trip_is_exact_for_images_and_label_maps(case):
    x, grid, seed = case
    c, d, h, w = x.shape
    s = tile(x, grid)
    assert s.shape == (c, grid.rows * h, grid.cols * w) and s.dtype == x.dtype
    assert untile(s, grid).tobytes() == x.tobytes()
    labels = np.random.default_rng(seed).integers(0, 4, size=(d, h, w)).astype(np.uint8)
    tiled = tile(labels, grid)
    assert tiled.shape == (grid.rows * h, grid.cols * w) and tiled.dtype == np.uint8
    assert np.array_equal(untile(tiled, grid), labels)
    for k in range(grid.rows * grid.cols):  # cell (i, j) holds slice i * cols + j; empty cells are zero
        i, j = divmod(k, grid.cols)
        cell = s[:, i * h:(i + 1) * h, j * w:(j + 1) * w]
        assert np.array_equal(cell, x[:, k]) if k < d else not cell.any()


def test_paper_appendix_shape_144_cube_two_channels():
    x = np.random.default_rng(0).random((2, 144, 16, 16), dtype=np.float32)  # in-plane reduced, same grid logic
    grid = choose_grid(144)
    assert (grid.rows, grid.cols) == (12, 12) and grid.image_shape(144, 144) == (1728, 1728)
    assert np.array_equal(untile(tile(x, grid), grid), x)


def test_grid_choice_follows_the_paper_and_pads_awkward_depths():
    assert [choose_grid(d).name for d in (144, 48, 88, 64, 16)] == ["12x12", "8x6", "11x8", "8x8", "4x4"]
    assert choose_grid(13).name == "4x4" and choose_grid(13).empty_cells == 3  # prime: ceil(sqrt) with padding
    assert choose_grid(1).name == "1x1"
    assert parse_grid("2x24", 48).name == "2x24" and parse_grid([24, 2], 48).name == "24x2"
    with pytest.raises(MbenchError, match="too few"):
        parse_grid("4x4", 48)
    with pytest.raises(MbenchError, match="cannot read"):
        parse_grid("8by6", 48)
    with pytest.raises(MbenchError, match="depth"):
        tile(np.zeros((1, 5, 2, 2)), choose_grid(6))


# ---------------------------------------------------------------- 3D scores after reassembly


def test_hd95_after_reassembly_equals_hd95_on_the_volume():
    rng = np.random.default_rng(3)
    ref = np.zeros((13, 20, 18), bool)
    ref[3:9, 5:14, 4:12] = True
    pred = np.roll(ref, (1, 2, -1), axis=(0, 1, 2)) | (rng.random(ref.shape) > 0.995)
    spacing = (2.5, 0.8, 1.1)
    grid = choose_grid(13)  # 13 slices: a padded 4 x 4 grid
    back = untile(tile(pred.astype(np.uint8), grid), grid).astype(bool)
    assert F.hd95(back, ref, spacing=spacing) == F.hd95(pred, ref, spacing=spacing)
    # the 2D super-image HD95 (the paper's apparent computation) is a different number
    assert F.hd95(tile(pred, grid), tile(ref, grid), spacing=spacing[1:]) != F.hd95(pred, ref, spacing=spacing)


class _EchoSuperImageLearner:
    """Returns the super image of a fixed prediction volume: isolates the protocol's tiling and scoring."""

    def __init__(self, volume, grid):
        self.volume, self.grid = volume, grid

    def predict(self, images):
        assert images.shape[-2:] == self.grid.image_shape(*self.volume.shape[1:])
        return tile(self.volume.astype(np.uint8), self.grid)[None]


def test_protocol_scores_reassembled_predictions_in_3d_with_the_volume_spacing():
    from mbench.protocols.super_image import SuperImageProtocol

    rng = np.random.default_rng(1)
    ref = np.zeros((10, 12, 14), np.int16)
    ref[2:7, 3:9, 4:10] = 1
    pred = np.roll(ref, 2, axis=1).astype(bool)
    image = rng.normal(size=(2, 12, 14, 10)).astype(np.float32)  # adapter order (x, y, z): slices on axis 2
    source = ArrayVolumes({"c1": (image, np.moveaxis(ref, 0, 2), (0.9, 1.1, 3.0))})
    prepared = PreparedVolumes(source, ["CT", "PT"], SuperImagePrepSpec())
    case = prepared.load("c1")
    assert case.image.shape == (2, 10, 12, 14) and case.spacing == (3.0, 0.9, 1.1)
    card = load_task("hecktor21-gtvt-seg").spec

    class _T:
        spec = card
        adapter = type("A", (), {"groups": staticmethod(lambda: {"c1": "c1"})})()

    learner = _EchoSuperImageLearner(pred, choose_grid(10))
    rows, shape, name = SuperImageProtocol._score_fold(None, type("C", (), {"task": card})(), _T(), learner,
                                                       prepared, "auto", {"seed": 0})
    got = {r["metric"]: r["value"] for r in rows}
    assert name == "4x3" and shape == (2, 48, 42)  # 10 slices: 5 x 2 too elongated, 2 cells padded
    assert got["hd95"] == pytest.approx(F.hd95(pred, ref > 0, spacing=(3.0, 0.9, 1.1)))
    assert got["dice"] == pytest.approx(F.dice(pred, ref > 0))


# ---------------------------------------------------------------- preparation


def test_crop_and_prepare_case():
    v = np.arange(4 * 6 * 8, dtype=np.float32).reshape(1, 4, 6, 8)
    out = crop_centred(v, (2, 4, 4), centre=(1.5, 2.5, 3.5))
    assert np.array_equal(out[0], v[0, 1:3, 1:5, 2:6])
    edge = crop_centred(v, (4, 4, 4), centre=(0.0, 0.0, 0.0))  # leaves the volume: zero-padded
    assert edge.shape == (1, 4, 4, 4) and edge[0, 0, 0, 0] == 0 and edge[0, 2, 2, 2] == v[0, 0, 0, 0]
    from mbench.data.volumes import VolumeCase

    lab = np.zeros((8, 6, 4), np.int16)
    lab[5, 4, 1] = 1
    case = VolumeCase("c", np.stack([np.full((8, 6, 4), 2000.0), np.arange(192.0).reshape(8, 6, 4)]), lab,
                      (1.0, 2.0, 3.0))
    prep = SuperImagePrepSpec(intensity={"CT": "ct_window", "PT": "zscore"}, crop=(2, 2, 2), resize=(4, 4, 4))
    out = prepare_case(case, ["CT", "PT"], prep)
    assert out.image.shape == (2, 4, 4, 4) and out.labelmap.shape == (4, 4, 4)
    assert np.all(out.image[0] == 1.0)  # 2000 HU clipped to the window's top -> 1
    assert out.spacing == (1.5, 0.5, 1.0)  # (z, x, y) of the 2-voxel crop resized to 4
    assert out.labelmap.sum() > 0  # the crop is centred on the reference


# ---------------------------------------------------------------- adapters and stand-ins


def test_hecktor_resampling_follows_the_affines_and_the_lps_box(tmp_path):
    import nibabel as nib

    from mbench.data.adapters.hecktor import resample_to_box

    data = np.random.default_rng(0).random((10, 12, 8)).astype(np.float32)
    aff = np.diag([-2.0, -2.0, 3.0, 1.0])
    aff[:3, 3] = [50.0, 40.0, -12.0]  # LPS of voxel (i, j, k) = (-50 + 2i, -40 + 2j, -12 + 3k)
    nib.save(nib.Nifti1Image(data, aff), str(tmp_path / "x.nii.gz"))
    img = nib.load(str(tmp_path / "x.nii.gz"))
    start = np.asarray([-50 + 2 * 3, -40 + 2 * 2, -12 + 3 * 1], float)
    out = resample_to_box(np.asanyarray(img.dataobj), img.affine, start, (4, 5, 3), 2.0, order=1, cval=-1)
    assert np.allclose(out[:, :, 0], data[3:7, 2:7, 1])  # in-plane voxel centres coincide
    near = resample_to_box(data, aff, start, (4, 5, 2), 3.0, order=0, cval=-1)
    assert np.allclose(near[0, 0], data[3, 2, 1:3])


def test_hecktor_adapter_reads_the_standin():
    root = generate_standin("hecktor2021", {"n_patients": 5, "box_mm": 24.0, "seed": 4})
    assert (root / "hecktor_nii").is_dir() and (root / "hecktor2021_bbox_training.csv").is_file()
    adapter = create_adapter("hecktor2021", root, {"voxel_mm": 1.0})
    ids = adapter.case_ids()
    assert ids == sorted(ids) and len(ids) == 5 and ids[0][:4] in ("CHGJ", "CHMR", "CHUM", "CHUS", "CHUP")
    x, ref = adapter.load_input(ids[0]), adapter.load_reference(ids[0])
    assert set(x) == {"CT", "PT"} and x["CT"].shape == x["PT"].shape == ref.shape == (24, 24, 24)
    assert adapter.spacing(ids[0]) == (1.0, 1.0, 1.0) and ref.any()
    assert x["PT"][ref > 0].mean() > 3 * x["PT"][ref == 0].mean()  # a hot tumour
    assert -1000 <= x["CT"].min() and x["CT"].max() > 500  # air and bone in HU
    assert adapter.case_attributes()[ids[0]]["centre"] != ""
    with pytest.raises(MbenchError, match="HECKTOR 2021 data not found"):
        create_adapter("hecktor2021", root / "nope", {})


def test_lasc_adapter_reads_the_standin():
    root = generate_standin("lasc2018", {"n_cases": 4, "sizes": [24, 28], "n_slices": 6, "seed": 5})
    adapter = create_adapter("lasc2018", root, {})
    ids = adapter.case_ids()
    assert len(ids) == 4 and all(len(i) == 20 for i in ids)
    assert {tuple(adapter.load_input(i)["LGE"].shape) for i in ids} == {(24, 24, 6), (28, 28, 6)}
    ref = adapter.load_reference(ids[0])
    assert set(np.unique(ref)) == {0, 1} and adapter.spacing(ids[0]) == (5.0, 5.0, 6.875)
    lge = adapter.load_input(ids[0])["LGE"]
    assert lge[ref > 0].mean() > lge[ref == 0].mean()  # bright blood pool against nulled tissue
    with pytest.raises(MbenchError, match="no LASC 2018 cases"):
        create_adapter("lasc2018", root / "nope", {})


# ---------------------------------------------------------------- cards and splits


@pytest.mark.parametrize("task_id", CARDS)
def test_cards_validate_and_standin_splits_are_pinned_disjoint_and_complete(task_id):
    card = load_task(task_id)
    spec = card.spec
    assert spec.protocol.name == "super_image" and spec.metrics.primary == "dice" and "hd95" in spec.metrics.report
    assert any(r.source.startswith("paper 24") for r in spec.reference_results)
    task = Task(spec, card.folder)
    manifest = task.split
    folds = [set(manifest.ids(f)) for f in spec.protocol.folds]
    assert sum(map(len, folds)) == len(set().union(*folds)) == len(task.adapter.case_ids())
    raw = SplitManifest.load(card.folder / spec.data.split.file, spec.data.split.sha256)
    n_real, n_folds = (224, 5) if task_id.startswith("hecktor") else (100, 4)
    assert raw.rule["n_pool"] == n_real and len(raw.rule["sizes"]) == n_folds == len(spec.protocol.folds)
    fake = [f"case{k:03d}" for k in range(n_real)]
    real = expand_rule(raw.rule, fake, {}, {}, seed=raw.seed)
    assert sorted(c for f in real.values() for c in f) == fake


def test_paper_grids_and_crop_are_declared():
    crop = load_task("hecktor21-gtvt-seg-crop80").spec.protocol
    assert crop.grids == ["8x6", "6x8", "12x4", "4x12", "24x2", "2x24"] and crop.prep.crop == (48, 80, 80)
    assert all(parse_grid(g, 48).empty_cells == 0 for g in crop.grids)
    lasc = load_task("lasc18-la-seg").spec.protocol
    assert lasc.prep.resize == (88, 512, 512) and parse_grid(lasc.grids[0], 88).name == "11x8"


# ---------------------------------------------------------------- efficiency at the real input size


def test_flops_on_the_meta_device_equal_flops_on_real_tensors():
    import torch

    from mbench.models.baselines.unet_classic import ClassicUNet
    from mbench.protocols.super_image import network_efficiency

    net = ClassicUNet(2, 2, [4, 8, 16])
    shape = (2, 8 * 12, 6 * 12)  # an 8 x 6 super image of 12 x 12 slices
    eff = network_efficiency(net, shape)
    assert eff["flops"] == F.flops(net, torch.zeros(1, *shape)) > 0
    assert eff["n_parameters"] == sum(p.numel() for p in net.parameters()) and eff["input_shape"] == [1, *shape]


# ---------------------------------------------------------------- end to end


def _tiny_cards(tmp_path, monkeypatch) -> dict[str, str]:
    tasks = tmp_path / "tasks"
    out = {}
    for family, card_id, standin, n, folds in (
            ("hecktor", "hecktor21-gtvt-seg", {"n_patients": 10, "box_mm": 24.0, "seed": 6}, 10, 5),
            ("lasc", "lasc18-la-seg", {"n_cases": 8, "sizes": [24, 28], "n_slices": 8, "seed": 7}, 8, 4)):
        (tasks / family / "splits").mkdir(parents=True)
        sha = write_manifest(tasks / family / "splits" / "tiny.json", None, group_key="patient", seed=1, method="test",
                             dataset="tiny", rule={"pool": "all", "n_pool": n,
                                                   "sizes": {f"fold{k}": n // folds for k in range(1, folds + 1)}})
        raw = yaml.safe_load((REPO / "tasks" / family / f"{card_id}.yaml").read_text())
        raw["id"], raw["aliases"] = f"tiny-{card_id}", []
        raw["data"]["standin"] = {"generator": raw["data"]["standin"]["generator"], "params": standin,
                                  "split": {"file": "splits/tiny.json", "sha256": sha}}
        prep = raw["protocol"]["prep"]
        prep.pop("resize", None)
        if family == "lasc":
            prep["resize"] = [8, 24, 24]
        raw["quick"] = {"protocol": {"val_fraction": 0.25},
                        "model_defaults": {"unet_ronneberger": {"widths": [4, 8], "epochs": 1, "batch_size": 2}}}
        (tasks / family / f"tiny-{card_id}.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
        out[family] = f"tiny-{card_id}"
    monkeypatch.setenv("MBENCH_TASKS_DIR", str(tasks))
    return out


def _rows(folder):
    return list(csv.DictReader(open(folder / "scores.csv")))


@pytest.mark.slow
def test_quick_runs_end_to_end_for_both_tasks(tmp_path, monkeypatch, results):
    from mbench.cli.main import main

    cards = _tiny_cards(tmp_path, monkeypatch)
    for family, task_id in cards.items():
        assert main(["run", f"task={task_id}", "model=unet_ronneberger", "--quick"]) == 0
        (folder,) = [p for p in results.iterdir() if p.is_dir() and task_id in p.name]
        assert json.loads((folder / "run.json").read_text())["status"] == "complete"
        rows = _rows(folder)
        n_cases = 10 if family == "hecktor" else 8
        tested = [r["case"] for r in rows if r["metric"] == "dice"]
        assert len(tested) == len(set(tested)) == n_cases  # every case tested once, out of fold
        assert all(math.isfinite(float(r["value"])) for r in rows if r["metric"] == "hd95")
        (flops,) = [r for r in rows if r["metric"] == "flops"]
        # real input size: one super image of the prepared volume (24^3 -> 6 x 4 grid; 8 x 24 x 24 -> 4 x 2 grid)
        expected = "(1, 2, 144, 96)" if family == "hecktor" else "(1, 1, 96, 48)"
        assert expected in flops["note"] and float(flops["value"]) > 0


class _ThresholdVolumeLearner:
    """A volumetric 'model' (PET far above its case mean) with the VolumeSegmenter interface, as ``unet3d`` has:
    exercises the protocol's 3D path on the prepared volumes."""

    def __init__(self, device: str = "cpu") -> None:
        import torch

        self.net = torch.nn.Conv3d(2, 2, 3, padding=1)

    def fit(self, train, val, *, classes, score, seed, progress):
        assert classes == 2 and train.load(train.ids[0]).image.ndim == 4
        case = val.load(val.ids[0])
        return {"val": score(self._mask(np.asarray(case.image)), np.asarray(case.labelmap), case.spacing)}

    @staticmethod
    def _mask(image):
        return image[1] > image[1].mean() + 2 * image[1].std()

    def predict_proba(self, image):
        fg = self._mask(image).astype(np.float32)
        return np.stack([1 - fg, fg])

    def save(self, path):
        pass

    def load(self, path):
        pass


@pytest.mark.slow
def test_volumetric_models_run_on_the_same_prepared_volumes(tmp_path, monkeypatch, results):
    from mbench.cli.main import main
    from mbench.models.registry import ModelEntry, registered_model

    cards = _tiny_cards(tmp_path, monkeypatch)
    raw = yaml.safe_load((tmp_path / "tasks" / "hecktor" / f"{cards['hecktor']}.yaml").read_text())
    raw["models"] = [*raw["models"], "threshold3d"]
    (tmp_path / "tasks" / "hecktor" / f"{cards['hecktor']}.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    entry = ModelEntry("threshold3d", "learner", _ThresholdVolumeLearner, "test", problems=("volume_segmentation",))
    with registered_model(entry):
        assert main(["run", f"task={cards['hecktor']}", "model=threshold3d", "--quick"]) == 0
    (folder,) = [p for p in results.iterdir() if p.is_dir()]
    rows = _rows(folder)
    assert {r["region"] for r in rows} == {""} and len([r for r in rows if r["metric"] == "dice"]) == 10
    jobs = sorted(p.name for p in (folder / "jobs").glob("*.json"))
    assert all(j.startswith("grid3d-") for j in jobs) and len(jobs) == 5
    (flops,) = [r for r in rows if r["metric"] == "flops"]
    assert "(1, 2, 24, 24, 24)" in flops["note"]
    assert float(np.mean([float(r["value"]) for r in rows if r["metric"] == "dice"])) > 0.3  # the hot spot is found
