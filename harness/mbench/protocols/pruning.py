"""Post-training channel pruning sweep (paper 22): Taylor first-order importance, gradient-normalised, no fine-tuning.

Jobs: ``seed<s>-train`` trains the run's :class:`~mbench.models.baselines.unet_classic.ClassicUNet` learner once
(train, checkpoint selected on val) and computes the importance of every prunable channel on the calibration
subset; ``seed<s>-f<k>`` (one per fraction) loads that state, removes the ``round(fraction * N)`` least important
channels and scores the pruned network on ``test``.

* Prunable channels: the output channels of every 3x3 conv (two per U-Net block, bottleneck and decoder included;
  the transposed convs and the 1x1 head are not pruned). N is their total (2944 for widths 32..512, the paper's count).
* Importance (``taylor_fo_normalised``): for each calibration image n, the loss E_n is the pixel-summed cross-entropy
  of the logits y_n; its gradient dE_n/dy_n is scaled to unit L2 norm per image and back-propagated. With a_{n,c} the
  channel's activation (after BN + ReLU, which gives the same product as the pre-activation: the ReLU gradient is 0
  where it is 0), s_{n,c} = sum over pixels of a * da, and I_c = mean_n s_{n,c}^2 (the paper's squared variant).
* Ranking is global over all layers (no per-layer quota and no layer-wise rescaling of I, as the paper); ties are
  broken by (layer, channel) order. Every layer keeps at least one channel.
* Pruning is **structural**: the conv's output channel, its BN entry and the matching input channel of every consumer
  (next conv, skip concatenation in the decoder, transposed conv, head) are removed, so parameters, FLOPs and
  latency really go down. At fraction 0 the network is an exact copy (bitwise identical outputs).
* Calibration: a seeded ``calibration_size`` subset (or all) of ``calibration_split`` (val by default; the paper
  used a part of its test set, which the harness keeps untouched); its ids are asserted disjoint from test.
* Rows: per test image Dice / IoU with ``n_labelled`` = fraction index and ``note`` = ``fraction=<f>; pruned=<P>/<N>``.
  Each fraction job records parameters, FLOPs (one image at the network input size, 1 MAC = 2 FLOPs,
  ``torch.utils.flop_counter``), latency (median seconds of a forward pass of a ``latency_batch`` of test images) and
  their ratios to the unpruned network.
* The trained state dict travels in the train job's result (base64 of ``torch.save``); fine for the quick setting,
  large (~170 MB of JSON) for the 31 M-parameter U-Net.
"""

from __future__ import annotations

import copy
import time

import numpy as np
import torch
import torch.nn.functional as nnf
from torch import nn

from mbench.config.schema import PruningSweepSpec
from mbench.errors import MbenchError
from mbench.metrics import functional as F
from mbench.models.baselines.torch_utils import resize, state_from_text, state_to_text, to_tensor
from mbench.models.baselines.unet_classic import ClassicUNet
from mbench.models.capabilities import Progress
from mbench.models.registry import create_model, get_model_entry
from mbench.protocols.base import EvaluationProtocol, Job, RunContext, component_seed
from mbench.protocols.scoring import aggregate_primary, score_rows

__all__ = ["PruningSweepProtocol", "prunable_layers", "channels_to_keep", "taylor_importance", "prune_unet", "n_to_prune",
           "calibration_positions"]


def prunable_layers(net: ClassicUNet) -> list[tuple[str, nn.Sequential, int]]:
    """(name, block, conv position 0 or 3) of every prunable 3x3 conv, in a fixed order (encoder, then decoder)."""
    out = []
    for kind, blocks in (("down", net.down), ("dec", net.dec)):
        for i, block in enumerate(blocks):
            out += [(f"{kind}{i}.conv{1 + j // 3}", block, j) for j in (0, 3)]
    return out


