"""GPU-efficient evaluation (issue 9 part 3): batched inference, autocast settings, overlapped scoring, mbench bench."""

from __future__ import annotations

import json

import numpy as np
import pytest
from mbench.errors import MbenchError

torch = pytest.importorskip("torch")


def _tiny_unet(batch_size=3, classes=2, in_channels=1):
    from mbench.models.baselines.torch_utils import seed_torch
    from mbench.models.baselines.unet_classic import ClassicUNetSegmenter

    learner = ClassicUNetSegmenter(widths=[4, 8], batch_size=batch_size, classes=classes, in_channels=in_channels,
                                   device="cpu")
    seed_torch(0)
    learner.net = learner.build(None)
    learner.net.eval()
    return learner


def _images(n=7, size=16, seed=0):
    return np.random.default_rng(seed).random((n, size, size), dtype=np.float32)


def _per_image(learner, images):
    """The reference: one image at a time, no DataLoader, no helper."""
    out = []
    with torch.no_grad():
        for img in images:
            x = torch.as_tensor(img[None, None])
            out.append(learner._to_prediction(learner._forward(x), x).numpy())
    return np.concatenate(out)


def test_batched_predict_equals_per_image_inference():
    learner = _tiny_unet(batch_size=3)
    images = _images(7)
    pred = learner.predict(images)
    assert pred.dtype == np.uint8 and pred.shape == (7, 16, 16)
    np.testing.assert_array_equal(pred, _per_image(learner, images))
    starts = [s for s, _ in learner.iter_predict(images)]
    assert starts == [0, 3, 6]


def test_eval_batch_size_and_workers_do_not_change_predictions():
    from mbench.inference.settings import InferenceSettings, use_inference

    learner = _tiny_unet(batch_size=2)
    images = _images(5)
    base = learner.predict(images)
    with use_inference(InferenceSettings(eval_batch_size=4, num_workers=1)):
        assert [s for s, _ in learner.iter_predict(images)] == [0, 4]
        np.testing.assert_array_equal(learner.predict(images), base)


def test_classifier_and_ensemble_outputs_go_through_the_helper():
    from mbench.models.baselines.ensemble import member_probabilities
    from mbench.models.baselines.resnet import ResNetClassifier
    from mbench.models.baselines.torch_utils import seed_torch

    clf = ResNetClassifier(arch="resnet10t", pretrained=False, batch_size=2, in_channels=1, device="cpu")
    seed_torch(0)
    clf.net = clf.build(3)
    clf.net.eval()
    images = _images(3, 32)
    probs = clf.predict(images)
    with torch.no_grad():
        ref = clf.net(torch.as_tensor(images[:, None])).sigmoid().numpy()
    assert probs.dtype == np.float32 and probs.shape == (3, 3)
    np.testing.assert_allclose(probs, ref, rtol=1e-5, atol=1e-6)

    learner = _tiny_unet(batch_size=2)
    p = member_probabilities(learner, images[:, :16, :16])
    with torch.no_grad():
        logits = learner._forward(torch.as_tensor(images[:, None, :16, :16]))
    np.testing.assert_allclose(p, logits.softmax(1).numpy(), rtol=1e-5, atol=1e-6)


def test_bf16_autocast_runs_on_cpu_and_returns_float32():
    from mbench.inference.batched import batched_predict
    from mbench.inference.settings import InferenceSettings

    net = torch.nn.Conv2d(1, 2, 3, padding=1)
    images = _images(4)
    seen = []

    def forward(x):
        out = net(x)
        seen.append(out.dtype)
        return out

    out = batched_predict(images, forward, device=torch.device("cpu"), batch_size=2,
                          settings=InferenceSettings(precision="bf16"))
    assert seen == [torch.bfloat16, torch.bfloat16] and out.dtype == np.float32
    with torch.no_grad():
        ref = net(torch.as_tensor(images[:, None])).numpy()
    np.testing.assert_allclose(out, ref, atol=0.05, rtol=0.05)  # bf16 keeps ~3 significant digits
    assert not np.array_equal(out, ref)


def test_unsupported_precision_device_pairs_are_refused_clearly():
    from mbench.config.resolve import resolve_run_config
    from mbench.inference.settings import InferenceSettings, check_precision

    with pytest.raises(MbenchError, match="fp16 autocast needs a CUDA device"):
        check_precision("fp16", "cpu")
    with pytest.raises(MbenchError, match="unknown precision"):
        InferenceSettings(precision="fp8")
    with pytest.raises(MbenchError, match="num_workers"):
        InferenceSettings(num_workers=-1)
    with pytest.raises(MbenchError, match="fp16 autocast needs a CUDA device"):
        resolve_run_config("brats18-wtseg", "unet", {"run.device": "cpu", "run.precision": "fp16"})


def test_precision_enters_the_config_hash_workers_and_batch_size_do_not():
    from mbench.config.resolve import resolve_run_config

    base = resolve_run_config("brats18-wtseg", "unet")
    same = resolve_run_config("brats18-wtseg", "unet", {"run.num_workers": 2, "run.eval_batch_size": 64,
                                                        "run.score_pool": "process"})
    bf16 = resolve_run_config("brats18-wtseg", "unet", {"run.precision": "bf16", "run.device": "cpu"})
    assert same.hash == base.hash and "precision" not in base.resolved()["run"]
    assert bf16.hash != base.hash and bf16.resolved()["run"]["precision"] == "bf16"
    assert bf16.official  # reduced precision is recorded and hashed, not a change of the benchmark
    assert same.run.inference.eval_batch_size == 64 and same.run.inference.num_workers == 2


