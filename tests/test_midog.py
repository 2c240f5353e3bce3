"""MIDOG 2021 cross-scanner mitosis detection (paper 11) and the Detector capability: card and split, the adapter on
the stand-in (COCO json boxes), tiling / mapping back / merging, metrics against pycocotools and hand counts, the
Faster R-CNN detector's contract and its training-only contextual regulariser, and the quick setting end to end."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from conftest import REPO
from mbench.data.adapter import create_adapter
from mbench.data.split import SplitManifest, write_manifest
from mbench.data.synthetic.midog import generate_midog
from mbench.errors import MbenchError
from mbench.metrics import functional as F
from mbench.models.capabilities import Detector, check_detections
from mbench.protocols.cross_domain_detection import box_centres, detect_image, image_subset, pair_scores
from mbench.protocols.tiling import (boxes_in_tile, crop_tile, merge_detections, nms, tile_origins,
                                     to_image_coordinates)
from mbench.tasks import load_task

TINY = {"n_per_scanner": 2, "n_unlabelled": 1, "scale": 0.045, "seed": 5}


@pytest.fixture(scope="module")
def standin(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("midog")
    generate_midog(root, **TINY)
    return root


def test_card_is_paper_11_with_pinned_scanner_splits():
    card = load_task("midog21-mitosis-sdg")
    spec = card.spec
    assert spec.protocol.domains == ["A", "B", "C"] and spec.protocol.sources == ["A", "B", "C"]
    assert spec.protocol.tiling.size == 512 and spec.protocol.detect == ["mitotic_figure"]
    real = SplitManifest.load(card.folder / spec.data.split.file, spec.data.split.sha256)
    assert real.splits["A"] == [f"{i:03d}" for i in range(1, 51)]
    assert real.splits["C"] == [f"{i:03d}" for i in range(101, 151)]
    standin = SplitManifest.load(card.folder / spec.data.standin.split.file, spec.data.standin.split.sha256)
    assert set(standin.splits) == set(spec.split_names()) == {"A", "B", "C"}
    refs = [r for r in spec.reference_results if r.region == "A_to_B"]
    assert {(r.metric, r.value) for r in refs if r.setting.startswith("Baseline")} == {
        ("coco_ap", 0.539), ("coco_ap50", 0.803), ("coco_ap75", 0.665)}
    assert len(spec.reference_results) == 54 and all("Table 1" in r.source for r in spec.reference_results)
    from mbench.config.resolve import resolve_run_config

    assert resolve_run_config("midog21-mitosis-sdg", "faster_rcnn").official
    quick = resolve_run_config("midog21-mitosis-sdg", "faster_rcnn", quick=True)
    assert not quick.official and quick.model_params["backbone"] == "resnet18_fpn"


def test_adapter_reads_the_standin_and_its_coco_boxes(standin):
    adapter = create_adapter("midog2021", standin, {})
    assert adapter.case_ids() == ["001", "002", "051", "052", "101", "102"]  # Leica 151 unlabelled: not a case
    scanners = {c: a["scanner"] for c, a in adapter.case_attributes().items()}
    assert scanners["002"] == "Hamamatsu XR" and scanners["051"] == "Hamamatsu S360" and scanners["102"] == "Aperio CS2"
    coco = json.loads((standin / "MIDOG.json").read_text())
    assert {c["name"] for c in coco["categories"]} == {"mitotic figure", "hard negative"}
    for case in adapter.case_ids():
        entry = next(im for im in coco["images"] if im["file_name"] == f"{case}.tiff")
        image = adapter.open_image(case)
        assert isinstance(image, np.memmap) and image.dtype == np.uint8
        assert image.shape == (entry["height"], entry["width"], 3)
        anns = [a for a in coco["annotations"] if a["image_id"] == entry["id"]]
        ref = adapter.load_reference(case)
        assert ref.tolist() == [[*a["bbox"], a["category_id"]] for a in anns]
        mit = adapter.annotations(case, [1])
        assert (mit["labels"] == 1).all() and len(mit["boxes"]) == sum(a["category_id"] == 1 for a in anns)
        assert np.allclose(mit["boxes"][:, 2] - mit["boxes"][:, 0], 50)  # x1, y1, x2, y2: 50 px squares
    assert "151" in create_adapter("midog2021", standin, {"scanners": ["Leica GT450"]}).case_ids()
    with pytest.raises(MbenchError, match="no MIDOG 2021 layout"):
        create_adapter("midog2021", standin / "images", {})


def test_standin_is_deterministic_and_differs_by_scanner(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    generate_midog(a, **TINY)
    generate_midog(b, **TINY)
    assert (a / "MIDOG.json").read_bytes() == (b / "MIDOG.json").read_bytes()
    assert (a / "images" / "051.tiff").read_bytes() == (b / "images" / "051.tiff").read_bytes()
    ad = create_adapter("midog2021", a, {})
    means = {c: np.asarray(ad.open_image(c)).reshape(-1, 3).mean(0) for c in ("001", "051", "101")}
    assert min(np.abs(means["001"] - means[c]).max() for c in ("051", "101")) > 3  # per-scanner colour shift


# -- tiling -----------------------------------------------------------------------------------------------------------
def test_tiles_cover_the_image_and_end_at_the_border():
    for width, height, size, overlap in [(515, 386, 128, 32), (100, 90, 128, 16), (512, 512, 256, 0)]:
        origins = tile_origins(width, height, size=size, overlap=overlap)
        covered = np.zeros((height, width), bool)
        for x, y in origins:
            covered[y:y + size, x:x + size] = True
            assert x + size <= max(width, size) and y + size <= max(height, size)
        assert covered.all()
    assert crop_tile(np.ones((3, 5, 3)), (0, 0), 4, fill=9).shape == (4, 4, 3)
    with pytest.raises(MbenchError):
        tile_origins(10, 10, size=8, overlap=8)


def test_a_tile_detection_maps_to_slide_coordinates_and_overlap_duplicates_merge():
    det = {"boxes": np.array([[10.0, 20.0, 60.0, 70.0]]), "scores": np.array([0.8]), "labels": np.array([1])}
    (mapped,) = to_image_coordinates([det], [(448, 192)])
    assert mapped["boxes"].tolist() == [[458.0, 212.0, 508.0, 262.0]]
    # the same cell seen by two overlapping tiles (origins 0 and 448 on a 64 px overlap) becomes one detection
    left = {"boxes": np.array([[470.0, 100, 520, 150], [5, 5, 55, 55]]), "scores": np.array([0.7, 0.6]),
            "labels": np.array([1, 1])}
    right = {"boxes": np.array([[22.0, 100, 72, 150]]), "scores": np.array([0.9]), "labels": np.array([1])}
    merged = merge_detections([left, right], [(0, 0), (448, 0)], iou_threshold=0.5)
    assert merged["boxes"].tolist() == [[470.0, 100.0, 520.0, 150.0], [5.0, 5.0, 55.0, 55.0]]
    assert merged["scores"].tolist() == [0.9, 0.6]
    # different labels never suppress each other
    other = {"boxes": right["boxes"], "scores": right["scores"], "labels": np.array([2])}
    assert len(merge_detections([left, other], [(0, 0), (448, 0)], iou_threshold=0.5)["boxes"]) == 3


def test_nms_matches_torchvision():
    import torch
    from torchvision.ops import nms as tv_nms

    rng = np.random.default_rng(0)
    for _ in range(20):
        xy = rng.uniform(0, 100, (40, 2))
        boxes = np.concatenate([xy, xy + rng.uniform(5, 40, (40, 2))], axis=1)
        scores = rng.random(40)
        for thr in (0.3, 0.5, 0.7):
            ref = tv_nms(torch.as_tensor(boxes), torch.as_tensor(scores), thr).numpy()
            assert nms(boxes, scores, thr).tolist() == ref.tolist()


def test_training_targets_keep_boxes_centred_in_the_tile():
    boxes = np.array([[100.0, 100, 150, 150], [220, 10, 270, 60], [240, 10, 290, 60], [300, 300, 350, 350]])
    b, lab = boxes_in_tile(boxes, np.array([1, 1, 1, 1]), (0, 0), 256)  # centre x 265 of the third: out
    assert b.tolist() == [[100, 100, 150, 150], [220, 10, 256, 60]] and lab.tolist() == [1, 1]


class SquareFinder:
    """A detector that reports the black squares lying wholly inside a tile (a stand-in for a trained model)."""

    def fit(self, images, targets, val_images, val_targets, *, score=None, seed=0, progress=None):
        return {}

    def detect(self, images):
        from scipy import ndimage

        out = []
        for tile in images:
            lab, n = ndimage.label(tile[0] < 0.1)
            boxes = []
            for sl in ndimage.find_objects(lab):
                y, x = sl
                if y.start > 0 and x.start > 0 and y.stop < tile.shape[1] and x.stop < tile.shape[2]:
                    boxes.append([x.start, y.start, x.stop, y.stop])
            out.append({"boxes": np.asarray(boxes, float).reshape(-1, 4), "scores": np.full(len(boxes), 0.9),
                        "labels": np.ones(len(boxes), int)})
        return out


def test_detect_image_finds_every_object_once_across_tile_overlaps():
    assert isinstance(SquareFinder(), Detector)
    image = np.full((300, 410, 3), 255, np.uint8)
    truth = [(20, 30), (110, 50), (120, 118), (200, 230), (380, 270), (58, 250)]  # (x, y) top-left, 20 px squares
    for x, y in truth:
        image[y:y + 20, x:x + 20] = 0
    found = detect_image(SquareFinder(), image, size=96, overlap=32, merge_iou=0.5)
    got = sorted(map(tuple, found["boxes"].astype(int).tolist()))
    assert got == sorted((x, y, x + 20, y + 20) for x, y in truth)
    refs = [{"boxes": np.array([[x, y, x + 20, y + 20] for x, y in truth], float), "labels": np.ones(6, int)}]
    scores = pair_scores([found], refs, radius=30, threshold=0.5)
    assert scores["coco_ap"] == pytest.approx(1.0) and scores["point_f1"] == 1.0 and scores["fp"] == 0


# -- metrics ----------------------------------------------------------------------------------------------------------
def test_coco_ap_of_our_outputs_matches_pycocotools_on_the_midog_json(standin):
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    adapter = create_adapter("midog2021", standin, {})
    coco = json.loads((standin / "MIDOG.json").read_text())
    rng = np.random.default_rng(1)
    cases = adapter.case_ids()
    preds, refs = [], []
    for case in cases:
        ref = adapter.annotations(case, [1])
        jitter = ref["boxes"] + rng.normal(0, 6, ref["boxes"].shape)
        fps = adapter.annotations(case, [2])["boxes"]  # detections on imposters: false positives
        boxes = np.concatenate([jitter, fps])
        preds.append({"boxes": boxes, "scores": rng.random(len(boxes)), "labels": np.ones(len(boxes), int)})
        refs.append(ref)
    ours = F.coco_detection(preds, refs)
    # independent path: pycocotools on MIDOG.json's own annotations (x1y1x2y2 -> xywh), mitotic figures only
    ids = {f"{im['id']:03d}": im["id"] for im in coco["images"]}
    gt = {"images": [im for im in coco["images"] if f"{im['id']:03d}" in cases],
          "categories": [{"id": 1, "name": "mitotic figure"}],
          "annotations": [{**a, "bbox": [a["bbox"][0], a["bbox"][1], a["bbox"][2] - a["bbox"][0],
                                         a["bbox"][3] - a["bbox"][1]], "area": 2500.0}
                          for a in coco["annotations"] if a["category_id"] == 1 and f"{a['image_id']:03d}" in cases]}
    dets = [{"image_id": ids[c], "category_id": 1, "score": float(s), "bbox": [b[0], b[1], b[2] - b[0], b[3] - b[1]]}
            for c, p in zip(cases, preds) for b, s in zip(p["boxes"].tolist(), p["scores"])]
    import contextlib
    import io

    with contextlib.redirect_stdout(io.StringIO()):
        cg = COCO()
        cg.dataset = gt
        cg.createIndex()
        ev = COCOeval(cg, cg.loadRes(dets), "bbox")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    assert ours["AP"] == pytest.approx(ev.stats[0], abs=1e-9)
    assert ours["AP50"] == pytest.approx(ev.stats[1], abs=1e-9)
    assert ours["AP75"] == pytest.approx(ev.stats[2], abs=1e-9)
    assert 0 < ours["AP"] < ours["AP50"] < 1


def test_point_f1_is_pooled_over_images_by_hand():
    box = lambda x, y: [x - 25, y - 25, x + 25, y + 25]  # noqa: E731
    refs = [{"boxes": np.array([box(100, 100), box(300, 300)], float), "labels": np.array([1, 1])},
            {"boxes": np.zeros((0, 4)), "labels": np.zeros(0, int)},
            {"boxes": np.array([box(50, 50)], float), "labels": np.array([1])}]
    preds = [{"boxes": np.array([box(120, 110), box(329, 300), box(500, 500)], float),
              "scores": np.array([0.9, 0.8, 0.4]), "labels": np.ones(3, int)},
             {"boxes": np.array([box(10, 10)], float), "scores": np.array([0.95]), "labels": np.ones(1, int)},
             {"boxes": np.array([box(50, 81)], float), "scores": np.array([0.7]), "labels": np.ones(1, int)}]
    # image 1: (120,110) is 22.4 px from (100,100): TP; (329,300) is 29 px from (300,300): TP; (500,500) below 0.5.
    # image 2: one FP. image 3: 31 px away: FP + FN. Pooled: TP 2, FP 2, FN 1 -> F1 = 4 / 7.
    s = pair_scores(preds, refs, radius=30, threshold=0.5)
    assert (s["tp"], s["fp"], s["fn"]) == (2, 2, 1) and s["point_f1"] == pytest.approx(4 / 7)
    assert box_centres(np.array([box(7, 9)])).tolist() == [[7.0, 9.0]]


def test_check_detections_rejects_malformed_outputs():
    ok = {"boxes": [[0, 0, 4, 4]], "scores": [0.3], "labels": [1]}
    assert len(check_detections([ok, ok], 2)) == 2
    for bad, match in [([ok], "one entry per image"), ([{"boxes": [[0, 0, 4, 4]]}, ok], "malformed"),
                       ([{**ok, "scores": [0.1, 0.2]}, ok], "differ in length"),
                       ([{**ok, "boxes": [[5, 0, 4, 4]]}, ok], "x2 < x1"),
                       ([{**ok, "scores": [float("nan")]}, ok], "non-finite")]:
        with pytest.raises(MbenchError, match=match):
            check_detections(bad, 2)
    with pytest.raises(MbenchError, match="outside the task"):
        check_detections([ok], 1, labels=[2])


# -- the Faster R-CNN detector -----------------------------------------------------------------------------------------
TINY_RCNN = dict(backbone="resnet18_fpn", pretrained="none", trainable_backbone_layers=5, image_size=64, lr=0.01,
                 warmup_iters=0, epochs=1, batch_size=2, rpn_pre_nms_top_n=50, rpn_post_nms_top_n=20,
                 roi_batch_size=16, rpn_pre_nms_top_n_test=50, rpn_post_nms_top_n_test=20, fpn_channels=32,
                 representation_size=64, device="cpu")


def _tiny_data(n=2):
    rng = np.random.default_rng(0)
    images = [rng.random((3, 64, 64)).astype(np.float32) for _ in range(n)]
    targets = [{"boxes": np.array([[8.0, 8, 40, 40]]), "labels": np.array([1])}, {"boxes": np.zeros((0, 4)),
                                                                                  "labels": np.zeros(0, int)}][:n]
    return images, targets


def test_faster_rcnn_is_a_detector_and_returns_valid_detections():
    from mbench.models.baselines.faster_rcnn import FasterRCNNDetector

    det = FasterRCNNDetector(**TINY_RCNN)
    assert isinstance(det, Detector)
    images, targets = _tiny_data()
    log = det.fit(images, targets, [], [], seed=0)
    assert len(log["epoch_loss"]) == 1 and log["best_epoch"] == 0 and log["n_parameters"] > 0
    out = check_detections(det.detect(images), 2, labels=[1])
    assert all(((d["boxes"] >= 0) & (d["boxes"] <= 64)).all() for d in out)
    with pytest.raises(MbenchError, match="not in the local cache"):
        FasterRCNNDetector(**{**TINY_RCNN, "pretrained": "imagenet"}).build()


def test_network_widths_and_sizes_follow_the_parameters():
    import torch
    from mbench.models.baselines.faster_rcnn import FasterRCNNDetector

    net = FasterRCNNDetector(**TINY_RCNN).build()
    assert net.backbone.out_channels == 32 and net.roi_heads.box_head.fc6.in_features == 32 * 7 * 7
    assert net.roi_heads.box_head.fc7.out_features == 64 and net.roi_heads.box_predictor.cls_score.out_features == 2
    assert all(b[0].out_channels == 32 for b in net.backbone.fpn.layer_blocks)
    assert net.rpn._pre_nms_top_n == {"training": 50, "testing": 50}
    assert net.rpn._post_nms_top_n == {"training": 20, "testing": 20}
    # tiles of image_size are not rescaled (torchvision's default would upscale them to 800 px)
    assert net.transform.min_size == (64,) and net.transform.max_size == 64
    net.eval()
    images, _ = net.transform([torch.zeros(3, 64, 64)])
    assert tuple(images.tensors.shape[-2:]) == (64, 64)
    default = FasterRCNNDetector(backbone="resnet18_fpn", pretrained="none", device="cpu").build()
    assert default.backbone.out_channels == 256 and default.roi_heads.box_head.fc7.out_features == 1024
    assert default.rpn._post_nms_top_n == {"training": 1000, "testing": 1000}
    with pytest.raises(MbenchError, match="COCO-pretrained weights fix"):
        FasterRCNNDetector(**{**TINY_RCNN, "pretrained": "coco"})


def test_pretrained_backbone_loads_from_a_local_file_only(tmp_path):
    import torch
    from mbench.models.baselines.faster_rcnn import FasterRCNNDetector
    from torchvision.models import resnet18

    torch.manual_seed(3)
    state = resnet18().state_dict()
    torch.save(state, tmp_path / "r18.pth")
    net = FasterRCNNDetector(**{**TINY_RCNN, "pretrained": "imagenet", "pretrained_path": str(tmp_path / "r18.pth")}).build()
    assert torch.equal(net.backbone.body.conv1.weight, state["conv1.weight"])
    with pytest.raises(MbenchError, match="not found"):
        FasterRCNNDetector(**{**TINY_RCNN, "pretrained": "imagenet", "pretrained_path": str(tmp_path / "x.pth")}).build()


def test_context_regulariser_adds_a_training_loss_and_is_absent_at_inference():
    import torch
    from mbench.models.baselines.faster_rcnn import FasterRCNNDetector, RegularisedBackbone

    images, targets = _tiny_data()
    plain, acr = FasterRCNNDetector(**TINY_RCNN), FasterRCNNDetector(**{**TINY_RCNN, "context_reg": "acr"})
    torch.manual_seed(0)
    plain.net = plain.build()
    acr.net = acr.build()
    assert isinstance(acr.net.backbone, RegularisedBackbone)
    # the same detector weights: copy the plain network's into the regularised one
    state = {k.replace("backbone.", "backbone.body.", 1) if k.startswith("backbone.") else k: v
             for k, v in plain.net.state_dict().items()}
    missing, unexpected = acr.net.load_state_dict(state, strict=False)
    assert not unexpected and all(".regulariser." in k for k in missing)
    plain.net.train()
    acr.net.train()
    torch.manual_seed(1)
    lp = plain.losses(images, targets)
    torch.manual_seed(1)
    la = acr.losses(images, targets)
    assert "loss_context" not in lp and float(la["loss_context"].detach()) > 0
    assert all(torch.allclose(lp[k], la[k]) for k in lp)  # detection losses unchanged, the total differs by L_reg
    assert acr.inference_parameters() == sum(p.numel() for p in plain.net.parameters())
    # inference never calls the head: identical detections, and the head may even be broken
    acr.net.backbone.regulariser.forward = lambda x: (_ for _ in ()).throw(AssertionError("called at inference"))
    for a, b in zip(plain.detect(images), acr.detect(images)):
        assert np.allclose(a["boxes"], b["boxes"]) and np.allclose(a["scores"], b["scores"])
    scr = FasterRCNNDetector(**{**TINY_RCNN, "context_reg": "scr"})
    scr.net = scr.build()
    scr.net.train()
    assert "loss_context" in scr.losses(images, targets)


# -- end to end -------------------------------------------------------------------------------------------------------
@pytest.fixture
def tiny_midog(tmp_path, monkeypatch):
    family = tmp_path / "tasks" / "midog"
    (family / "splits").mkdir(parents=True)
    raw = yaml.safe_load((REPO / "tasks" / "midog" / "midog21-mitosis-sdg.yaml").read_text())
    sha = write_manifest(family / "splits" / "tiny.json", {"A": ["001", "002"], "B": ["051", "052"],
                                                           "C": ["101", "102"]},
                         group_key="image", seed=0, method="test", dataset="tiny")
    raw["id"], raw["aliases"] = "tiny-midog", []
    raw["data"]["standin"] = {"generator": "midog2021", "params": TINY,
                              "split": {"file": "splits/tiny.json", "sha256": sha}}
    raw["quick"]["protocol"]["tiling"] = {"size": 128, "overlap": 16, "train_overlap": 0, "merge_iou": 0.5}
    raw["quick"]["protocol"]["test_images"] = 1
    raw["quick"]["model_defaults"]["faster_rcnn"] = {**{k: v for k, v in TINY_RCNN.items() if k != "device"},
                                                     "image_size": 128}
    (family / "tiny-midog.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    monkeypatch.setenv("MBENCH_TASKS_DIR", str(tmp_path / "tasks"))
    return family


@pytest.mark.slow
def test_quick_setting_runs_end_to_end(tiny_midog, results):
    from mbench.cli.main import main

    assert main(["run", "task=tiny-midog", "model=faster_rcnn", "--quick"]) == 0
    (folder,) = [p for p in results.iterdir() if p.is_dir()]
    record = json.loads((folder / "run.json").read_text())
    assert record["status"] == "complete" and not record["official"]
    rows = list(csv.DictReader(open(folder / "scores.csv")))
    assert {r["region"] for r in rows} == {"A_to_B", "A_to_C", "mean"}
    assert {r["metric"] for r in rows} == {"coco_ap", "coco_ap50", "coco_ap75", "point_f1"}
    for r in rows:
        assert r["value"] == "nan" or 0 <= float(r["value"]) <= 1
    job = json.loads((folder / "jobs" / "seed0-A.json").read_text())
    assert job["train_images"] == ["001", "002"] and set(job["pairs"]) == {"A_to_B", "A_to_C"}
    assert job["image_subsets"] == {"train_images": 4, "test_images": 1}
    for region, domain in (("A_to_B", "B"), ("A_to_C", "C")):
        pair = job["pairs"][region]
        assert pair["images"] == image_subset(["051", "052"] if domain == "B" else ["101", "102"], 1, domain)
        assert pair["n_images"] == 1
    assert job["pairs"]["A_to_B"]["n_references"] + job["pairs"]["A_to_C"]["n_references"] > 0


def test_image_subsets_are_seeded_per_domain_and_declared_in_the_card():
    cases = [f"{i:03d}" for i in range(1, 51)]
    sub = image_subset(cases, 5, "A")
    assert sub == image_subset(cases, 5, "A") and len(sub) == 5 and set(sub) <= set(cases)
    assert sub == sorted(sub)  # manifest order kept
    assert image_subset(cases, 5, "B") != sub  # each domain its own draw
    assert image_subset(cases, None, "A") == cases and image_subset(cases[:3], 5, "A") == cases[:3]
    from mbench.config.resolve import resolve_run_config

    official = resolve_run_config("midog21-mitosis-sdg", "faster_rcnn").task.protocol
    assert official.train_images is None and official.test_images is None
    quick = resolve_run_config("midog21-mitosis-sdg", "faster_rcnn", quick=True)
    assert quick.task.protocol.train_images >= 1 and quick.task.protocol.test_images >= 1
    assert quick.model_params["fpn_channels"] < 256
