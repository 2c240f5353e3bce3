"""Contract tests of the 2D segmentation catalogue (issue 6): PanNuke, CAMUS, Kvasir-SEG, Kvasir-Instrument.

Parametrised over the catalogue's cards: the card validates and pins its splits, the adapter reads the
stand-in in the release layout, and the quick setting runs end to end with the card's first (paper
baseline) model. The end-to-end runs use the tiny copies of ``conftest.TINY_CATALOGUE``.
"""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from conftest import TINY_CATALOGUE
from mbench.cli.main import main
from mbench.config.resolve import resolve_run_config
from mbench.data.split import SplitManifest, expand_rule
from mbench.errors import MbenchError
from mbench.tasks import Task, load_task

CATALOGUE = sorted(TINY_CATALOGUE)


def test_every_catalogue_card_is_registered():
    from mbench.tasks.registry import card_paths

    assert set(CATALOGUE) <= set(card_paths())


@pytest.mark.parametrize("task_id", CATALOGUE)
def test_card_is_the_papers_protocol_with_a_quick_setting(task_id):
    card = load_task(task_id)
    spec = card.spec
    for ref in (spec.data.split, spec.data.standin.split):
        manifest = SplitManifest.load(card.folder / ref.file, ref.sha256)
        assert set(manifest.split_names()) == set(spec.split_names())
    assert spec.quick and spec.reference_results
    assert all(r.source for r in spec.reference_results)
    official = resolve_run_config(task_id, spec.models[0])
    assert official.official
    assert not resolve_run_config(task_id, spec.models[0], quick=True).official


@pytest.mark.parametrize("task_id", CATALOGUE)
def test_adapter_reads_the_standin_and_the_split_is_sound(task_id, use_tiny_catalogue):
    card = load_task("tiny-" + task_id)
    task = Task(card.spec, card.folder)
    split = task.split  # hash, rule expansion, group leaks, coverage
    ids = [c for name in card.spec.split_names() for c in split.ids(name)]
    assert sorted(ids) == task.adapter.case_ids()  # every stand-in case in exactly one split
    groups = task.adapter.groups()
    owner = {}
    for name in card.spec.split_names():
        for case in split.ids(name):
            assert owner.setdefault(groups[case], name) == name
    samples = task.load_split(card.spec.split_names()[-1])
    assert len(samples) == len(split.ids(card.spec.split_names()[-1]))
    assert samples.images.dtype == np.float32 and 0 <= samples.images.min() and samples.images.max() <= 1
    assert set(np.unique(samples.labelmaps)) <= {0, *card.spec.labels.values()}
    assert samples.labelmaps.any()


@pytest.mark.slow
@pytest.mark.parametrize("task_id", CATALOGUE)
def test_quick_setting_runs_end_to_end_with_the_paper_baseline(task_id, use_tiny_catalogue, results):
    card = load_task("tiny-" + task_id)
    model = card.spec.models[0]
    assert main(["run", f"task=tiny-{task_id}", f"model={model}", "--quick"]) == 0
    (folder,) = [p for p in results.iterdir() if p.is_dir()]
    record = json.loads((folder / "run.json").read_text())
    assert record["status"] == "complete" and not record["official"]
    for info in record["training"].values():
        assert info["n_parameters"] > 0 and info["train_s"] > 0
    rows = list(csv.DictReader(open(folder / "scores.csv")))
    task = Task(card.spec, card.folder)
    tested = task.split.ids("test") if card.spec.protocol.name != "kfold" else \
        [c for f in card.spec.protocol.folds for c in task.split.ids(f)]
    per_case = [r for r in rows if r["case"] != "*" and r["metric"] == "dice"]
    regions = list(card.spec.regions) or [""]
    assert sorted(r["case"] for r in per_case) == sorted(tested * len(regions))  # every case scored once per region
    if card.spec.protocol.name == "kfold":
        _check_kfold(folder, TINY_CATALOGUE[task_id]["standin"]["n_per_fold"])