def taylor_importance(net: ClassicUNet, forward, images: torch.Tensor, masks: torch.Tensor,
                      batch_size: int = 8) -> dict[str, np.ndarray]:
    """Per prunable layer, the squared, gradient-normalised Taylor FO importance of each output channel.

    ``forward`` maps an input batch to logits at the network's resolution (the learner's ``_forward``);
    ``masks`` (N, H, W) are class indices, resized (nearest) to the logits' size.
    """
    work = copy.deepcopy(net).eval()
    for m in work.modules():
        if isinstance(m, nn.ReLU):
            m.inplace = False
    layers = prunable_layers(work)
    sums = {name: torch.zeros(block[j].out_channels, dtype=torch.float64) for name, block, j in layers}
    handles = []

    def hook(name):
        def fwd(_module, _inp, out):
            act = out.detach()

            def grad_hook(g: torch.Tensor) -> None:
                sums[name].add_(((act * g).sum((2, 3)).double() ** 2).sum(0))

            out.register_hook(grad_hook)
        return fwd

    for name, block, j in layers:
        handles.append(block[j + 2].register_forward_hook(hook(name)))
    try:
        for start in range(0, len(images), batch_size):
            x, t = images[start:start + batch_size], masks[start:start + batch_size]
            work.zero_grad(set_to_none=True)
            logits = forward(work, x)
            target = nnf.interpolate(t[:, None].float(), size=logits.shape[-2:], mode="nearest")[:, 0].long()
            loss = nnf.cross_entropy(logits, target, reduction="sum")
            (grad,) = torch.autograd.grad(loss, logits, retain_graph=True)
            norm = grad.flatten(1).norm(dim=1).clamp_min(1e-12)
            logits.backward(grad / norm[:, None, None, None])
    finally:
        for h in handles:
            h.remove()
    return {name: (s / len(images)).numpy() for name, s in sums.items()}


def n_to_prune(fraction: float, total: int) -> int:
    """P = round(fraction * N)."""
    return int(round(fraction * total))


def _ranking(scores: dict[str, np.ndarray]) -> list[tuple[str, int]]:
    order = list(scores)
    flat = [(float(v), order.index(name), c, name) for name in order for c, v in enumerate(scores[name])]
    return [(name, c) for _, _, c, name in sorted(flat)]


def channels_to_keep(scores: dict[str, np.ndarray], n_prune: int) -> dict[str, list[int]]:
    """Per layer, the channels left after removing the ``n_prune`` globally least important (at least one kept).

    Example:
        >>> channels_to_keep({"a": np.array([0.5, 0.1]), "b": np.array([0.2, 0.3, 0.0])}, 3)
        {'a': [0], 'b': [1]}
    """
    removed: dict[str, set[int]] = {name: set() for name in scores}
    todo = n_prune
    for name, c in _ranking(scores):
        if todo <= 0:
            break
        if len(scores[name]) - len(removed[name]) > 1:
            removed[name].add(c)
            todo -= 1
    return {name: [c for c in range(len(v)) if c not in removed[name]] for name, v in scores.items()}


def _select(conv: nn.Conv2d | nn.ConvTranspose2d, out_keep: torch.Tensor | None, in_keep: torch.Tensor | None):
    """A copy of ``conv`` keeping the given output / input channels."""
    w = conv.weight.data
    transposed = isinstance(conv, nn.ConvTranspose2d)
    out_dim, in_dim = (1, 0) if transposed else (0, 1)
    if out_keep is not None:
        w = w.index_select(out_dim, out_keep)
    if in_keep is not None:
        w = w.index_select(in_dim, in_keep)
    new = copy.deepcopy(conv)
    new.weight = nn.Parameter(w.clone())
    if conv.bias is not None and out_keep is not None:
        new.bias = nn.Parameter(conv.bias.data.index_select(0, out_keep).clone())
    if transposed:
        new.in_channels, new.out_channels = w.shape[0], w.shape[1]
    else:
        new.out_channels, new.in_channels = w.shape[0], w.shape[1]
    return new


def _select_bn(bn: nn.BatchNorm2d, keep: torch.Tensor) -> nn.BatchNorm2d:
    new = copy.deepcopy(bn)
    new.num_features = len(keep)
    new.weight = nn.Parameter(bn.weight.data[keep].clone())
    new.bias = nn.Parameter(bn.bias.data[keep].clone())
    new.running_mean, new.running_var = bn.running_mean[keep].clone(), bn.running_var[keep].clone()
    return new


