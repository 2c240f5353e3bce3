"""The ``pruning_sweep`` protocol (paper 22): structural channel pruning with Taylor FO importance, no fine-tuning."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
import torch
import yaml
from conftest import REPO
from mbench.cli.main import main
from mbench.metrics import functional as F
from mbench.models.baselines.unet_classic import ClassicUNet
from mbench.protocols.pruning import channels_to_keep, n_to_prune, prunable_layers, prune_unet, taylor_importance
from mbench.tasks import load_task


def _net(seed: int = 0) -> ClassicUNet:
    torch.manual_seed(seed)
    net = ClassicUNet(3, 2, [4, 8, 16]).eval()
    for m in net.modules():  # non-trivial BN statistics
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.2, 0.2)
            m.running_var.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.2, 0.2)
    return net


def _scores(net: ClassicUNet, seed: int = 1) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {name: rng.random(block[j].out_channels) for name, block, j in prunable_layers(net)}


def test_pruning_nothing_leaves_outputs_unchanged():
    net, x = _net(), torch.randn(2, 3, 20, 20)
    pruned, kept = prune_unet(net, _scores(net), 0)
    with torch.no_grad():
        assert torch.equal(net(x), pruned(x))
    assert F.count_parameters(pruned) == F.count_parameters(net)
    assert sum(kept.values()) == sum(b[j].out_channels for _, b, j in prunable_layers(net))


def test_structural_pruning_equals_zeroing_the_removed_channels():
    net, x = _net(), torch.randn(2, 3, 16, 16)
    scores = _scores(net)
    pruned, kept = prune_unet(net, scores, 20)
    keep = channels_to_keep(scores, 20)
    assert sum(len(v) for v in keep.values()) == sum(len(v) for v in scores.values()) - 20
    handles = []
    for name, block, j in prunable_layers(net):  # the same channels, zeroed after their ReLU in the original
        mask = torch.zeros(block[j].out_channels)
        mask[keep[name]] = 1
        assert kept[name] == len(keep[name])
        handles.append(block[j + 2].register_forward_hook(lambda m, i, o, mask=mask: o * mask[None, :, None, None]))
    with torch.no_grad():
        masked = net(x)
        for h in handles:
            h.remove()
        assert torch.allclose(masked, pruned(x), atol=1e-5)


def test_parameters_and_flops_fall_monotonically_with_the_fraction():
    net, x = _net(), torch.zeros(1, 3, 32, 32)
    scores = _scores(net)
    total = sum(len(v) for v in scores.values())
    params, flops = [], []
    for fraction in (0.0, 0.1, 0.25, 0.5, 0.75, 0.9):
        pruned, kept = prune_unet(net, scores, n_to_prune(fraction, total))
        assert min(kept.values()) >= 1
        params.append(F.count_parameters(pruned))
        flops.append(F.flops(pruned, x))
    assert all(a > b for a, b in zip(params, params[1:]))
    assert all(a > b for a, b in zip(flops, flops[1:]))


def test_importance_ranks_a_dead_channel_lowest_and_is_deterministic():
    net = _net()
    block = net.down[1]
    block[3].weight.data[2] = 0  # conv output 0 ...
    block[4].bias.data[2] = -1.0  # ... then BN -> negative -> ReLU -> 0: a dead channel
    x, masks = torch.randn(4, 3, 16, 16), torch.randint(0, 2, (4, 16, 16))
    scores = taylor_importance(net, lambda n, t: n(t), x, masks, batch_size=3)
    assert scores["down1.conv2"][2] == 0.0 and min(v.min() for v in scores.values()) == 0.0
    assert sum(v.sum() for v in scores.values()) > 0
    again = taylor_importance(net, lambda n, t: n(t), x, masks, batch_size=4)
    for name in scores:
        assert np.allclose(scores[name], again[name], rtol=1e-6)  # per-example terms: batching does not matter


def test_the_card_is_paper_22s_protocol():
    spec = load_task("kvasir-pruning").spec
    assert spec.protocol.name == "pruning_sweep" and spec.protocol.importance == "taylor_fo_normalised"
    assert n_to_prune(0.25, 2944) == 736 and n_to_prune(0.3247, 2944) == 956
    widths = spec.model_defaults["unet_ronneberger"]["widths"]
    net = ClassicUNet(3, 2, widths)
    assert sum(b[j].out_channels for _, b, j in prunable_layers(net)) == 2944
    assert spec.protocol.calibration_split != "test" and all(r.source for r in spec.reference_results)


@pytest.fixture
def tiny_pruning_card(use_tiny_catalogue):
    """A tiny copy of kvasir-pruning, on the tiny kvasir-seg stand-in and split."""
    folder = use_tiny_catalogue / "kvasir"
    tiny_seg = yaml.safe_load((folder / "tiny-kvasir-seg.yaml").read_text())
    raw = yaml.safe_load((REPO / "tasks" / "kvasir" / "kvasir-pruning.yaml").read_text())
    raw["id"], raw["aliases"] = "tiny-kvasir-pruning", []
    raw["data"] = tiny_seg["data"]
    raw["preprocessing"]["resize"] = [32, 32]
    raw["quick"] = {"protocol": {"fractions": [0.0, 0.3, 0.6], "calibration_size": 2, "latency_repeats": 1,
                                 "latency_batch": 2},
                    "model_defaults": {m: {"widths": [4, 8, 16], "epochs": 1, "batch_size": 4, "image_size": 32}
                                       for m in raw["models"]}}
    (folder / "tiny-kvasir-pruning.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    return "tiny-kvasir-pruning"


def test_quick_setting_runs_end_to_end(tiny_pruning_card, results):
    assert main(["run", f"task={tiny_pruning_card}", "model=unet_ronneberger", "--quick"]) == 0
    (folder,) = [p for p in results.iterdir() if p.is_dir()]
    assert json.loads((folder / "run.json").read_text())["status"] == "complete"
    jobs = {p.stem: json.loads(p.read_text()) for p in (folder / "jobs").glob("*.json")}
    base = next(j for k, j in jobs.items() if k.endswith("train"))
    sweep = sorted((j for k, j in jobs.items() if not k.endswith("train")), key=lambda j: j["fraction_index"])
    assert [j["fraction"] for j in sweep] == [0.0, 0.3, 0.6]
    assert not set(base["calibration"]["ids"]) & set(base["evaluation_ids"])
    assert len(base["calibration"]["ids"]) == 2 and base["calibration"]["split"] == "val"
    assert sweep[0]["parameters"] == sweep[0]["unpruned"]["parameters"] and sweep[0]["n_pruned"] == 0
    assert all(a["parameters"] > b["parameters"] and a["flops"] > b["flops"] for a, b in zip(sweep, sweep[1:]))
    assert all(j["latency_s"] > 0 for j in sweep)
    rows = list(csv.DictReader(open(folder / "scores.csv")))
    for k, j in enumerate(sweep):
        mine = [r for r in rows if r["n_labelled"] == str(k) and r["metric"] in ("dice", "iou")]
        assert len(mine) == 2 * len(base["evaluation_ids"])
        assert all(f"fraction={j['fraction']:g}" in r["note"] for r in mine)