def _check_kfold(folder, n_per_fold: int) -> None:
    """Each case tested once per seed; the validation cases come from the training folds; the folds pool."""
    jobs = [json.loads(p.read_text()) for p in sorted((folder / "jobs").glob("*.json"))]
    assert [j["test_fold"] for j in jobs] == ["fold1", "fold2", "fold3"]
    tested = [r["case"] for j in jobs for r in j["rows"] if r["case"] != "*" and r["region"] == "nuclei"
              and r["metric"] == "dice"]
    assert len(tested) == len(set(tested)) == 3 * n_per_fold
    for j in jobs:
        assert not any(v.startswith(j["test_fold"] + "_") for v in j["val_ids"])
        assert j["n_train"] + j["n_val"] == 2 * n_per_fold and j["n_val"] >= 1
    summary = json.loads((folder / "summary.json").read_text())
    assert len(summary["metrics"]["dice:nuclei"]["points"]) == 1  # the folds pool into one cross-validated point
    assert "dice:nuclei|tissue:mean" in summary["metrics"]
    assert any(k.startswith("dice:nuclei|tissue=") for k in summary["metrics"])


# -- splits ------------------------------------------------------------------------------------------------------

def test_kvasir_rules_give_the_papers_sizes():
    ids = [f"img{i:04d}" for i in range(1000)]
    rule = json.loads(open(load_task("kvasir-seg").folder / "splits/kvasir_seg.json").read())["rule"]
    splits = expand_rule(rule, ids, {}, {}, seed=2023)
    assert {k: len(v) for k, v in splits.items()} == {"test": 200, "val": 160, "train": 640}
    assert splits == expand_rule(rule, list(reversed(ids)), {}, {}, seed=2023)  # order of discovery irrelevant
    with pytest.raises(MbenchError, match="expects 1000"):
        expand_rule(rule, ids[:999], {}, {}, seed=2023)
    rule = json.loads(open(load_task("kvasir-instrument").folder / "splits/kvasir_instrument.json").read())["rule"]
    names = [f"ins{i:03d}" for i in range(590)]
    official = {"train": names[:472], "test": names[472:]}
    splits = expand_rule(rule, names, {}, official, seed=2023)
    assert {k: len(v) for k, v in splits.items()} == {"test": 118, "val": 95, "train": 377}
    assert splits["test"] == sorted(official["test"])


def test_camus_manifest_is_the_official_patient_split():
    card = load_task("camus-ed")
    manifest = SplitManifest.load(card.folder / card.spec.data.split.file, card.spec.data.split.sha256)
    patients = {k: {c.split("_")[0] for c in v} for k, v in manifest.splits.items()}
    assert {k: len(v) for k, v in patients.items()} == {"train": 405, "val": 45, "test": 50}
    assert patients["test"] == {f"patient{p:04d}" for p in range(451, 501)}
    assert all(len(v) == 2 * len(patients[k]) for k, v in manifest.splits.items())  # both views together
    assert not (patients["train"] & patients["val"])


# -- adapters ----------------------------------------------------------------------------------------------------

def test_pannuke_adapter_builds_semantic_maps_and_reads_both_folder_spellings(tmp_path):
    from mbench.data.adapters.pannuke import PanNukeAdapter

    for k, inner in ((1, "fold1"), (2, "fold 2"), (3, "fold3")):
        img_dir, mask_dir = tmp_path / f"Fold {k}" / "images" / inner, tmp_path / f"Fold {k}" / "masks" / inner
        img_dir.mkdir(parents=True)
        mask_dir.mkdir(parents=True)
        masks = np.zeros((2, 8, 8, 6), np.float64)
        masks[0, 1:3, 1:3, 0] = 7  # a neoplastic nucleus
        masks[0, 5:7, 5:7, 4] = 3  # an epithelial one
        np.save(img_dir / "images.npy", np.full((2, 8, 8, 3), 200.0))
        np.save(img_dir / "types.npy", np.asarray(["Breast", "Colon"]))
        np.save(mask_dir / "masks.npy", masks)
    adapter = PanNukeAdapter(tmp_path)
    assert adapter.case_ids()[:2] == ["fold1_0000", "fold1_0001"] and len(adapter.case_ids()) == 6
    ref = adapter.load_reference("fold2_0000")
    assert ref[1, 1] == 1 and ref[5, 5] == 5 and ref[0, 0] == 0
    assert adapter.case_attributes()["fold3_0001"] == {"tissue": "Colon"}
    assert adapter.load_input("fold1_0000")["image"].shape == (8, 8, 3)
    assert len(set(p for c in adapter.case_ids() for p in adapter.files(c))) == 9
    (tmp_path / "Fold 3" / "masks" / "fold3" / "masks.npy").unlink()
    with pytest.raises(MbenchError, match="fold 3 is incomplete"):
        PanNukeAdapter(tmp_path)


