"""Image-to-image tasks: MRI -> SPR maps (paper 19) and blind x4 CT super-resolution (paper 5).

Cards and pinned splits, the DICOM and NIfTI adapters on their stand-ins, the seeded degradation chain and the
frozen, hash-checked test inputs, PSNR's declared data range, VIF against torchmetrics, the small-n warning
against scipy's exact Wilcoxon test, and quick runs end to end.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import scipy.stats
import yaml
from conftest import REPO
from mbench.cli.main import main
from mbench.config.image_schema import DegradationSpec
from mbench.config.loading import validate_task_dict
from mbench.config.resolve import resolve_run_config
from mbench.data.degradation import case_seed, degrade, degrade_case
from mbench.data.frozen import freeze_inputs
from mbench.errors import MbenchError
from mbench.metrics import functional as F
from mbench.protocols import create_protocol
from mbench.protocols.base import RunContext
from mbench.protocols.image_scoring import image_case_rows, metric_kwargs
from mbench.stats import compare_pair, min_attainable_p
from mbench.tasks import Task, load_task

SR = "lidc-sr4x-blind"
SPR = {"hn-mri2spr-t1w": ["in_phase"], "hn-mri2spr-water": ["water"], "hn-mri2spr-water-fat": ["water", "fat"],
       "hn-mri2spr-water-fat-bone": ["water", "fat", "bone"]}


def _task(task_id: str) -> Task:
    card = load_task(task_id)
    return Task(card.spec, card.folder)


# ---- cards and splits -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("task_id", [SR, *SPR])
def test_card_validates_and_its_split_is_pinned_and_patient_grouped(task_id):
    task = _task(task_id)
    split = task.split  # hash-checked, leak-checked, coverage-checked on the stand-in
    groups = task.adapter.groups()
    owners = {}
    for name, ids in split.splits.items():
        for case in ids:
            assert owners.setdefault(groups[case], name) == name
    sizes = {k: len({groups[c] for c in v}) for k, v in split.splits.items()}
    assert sizes == ({"train": 10, "val": 2, "test": 4} if task_id == SR else {"train": 12, "val": 1, "test": 3})
    spec = task.spec
    assert spec.protocol.name == "image_to_image" and spec.quick and spec.reference_results
    assert all(r.source for r in spec.reference_results)
    assert spec.comparison is not None


def test_spr_variants_are_the_papers_four_input_combinations():
    specs = {t: load_task(t).spec for t in SPR}
    assert {t: s.protocol.inputs for t, s in specs.items()} == SPR
    assert all(s.model_defaults["unet3d_regressor"]["in_channels"] == len(SPR[t]) for t, s in specs.items())
    assert all(s.metrics.params["psnr"]["data_range"] == 2000.0 for s in specs.values())
    assert all("19,644" in s.metrics.conventions.notes for s in specs.values())  # the paper's implied peak
    exp3 = [r.value for r in specs["hn-mri2spr-water-fat"].reference_results if r.metric == "psnr"]
    assert 57.62 in exp3 and 57.97 in exp3  # the paper's printed mean and the recomputed one, both kept


def test_sr_card_declares_the_papers_metrics_and_tests():
    spec = load_task(SR).spec
    assert spec.metrics.report == ["psnr", "ssim", "vif", "lpips"]
    assert all(spec.metrics.params[m]["data_range"] == 1.0 for m in spec.metrics.report)
    assert spec.comparison.tests[0] == "welch" and "ttest_rel" in spec.comparison.tests
    assert spec.protocol.target_window == (-1024, 1024) and spec.protocol.degradation.scale == 4
    blimsr = {r.metric: r.value for r in spec.reference_results if r.setting == "BliMSR"}
    assert blimsr == {"psnr": 26.48864, "ssim": 0.90146, "vif": 0.52138, "lpips": 0.14351}


def test_psnr_without_a_data_range_is_refused():
    with pytest.raises(MbenchError, match="data_range"):
        F.psnr(np.zeros(4), np.ones(4), data_range=None)
    raw = yaml.safe_load((REPO / "tasks/lidc_sr4x/lidc-sr4x-blind.yaml").read_text())
    del raw["metrics"]["params"]["psnr"]
    with pytest.raises(MbenchError, match="psnr.*explicit data range"):
        validate_task_dict(raw)


def test_max_of_pair_is_the_papers_peak_and_is_recorded():
    kw, note = metric_kwargs({"data_range": "max_of_pair"}, np.array([1.0, 1500.0]), np.array([1.0, 1800.0]))
    assert kw == {"data_range": 1800.0} and "1800" in note
    with pytest.raises(MbenchError, match="policy"):
        metric_kwargs({"data_range": "max"}, np.zeros(2), np.ones(2))


def test_masked_rows_score_only_the_mask_and_only_voxelwise_metrics():
    spec = load_task("hn-mri2spr-water").spec
    ref = np.zeros((6, 6, 4), np.float32)
    pred = ref.copy()
    mask = np.zeros(ref.shape, bool)
    mask[1:3] = True
    pred[~mask] = 10.0  # errors only outside the mask
    rows = image_case_rows(spec, "c", "c", pred, ref, {"body": mask}, {})
    by = {(r["region"], r["metric"]): r["value"] for r in rows}
    assert by[("body", "mae")] == 0.0 and by[("", "mae")] == pytest.approx(10.0 * (~mask).mean())
    assert by[("", "psnr")] == pytest.approx(F.psnr(pred, ref, data_range=2000.0))
    with pytest.raises(MbenchError, match="shape"):
        image_case_rows(spec, "c", "c", pred[:3], ref, {}, {})


# ---- adapters on their stand-ins --------------------------------------------------------------------------------
def test_lidc_adapter_reads_the_dicom_layout(tmp_path):
    import pydicom
    from mbench.data.adapters.lidc import LidcIdriAdapter
    from mbench.data.synthetic.lidc import generate_lidc

    generate_lidc(tmp_path, n_patients=2, n_slices=8, size=32, seed=1)
    a = LidcIdriAdapter(tmp_path, slices_per_patient=4)
    assert a.case_ids()[:4] == [f"LIDC-IDRI-0001_s{j:02d}" for j in range(4)]
    assert set(a.groups().values()) == {"LIDC-IDRI-0001", "LIDC-IDRI-0002"}
    files = [a.files(f"LIDC-IDRI-0001_s{j:02d}")[0] for j in range(4)]
    z = [float(pydicom.dcmread(f).ImagePositionPatient[2]) for f in files]
    assert z == sorted(z) and len(set(z)) == 4  # evenly spaced, z-sorted (file names are shuffled)
    assert all(pydicom.dcmread(f).Modality == "CT" for f in files)  # the CR series is skipped
    ds = pydicom.dcmread(files[0])
    hu = a.load_reference("LIDC-IDRI-0001_s00")
    assert hu.shape == (32, 32) and np.allclose(hu, ds.pixel_array.astype(np.float32) * ds.RescaleSlope
                                                + ds.RescaleIntercept)
    assert hu.min() < -900 and hu.max() > 500  # air and bone
    assert a.spacing("LIDC-IDRI-0001_s00") == (0.703125, 0.703125)
    with pytest.raises(MbenchError, match="slice id"):
        a.load_reference("LIDC-IDRI-0001_s09")


def test_hn_adapter_reads_the_nifti_layout(tmp_path):
    from mbench.data.adapters.hn_mri2spr import HnMri2SprAdapter
    from mbench.data.synthetic.hn_mri2spr import generate_hn_mri2spr

    generate_hn_mri2spr(tmp_path, n_patients=2, shape=(24, 24, 8), seed=0)
    a = HnMri2SprAdapter(tmp_path)
    x = a.load_channels("HN002", ["water", "fat", "bone"])
    spr, body = a.load_reference("HN002"), a.load_mask("HN002", "body")
    assert x.shape == (3, 24, 24, 8) and spr.shape == body.shape == (24, 24, 8)
    assert a.spacing("HN002") == (1.3, 1.3, 3.0)
    assert (spr[~body] > 0).any()  # the couch, outside the body mask
    assert spr[body].max() > 1400 and (x[2][~body] == 0).all()  # bone SPR; bone channel only inside bone
    (tmp_path / "HN002" / "bone.nii.gz").unlink()
    with pytest.raises(MbenchError, match="bone.nii.gz is missing"):
        a.load_channels("HN002", ["bone"])


# ---- degradation and frozen inputs ------------------------------------------------------------------------------
def test_degradation_is_deterministic_per_case_and_quantised():
    hr = np.random.default_rng(0).random((64, 64)).astype(np.float32)
    spec = DegradationSpec()
    a, b = degrade_case(hr, spec, "case-1"), degrade_case(hr, spec, "case-1")
    assert a.shape == (16, 16) and a.tobytes() == b.tobytes()
    assert np.allclose(a * 255, np.round(a * 255), atol=1e-4)  # 8-bit
    assert not np.array_equal(a, degrade_case(hr, spec, "case-2"))
    assert not np.array_equal(a, degrade_case(hr, DegradationSpec(seed=1), "case-1"))
    assert case_seed(0, "x") != case_seed(1, "x")
    rng = np.random.default_rng(5)
    draws = [degrade(hr, spec, rng) for _ in range(2)]  # a generator gives fresh draws (training)
    assert not np.array_equal(*draws)


def test_frozen_inputs_refuse_a_changed_byte(tmp_path):
    fz = freeze_inputs(tmp_path / "f", ["a", "b"], lambda c: np.full((8, 8), 0.25 if c == "a" else 0.75))
    assert fz.load("b").shape == (8, 8)
    fz.check_pin(fz.manifest_sha256, "test")
    with pytest.raises(MbenchError, match="pinned in the task card"):
        fz.check_pin("0" * 64, "test")
    path = tmp_path / "f" / "a.npy"
    data = bytearray(path.read_bytes())
    data[-1] ^= 1
    path.write_bytes(bytes(data))
    with pytest.raises(MbenchError, match="does not match its sha256"):
        fz.load("a")
    again = freeze_inputs(tmp_path / "f", ["a", "b"], lambda c: np.zeros((8, 8)))  # reopened, not remade
    with pytest.raises(MbenchError, match="does not match its sha256"):
        again.load("a")


def test_the_protocol_freezes_the_test_inputs_the_card_pins():
    cfg = resolve_run_config(SR, "bicubic", quick=True)
    ctx = RunContext(cfg)
    proto = create_protocol(cfg)
    fz = proto.frozen(ctx, "test")
    assert fz.manifest_sha256 == cfg.task.protocol.degradation.frozen.standin
    test = proto.pairs(ctx, "test")
    lr, hr = test.input(0), test.target(0)
    assert lr.shape == (1, 32, 32) and hr.shape == (128, 128) and 0 <= hr.min() and hr.max() <= 1
    assert np.array_equal(lr[0], fz.load(test.ids[0]))  # every model reads these files
    train = proto.pairs(ctx, "train")
    assert train.load_input is None and train.synthesise is not None  # training inputs are drawn on the fly
    path = fz.folder / (test.ids[0] + ".npy")
    original = path.read_bytes()
    try:
        path.write_bytes(original[:-1] + bytes([original[-1] ^ 1]))
        with pytest.raises(MbenchError, match="does not match its sha256"):
            proto.pairs(ctx, "test").input(0)
    finally:
        path.write_bytes(original)


# ---- metrics and statistics -------------------------------------------------------------------------------------
def test_vif_matches_torchmetrics():
    torch = pytest.importorskip("torch")
    tm = pytest.importorskip("torchmetrics.functional.image")
    rng = np.random.default_rng(3)
    ref = np.clip(np.cumsum(rng.normal(0, 0.05, (70, 90)), axis=1) + 0.5, 0, 1)
    for pred in (ref, np.clip(ref + rng.normal(0, 0.08, ref.shape), 0, 1), 0.5 * ref + 0.2, ref[::-1].copy()):
        ours = F.vif(pred, ref, data_range=1.0)
        theirs = float(tm.visual_information_fidelity(torch.tensor(pred * 255)[None, None],
                                                        torch.tensor(ref * 255)[None, None]))
        assert ours == pytest.approx(theirs, rel=1e-6, abs=1e-9)
    assert F.vif(ref, ref, data_range=1.0) == pytest.approx(1.0)
    assert F.vif(1000 * pred, 1000 * ref, data_range=1000.0) == pytest.approx(F.vif(pred, ref, data_range=1.0))
    with pytest.raises(MbenchError, match="41"):
        F.vif(ref[:30, :30], ref[:30, :30], data_range=1.0)


def test_three_cases_cannot_support_a_significance_claim():
    x, y = [30.1, 17.6, 16.2], [35.4, 20.7, 19.3]  # e.g. MAE of two models on 3 test patients
    r = compare_pair(x, y, "wilcoxon", n_boot=0)
    exact = scipy.stats.wilcoxon(x, y, method="exact")
    assert r.p_value == pytest.approx(exact.pvalue) == pytest.approx(0.25)
    assert r.min_p == min_attainable_p("wilcoxon", 3) == pytest.approx(2 / 2 ** 3)
    assert not r.significant
    assert any("n=3" in w and "smallest attainable two-sided p = 0.25 > alpha = 0.05" in w
               and "no significance claim" in w for w in r.warnings)
    t = compare_pair(x, y, "ttest_rel", n_boot=0)  # parametric: a small p, but flagged as descriptive
    assert t.p_value == pytest.approx(scipy.stats.ttest_rel(x, y).pvalue)
    assert any("normally distributed differences" in w for w in t.warnings)
    six = compare_pair(list(range(1, 7)), [0] * 6, "wilcoxon", n_boot=0)
    assert six.p_value == pytest.approx(scipy.stats.wilcoxon(range(1, 7), [0] * 6, method="exact").pvalue)
    assert six.significant and not six.warnings  # n = 6 can reach 2/64


# ---- runs -------------------------------------------------------------------------------------------------------
def _summary(capsys, task, model, *extra):
    assert main(["run", f"task={task}", f"model={model}", *extra, "--quick"]) == 0
    capsys.readouterr()
    from mbench.stats import load_score_matrix

    return load_score_matrix(task, [model])


def test_bicubic_beats_nearest_on_the_standin(capsys):
    bicubic, nearest = (_summary(capsys, SR, m) for m in ("bicubic", "nearest"))
    assert bicubic.shape[0] == nearest.shape[0] == 40  # 4 test patients x 10 slices
    assert np.nanmean(bicubic.values) > np.nanmean(nearest.values) + 0.3  # PSNR, dB
    assert main(["compare", f"task={SR}", "models=bicubic,nearest", "n_boot=50", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [c["test"] for c in out["comparisons"]] == ["welch", "ttest_rel", "wilcoxon"]  # the card's plan
    welch = out["comparisons"][0]["results"][0]
    mean_b = np.nanmean(nearest.values)
    assert welch["mean_b"] == pytest.approx(mean_b) or welch["mean_a"] == pytest.approx(mean_b)


@pytest.mark.slow
def test_quick_sr_run_with_a_trainable_generator(capsys):
    m = _summary(capsys, SR, "srresnet", "model.iterations=6", "model.val_every=3")
    assert m.shape == (40, 1) and np.isfinite(m.values).all()
    _summary(capsys, SR, "bicubic")
    assert main(["compare", f"task={SR}", "against=srresnet", "metric=ssim", "n_boot=50", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert all(len(c["results"]) == 1 and c["results"][0]["a"] == "srresnet" for c in out["comparisons"])


@pytest.mark.slow
def test_quick_spr_run_and_the_small_n_warning_in_compare(capsys):
    task = "hn-mri2spr-water-fat-bone"
    unet = _summary(capsys, task, "unet3d_regressor", "model.epochs=1")
    poly = _summary(capsys, task, "voxel_poly")
    assert unet.shape == poly.shape == (3, 1) and unet.higher_is_better is False
    assert main(["compare", f"task={task}", "n_boot=50", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    wilcoxon = next(c for c in out["comparisons"] if c["test"] == "wilcoxon")["results"][0]
    assert wilcoxon["min_p"] == pytest.approx(0.25) and not wilcoxon["significant"]
    assert any("no significance claim" in w for w in wilcoxon["warnings"])
    assert main(["compare", f"task={task}", "n_boot=50"]) == 0
    assert "no significance claim is possible" in " ".join(capsys.readouterr().out.split())


# ---- super-resolution networks and losses -----------------------------------------------------------------------
def test_blimsr_trains_with_the_gan_loss_and_a_spectrally_normalised_discriminator():
    torch = pytest.importorskip("torch")
    from mbench.data.paired import PairedCases
    from mbench.models.baselines.sr_networks import BliMSRGenerator, SNResNetDiscriminator
    from mbench.models.baselines.super_resolver import SuperResolver

    disc = SNResNetDiscriminator(channels=4)
    convs = [m for m in disc.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
    assert convs and all(hasattr(m, "weight_orig") for m in convs)  # spectral_norm on every layer
    assert BliMSRGenerator(channels=8, n_blocks=1)(torch.zeros(1, 1, 6, 6)).shape == (1, 1, 24, 24)
    hr = {c: np.random.default_rng(i).random((32, 32)).astype(np.float32) for i, c in enumerate("abc")}
    train = PairedCases(["a", "b"], None, hr.get, synthesise=lambda t, rng: t[::4, ::4][None])
    val = PairedCases(["c"], lambda c: hr[c][::4, ::4][None], hr.get)
    model = SuperResolver(arch="blimsr", channels=8, n_blocks=1, disc_channels=4, iterations=2, hr_patch=16,
                          perceptual_weight=0.0, val_every=1, lr=1e-3)
    log = model.fit(train, val, score=lambda p, t: 0.0, seed=0, progress=lambda *a: None)
    assert log["n_parameters_discriminator"] > 0 and all(h["loss_d"] is not None for h in log["history"])
    out = model.predict(val.input(0))
    assert out.shape == (32, 32) and 0 <= out.min() and out.max() <= 1


def test_perceptual_loss_uses_pre_activation_vgg_features_and_needs_local_weights(tmp_path, monkeypatch):
    torch = pytest.importorskip("torch")
    from mbench.models.baselines.sr_losses import VGG_LAYERS, VGGPerceptual, vgg19_weights_path

    layers = [torch.nn.Conv2d(3, 3, 3, padding=1) if i in VGG_LAYERS else torch.nn.ReLU() for i in range(40)]
    loss = VGGPerceptual(torch.nn.Sequential(*layers))
    assert len(loss.features) == VGG_LAYERS[-1] + 1  # the network is cut after block 5's last conv
    x = torch.rand(2, 1, 16, 16)
    assert float(loss(x, x)) == 0.0 and float(loss(x, torch.rand(2, 1, 16, 16))) > 0
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    with pytest.raises(MbenchError, match="vgg19-dcbb9e9d.pth") as err:
        VGGPerceptual()
    assert str(vgg19_weights_path().parent) in str(err.value)