def _segmentation_case(n=9, seed=1):
    rng = np.random.default_rng(seed)
    targets = np.zeros((n, 24, 24), np.uint8)
    for k in range(n):
        r, c = rng.integers(4, 14, 2)
        targets[k, r:r + 8, c:c + 8] = 1
    pred = np.roll(targets, rng.integers(-2, 3), axis=1)
    pred[0] = 0  # an empty prediction: conventions apply
    return pred, targets


@pytest.mark.parametrize("pool", ["serial", "thread", "process"])
def test_overlapped_scoring_equals_serial_score_rows(pool):
    from mbench.config.resolve import resolve_run_config
    from mbench.inference.overlap import predict_and_score
    from mbench.inference.settings import InferenceSettings
    from mbench.protocols.scoring import score_rows

    # surface metrics + a dataset-level metric (iou_pooled) + the card's post-processing
    task = resolve_run_config("lung-grosspath", "unet", {
        "metrics.report": ["iou", "hd95", "iou_pooled", "dice", "nsd"], "metrics.conventions.nsd_tolerance": 1.0,
        "postprocessing": [{"op": "remove_small_objects", "min_size": 10}, {"op": "keep_largest_component"}]}).task
    assert task.postprocessing
    pred, targets = _segmentation_case()
    ids, groups = [f"c{k}" for k in range(len(pred))], [f"p{k // 2}" for k in range(len(pred))]
    spacing = np.full((len(pred), 2), 0.8)
    serial = score_rows(task, ids, groups, pred, targets, {"seed": 0}, None, spacing)
    batches = [(s, pred[s:s + 4]) for s in range(0, len(pred), 4)]
    got_pred, rows = predict_and_score(batches, task, ids, groups, targets, {"seed": 0}, None, spacing,
                                       settings=InferenceSettings(score_pool=pool, score_workers=2))
    np.testing.assert_array_equal(got_pred, pred)
    assert json.dumps(rows, sort_keys=True) == json.dumps(serial, sort_keys=True)
    assert {r["metric"] for r in rows} == {"iou", "hd95", "iou_pooled", "dice", "nsd"}


def test_overlapped_scoring_of_a_region_task_equals_serial():
    from mbench.config.resolve import resolve_run_config
    from mbench.inference.overlap import predict_and_score
    from mbench.protocols.scoring import score_rows
    from mbench.tasks.targets import make_targets

    task = resolve_run_config("brats18-regions", "unet").task
    rng = np.random.default_rng(0)
    labelmaps = np.zeros((5, 20, 20), np.uint8)
    labelmaps[:, 4:16, 4:16] = 2
    labelmaps[:, 7:13, 7:13] = 4
    labelmaps[:, 9:11, 9:11] = 1
    targets = make_targets(task.target, labelmaps, task.labels)
    pred = np.where(rng.random(targets.shape) < 0.1, 0, targets).astype(np.uint8)
    ids, groups, spacing = [f"c{k}" for k in range(5)], ["g"] * 5, np.ones((5, 2))
    serial = score_rows(task, ids, groups, pred, targets, {}, labelmaps, spacing)
    _, rows = predict_and_score([(0, pred[:2]), (2, pred[2:])], task, ids, groups, targets, {}, labelmaps, spacing)
    assert rows == serial


def test_holdout_run_records_inference_settings_in_provenance(use_tiny_tasks, results):
    from mbench.config.resolve import resolve_run_config
    from mbench.runner import execute_run

    config = resolve_run_config("tiny-brats18-wtseg", "unet", {"run.precision": "bf16", "run.device": "cpu",
                                                               "run.eval_batch_size": 5}, quick=True, limit=12)
    record = execute_run(config).read_record()
    inference = record["environment"]["inference"]
    assert inference["precision"] == "bf16" and inference["autocast_dtype"] == "bfloat16"
    assert inference["eval_batch_size"] == 5 and inference["inference_mode"] is True
    assert record["config"]["run"]["precision"] == "bf16" and record["status"] == "complete"


def test_settings_are_scoped_to_the_run():
    from mbench.inference.settings import InferenceSettings, current_inference, use_inference

    with use_inference(InferenceSettings(precision="bf16")):
        assert current_inference().precision == "bf16"
    assert current_inference() == InferenceSettings()


@pytest.mark.slow
def test_bench_command_prints_the_overhead_ratio(use_tiny_tasks, capsys):
    from mbench.cli.main import main

    args = ["bench", "task=tiny-brats18-wtseg", "model=unet", "model.encoder=tu-resnet10t",
            "model.decoder_channels=[8, 8, 8, 8]", "--limit", "6", "--repeats", "2", "--warmup", "1",
            "--e2e-repeats", "1", "--device", "cpu"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "overhead" in out and ("PASS" in out or "FAIL" in out) and "random initialisation" in out
    assert main([*args, "--json", "--precision", "bf16", "--batch-size", "4"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["precision"] == "bf16" and report["batch_size"] == 4 and report["n_images"] == 6
    assert report["input_shape"] == [1, 48, 48] and report["image_size"] is None  # native (official) resolution
    expected = (report["end_to_end"]["seconds"] - report["forward_s"]) / report["forward_s"]
    assert report["overhead"] == pytest.approx(expected) and report["passed"] == (expected < 0.10)
    assert report["forward"]["images_per_s"] > 0 and report["rows_scored"] == 6