def prune_unet(net: ClassicUNet, scores: dict[str, np.ndarray], n_prune: int) -> tuple[ClassicUNet, dict[str, int]]:
    """A structurally pruned copy of ``net`` without its ``n_prune`` least important channels, and channels kept per layer.

    Example:
        >>> net = ClassicUNet(1, 2, [2, 4]).eval()
        >>> scores = {n: np.arange(b[j].out_channels, dtype=float) for n, b, j in prunable_layers(net)}
        >>> pruned, kept = prune_unet(net, scores, 3)
        >>> sum(kept.values()), tuple(pruned(torch.zeros(1, 1, 4, 4)).shape)
        (13, (1, 2, 4, 4))
    """
    new = copy.deepcopy(net)
    keep = {name: torch.tensor(c, dtype=torch.long) for name, c in channels_to_keep(scores, n_prune).items()}
    if n_prune == 0:
        return new, {k: len(v) for k, v in keep.items()}
    levels = len(new.down)
    for kind, blocks in (("down", new.down), ("dec", new.dec)):
        for i, block in enumerate(blocks):
            k1, k2 = keep[f"{kind}{i}.conv1"], keep[f"{kind}{i}.conv2"]
            block[0] = _select(block[0], k1, None)
            block[1] = _select_bn(block[1], k1)
            block[3] = _select(block[3], k2, k1)
            block[4] = _select_bn(block[4], k2)
    for i in range(levels):  # consumers of each encoder block's output
        k2 = keep[f"down{i}.conv2"]
        if i + 1 < levels:
            nxt = new.down[i + 1]
            nxt[0] = _select(nxt[0], None, k2)
            dec = new.dec[i]  # input = cat[skip (this block's output), upsampled]
            up_channels = dec[0].in_channels - net.down[i][3].out_channels
            idx = torch.cat([k2, net.down[i][3].out_channels + torch.arange(up_channels)])
            dec[0] = _select(dec[0], None, idx)
        else:
            new.up[i - 1] = _select(new.up[i - 1], None, k2)
    for j in range(len(new.dec)):  # consumers of each decoder block's output
        k2 = keep[f"dec{j}.conv2"]
        if j > 0:
            new.up[j - 1] = _select(new.up[j - 1], None, k2)
        else:
            new.head = _select(new.head, None, k2)
    return new, {k: len(v) for k, v in keep.items()}


def calibration_positions(n: int, size: int | None, seed: int) -> np.ndarray:
    """Sorted positions of a seeded ``size`` subset of ``n`` samples (all when ``size`` is None or >= n)."""
    if size is None or size >= n:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size, replace=False))