def test_metaimage_reader_matches_simpleitk(tmp_path):
    sitk = pytest.importorskip("SimpleITK")
    from mbench.data.adapters.metaimage import read_mhd

    array = (np.arange(35, dtype=np.uint16).reshape(1, 5, 7) * 97)
    image = sitk.GetImageFromArray(array)
    image.SetSpacing((0.154, 0.308, 1.0))
    sitk.WriteImage(image, str(tmp_path / "x.mhd"))
    ours, spacing = read_mhd(tmp_path / "x.mhd")
    assert np.array_equal(ours, array[0]) and spacing == pytest.approx((0.308, 0.154))
    sitk.WriteImage(image, str(tmp_path / "z.mhd"), useCompression=True)
    assert np.array_equal(read_mhd(tmp_path / "z.mhd")[0], array[0])
    (tmp_path / "x.raw").write_bytes(b"\0" * 10)
    with pytest.raises(MbenchError, match="shorter than its header"):
        read_mhd(tmp_path / "x.mhd")


def test_kvasir_adapters_threshold_jpeg_masks_and_read_the_official_lists(tmp_path):
    from mbench.data.adapters.kvasir import KvasirInstrumentAdapter, KvasirSegAdapter
    from PIL import Image

    root = tmp_path / "Kvasir-SEG"
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    mask = np.zeros((20, 30), np.uint8)
    mask[5:15, 10:20] = 255
    Image.fromarray(np.full((20, 30, 3), 120, np.uint8)).save(root / "images" / "a.jpg")
    Image.fromarray(mask).save(root / "masks" / "a.jpg", quality=70)
    adapter = KvasirSegAdapter(tmp_path)  # the parent of the release folder works too
    ref = adapter.load_reference("a")
    assert set(np.unique(ref)) == {0, 1} and abs(int(ref.sum()) - 100) <= 10
    (root / "train.txt").write_text("a.jpg\n")
    (root / "test.txt").write_text("")
    assert KvasirInstrumentAdapter(root).official_splits() == {"train": ["a"], "test": []}
    (root / "images" / "b.jpg").write_bytes((root / "images" / "a.jpg").read_bytes())
    with pytest.raises(MbenchError, match="without a mask"):
        KvasirSegAdapter(root)


def test_standins_are_deterministic(tmp_path):
    from mbench.data.synthetic.pannuke import generate_pannuke

    a, b = tmp_path / "a", tmp_path / "b"
    generate_pannuke(a, n_per_fold=2, size=32, seed=1)
    generate_pannuke(b, n_per_fold=2, size=32, seed=1)
    for f in sorted(a.rglob("*.npy")):
        assert np.array_equal(np.load(f), np.load(b / f.relative_to(a)))


# -- stratified reporting ----------------------------------------------------------------------------------------

def test_tissue_mean_is_unweighted_over_tissues():
    from mbench.protocols.strata import strata_rows

    spec = load_task("pannuke").spec
    rows = [{"case": c, "region": "nuclei", "metric": "dice", "value": v}
            for c, v in [("a", 1.0), ("b", 1.0), ("c", 1.0), ("d", 0.0), ("e", float("nan"))]]
    out = {r["region"]: r for r in strata_rows(spec, rows, list("abcde"), {"tissue": list("LLLSS")}, {})
           if r["metric"] == "dice"}
    assert out["nuclei|tissue=L"]["value"] == 1.0 and out["nuclei|tissue=S"]["value"] == 0.0
    assert out["nuclei|tissue:mean"]["value"] == 0.5  # a case-weighted mean would be 0.75
    assert "1 NaN" in out["nuclei|tissue=S"]["note"]
    with pytest.raises(MbenchError, match="stratifies by 'tissue'"):
        strata_rows(spec, rows, list("abcde"), {}, {})