class PruningSweepProtocol(EvaluationProtocol[PruningSweepSpec]):
    """The ``pruning_sweep`` protocol; the run's model is a ClassicUNet learner (``unet_ronneberger[_lite]``)."""

    def jobs(self) -> list[Job]:
        out = []
        for s in self.spec.seeds:
            train = Job(f"seed{s}-train", self.config.task.id, self.config.model, s)
            out.append(train)
            out += [Job(f"seed{s}-f{k}", self.config.task.id, self.config.model, s, depends_on=(train.key,)) for k in range(len(self.spec.fractions))]
        return out

    def _learner(self):
        cfg = self.config
        learner = create_model(get_model_entry(cfg.model), cfg.model_params, cfg.run.device)
        if not hasattr(learner, "widths"):
            raise MbenchError(f"pruning_sweep needs a ClassicUNet learner, got {cfg.model!r}",
                              fix="use model=unet_ronneberger or unet_ronneberger_lite")
        return learner

    def _calibration(self, ctx: RunContext, seed: int):
        calib = ctx.split(self.spec.calibration_split)
        pos = calibration_positions(len(calib), self.spec.calibration_size, component_seed(seed, "calibration"))
        ids = [calib.ids[i] for i in pos]
        overlap = set(ids) & set(ctx.test.ids)
        if overlap:
            raise MbenchError("calibration and evaluation sets overlap", found=sorted(overlap)[:5],
                              fix="use a calibration split disjoint from test")
        return calib, pos, ids

    def run_job(self, job: Job, ctx: RunContext, deps: dict[str, dict], progress: Progress) -> dict:
        return self._train(job, ctx, progress) if job.key.endswith("-train") else self._prune(job, ctx, deps)

    def _train(self, job: Job, ctx: RunContext, progress: Progress) -> dict:
        cfg = self.config
        t0 = time.perf_counter()
        learner = self._learner()
        train_log = learner.fit(ctx.model_inputs(ctx.train), ctx.task.targets(ctx.train),
                                ctx.model_inputs(ctx.val), ctx.task.targets(ctx.val),
                                score=lambda p, t: aggregate_primary(cfg.task, p, t),
                                seed=component_seed(job.seed, "learner"),
                                progress=lambda s, d, t: progress(f"train {cfg.model}", d, t))
        train_s = time.perf_counter() - t0
        calib, pos, ids = self._calibration(ctx, job.seed)
        t0 = time.perf_counter()
        images = to_tensor(ctx.model_inputs(calib)[pos], learner.device)
        masks = torch.as_tensor(ctx.task.targets(calib)[pos]).to(learner.device)
        scores = taylor_importance(learner.net, lambda net, x: _net_forward(learner, net, x), images, masks,
                                   max(learner.batch_size, 1))
        return {"rows": [], "train_log": train_log, "n_labelled": len(ctx.train),
                "timings": {"train_s": train_s, "importance_s": time.perf_counter() - t0},
                "calibration": {"split": self.spec.calibration_split, "ids": ids, "n": len(ids)},
                "evaluation_ids": list(ctx.test.ids),
                "importance": {k: v.tolist() for k, v in scores.items()},
                "state": state_to_text(learner.net.state_dict())}

    def _prune(self, job: Job, ctx: RunContext, deps: dict[str, dict]) -> dict:
        cfg, spec = self.config, self.spec
        base = deps[f"seed{job.seed}-train"]
        k = int(job.key.rsplit("-f", 1)[1])
        fraction = spec.fractions[k]
        assert not set(base["calibration"]["ids"]) & set(ctx.test.ids), "calibration and evaluation overlap"
        learner = self._learner()
        learner.net = learner.build()
        learner.net.load_state_dict(state_from_text(base["state"]))
        learner.net.eval()
        scores = {name: np.asarray(v) for name, v in base["importance"].items()}
        total = int(sum(len(v) for v in scores.values()))
        n_prune = n_to_prune(fraction, total)
        t0 = time.perf_counter()
        original = learner.net
        pruned, kept = prune_unet(original, scores, n_prune)
        pruned.eval()
        learner.net = pruned
        inputs = ctx.model_inputs(ctx.test)
        pred = learner.predict(inputs)
        note = f"fraction={fraction:g}; pruned={total - sum(kept.values())}/{total}"
        rows = score_rows(cfg.task, ctx.test.ids, ctx.test.groups, pred, ctx.task.targets(ctx.test),
                          {**job.context(), "n_labelled": k}, ctx.test.labelmaps, ctx.test.spacing)
        for row in rows:
            row["note"] = f"{row['note']}; {note}" if row["note"] else note
        efficiency = {"pruned": self._efficiency(learner, pruned, inputs),
                      "unpruned": self._efficiency(learner, original, inputs)}
        ratios = {m: efficiency["pruned"][m] / efficiency["unpruned"][m] if efficiency["unpruned"][m] else None
                  for m in ("parameters", "flops", "latency_s")}
        return {"rows": rows, "fraction": fraction, "fraction_index": k, "n_prunable": total,
                "n_pruned": total - sum(kept.values()), "channels_kept": kept, **efficiency["pruned"],
                "unpruned": efficiency["unpruned"], "ratios": ratios,
                "calibration_split": base["calibration"]["split"], "n_calibration": base["calibration"]["n"],
                "n_test": len(ctx.test), "timings": {"test_s": time.perf_counter() - t0}}

    def _efficiency(self, learner, net: nn.Module, inputs: np.ndarray) -> dict:
        x = to_tensor(inputs[:self.spec.latency_batch], learner.device)
        with torch.inference_mode():
            net_in = _net_input(learner, x)
            run = (lambda: net(net_in))
            lat = F.latency(run, warmup=1, repeats=self.spec.latency_repeats)
        return {"parameters": F.count_parameters(net), "flops": F.flops(net, net_in[:1]), "latency_s": lat,
                "latency_batch": int(len(x)), "input_size": list(net_in.shape[1:]), "device": str(learner.device)}


def _net_input(learner, x: torch.Tensor) -> torch.Tensor:
    """What the learner feeds its network: resized to ``image_size`` and replicated to ``in_channels``."""
    from mbench.models.baselines.torch_utils import replicate_channels

    return replicate_channels(resize(x, learner.image_size), learner.in_channels)


def _net_forward(learner, net: nn.Module, x: torch.Tensor) -> torch.Tensor:
    return net(_net_input(learner, x))