# -- models ------------------------------------------------------------------------------------------------------

def _score(pred: np.ndarray, target: np.ndarray) -> float:
    return float((pred == target).mean())


def test_segformer_upsamples_logits_to_the_input_and_loads_local_weights_only(tmp_path, monkeypatch):
    from transformers import SegformerForImageClassification

    from mbench.models.baselines.segformer import SegFormerSegmenter, segformer_config

    x = np.random.default_rng(0).random((4, 3, 30, 34)).astype(np.float32)
    y = (x[:, 0] > 0.5).astype(np.uint8)
    model = SegFormerSegmenter(variant="b0", classes=2, epochs=1, batch_size=2, device="cpu")
    log = model.fit(x, y, x[:2], y[:2], score=_score, seed=0)
    assert model.predict(x).shape == (4, 30, 34)  # at the input size, not the decoder's 1/4
    assert 3.6e6 < log["n_parameters"] < 3.8e6  # SegFormer-B0: 3.7 M (Sourget et al., Table 2)

    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    with pytest.raises(MbenchError, match="huggingface-cli download nvidia/mit-b0"):
        SegFormerSegmenter(variant="b0", pretrained=True, device="cpu").build()
    # a local checkpoint in the hub cache layout (an image classifier, as nvidia/mit-b0 is) is loaded
    snapshot = tmp_path / "hf" / "hub" / "models--nvidia--mit-b0" / "snapshots" / "abc"
    (snapshot.parents[1] / "refs").mkdir(parents=True)
    (snapshot.parents[1] / "refs" / "main").write_text("abc")
    classifier = SegformerForImageClassification(segformer_config("b0", 1000))
    classifier.save_pretrained(str(snapshot))
    net = SegFormerSegmenter(variant="b0", classes=4, pretrained=True, device="cpu").build()
    key = next(k for k, v in classifier.state_dict().items() if k.startswith("segformer.") and v.ndim == 2)
    assert np.array_equal(net.state_dict()[key].numpy(), classifier.state_dict()[key].numpy())
    assert net.config.num_labels == 4
    with pytest.raises(MbenchError, match="not the MiT-b4 encoder"):
        SegFormerSegmenter(variant="b4", pretrained=True, device="cpu", pretrained_path=str(snapshot)).build()


def test_unet_widths_give_the_papers_parameter_counts():
    from mbench.models.baselines.unet_classic import ClassicUNet

    def count(widths):
        return sum(p.numel() for p in ClassicUNet(1, 4, widths).parameters())

    assert 30.5e6 < count([64, 128, 256, 512, 1024]) < 31.5e6  # "31M" (Sourget et al., Table 2)
    assert 3.6e6 < count([22, 44, 88, 176, 352]) < 3.8e6  # "3.7M" (U-Net Lite)


def test_dae_stage_denoises_before_segmenting():
    from mbench.models.baselines.dae import DAEUNetSegmenter

    rng = np.random.default_rng(0)
    x = rng.random((6, 3, 32, 32)).astype(np.float32)
    y = (x[:, 1] > 0.5).astype(np.uint8)
    model = DAEUNetSegmenter(encoder="efficientnet-b0", decoder_channels=[8, 8, 8, 8, 8], classes=2, epochs=1,
                             dae_epochs=2, batch_size=3, dae_batch_size=3, device="cpu")
    log = model.fit(x, y, x[:2], y[:2], score=_score, seed=0)
    assert len(log["denoiser"]["history"]) == 2 and log["history"]
    assert log["n_parameters"] == log["denoiser"]["n_parameters"] + sum(
        p.numel() for p in model.segmenter.net.parameters())
    denoised = model.dae.denoise(x)
    assert denoised.shape == x.shape and not np.allclose(denoised, x)
    assert model.predict(x).shape == (6, 32, 32)
