"""Cross-dataset transfer (paper 7): a train-on x test-on matrix with zero-shot cells and chained fine-tuning.

Jobs: ``seed<s>-<stage>`` per seed and stage of the card's ``protocol.stages``, after the job of its ``init``
stage. A stage trains the run's learner on its ``train`` domain(s) (train split; checkpoint selected on their
val split) from scratch, or from the ``init`` stage's weights with a freezing policy, then scores every test
domain's test split. Rows carry ``round`` = stage index and the note ``stage=<s>; chain=<a>><b>; test=<d>;
cell=<kind>``; the job result's ``matrix`` maps test domain -> primary score.

* A scratch stage on one domain runs exactly the ``holdout`` protocol's code on that domain (same learner seed),
  so the diagonal equals a plain holdout run of a card with that domain's data.
* Each domain is the card with its ``data`` / ``slicing`` replaced (the home domain is the card itself), so
  preprocessing, metrics and conventions are shared; every domain's images are normalised with its own
  settings (``normalise: none`` recommended: zero-shot cells then use no target statistics at all).
* Freezing: ``encoder`` (smp ``net.encoder``), ``all_but_last_decoder_block`` (only the last decoder block and the
  head train), ``none``. Frozen parameters get no gradient and frozen batch-norm layers stay in eval mode, so
  their weights and running statistics are bitwise unchanged.
* Stage weights travel between jobs as base64 of ``torch.save`` (fine for CPU-sized models).
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import io
import time

import numpy as np
import torch

from mbench.config.resolve import RunConfig
from mbench.config.schema import DomainSpec, HoldoutSpec, TransferSpec
from mbench.models.baselines.torch_utils import seed_torch
from mbench.models.baselines.training import fit_supervised
from mbench.models.capabilities import Progress
from mbench.models.registry import create_model, get_model_entry
from mbench.protocols.base import EvaluationProtocol, Job, RunContext, component_seed
from mbench.protocols.scoring import aggregate_primary, score_rows

__all__ = [
    "TransferProtocol",
    "cell_kind",
    "chain_of",
    "domain_config",
    "freeze_network",
    "state_from_text",
    "state_to_text",
    "train_learner",
]


def state_to_text(state: dict) -> str:
    buf = io.BytesIO()
    torch.save({k: v.detach().cpu() for k, v in state.items()}, buf)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def state_from_text(text: str) -> dict:
    return torch.load(io.BytesIO(base64.b64decode(text)), weights_only=True)


def array_sha256(array: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(array).tobytes() + str(array.shape).encode()).hexdigest()


def domain_config(config: RunConfig, domain: DomainSpec | None) -> RunConfig:
    """The run config of one domain as a plain holdout card: the card with ``data`` / ``slicing`` replaced."""
    update = {"protocol": HoldoutSpec(name="holdout", seeds=list(config.task.protocol.seeds))}
    if domain is not None:
        update.update(data=domain.data, slicing=domain.slicing)
    return dataclasses.replace(config, task=config.task.model_copy(update=update))


def freeze_network(net: torch.nn.Module, policy: str) -> list[torch.nn.Module]:
    """Switch off gradients per ``policy``; return the batch-norm layers to keep in eval mode while training."""
    if policy == "none":
        return []
    if policy == "encoder":
        for p in net.encoder.parameters():
            p.requires_grad_(False)
    elif policy == "all_but_last_decoder_block":
        for p in net.parameters():
            p.requires_grad_(False)
        for module in (net.decoder.blocks[-1], net.segmentation_head):
            for p in module.parameters():
                p.requires_grad_(True)
    else:
        raise ValueError(f"unknown freezing policy {policy!r}")
    return [m for m in net.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)
            and not any(p.requires_grad for p in m.parameters(recurse=False))]


def train_learner(learner, images: np.ndarray, targets: np.ndarray, val_images: np.ndarray, val_targets: np.ndarray,
                  *, score, seed: int, progress: Progress, init_state: dict | None = None, freeze: str = "none",
                  epochs: int | None = None) -> dict:
    """``learner.fit`` from scratch (``init_state`` None), else fine-tune from ``init_state`` with ``freeze``."""
    if init_state is None and epochs is None:
        return learner.fit(images, targets, val_images, val_targets, score=score, seed=seed, progress=progress)
    seed_torch(seed)
    learner.net = learner.build(targets)
    if init_state is not None:
        learner.net.load_state_dict(init_state)
    frozen = freeze_network(learner.net, freeze)

    def forward(x: torch.Tensor) -> torch.Tensor:
        for m in frozen:
            m.eval()
        return learner._forward(x)

    log = fit_supervised(learner.net, forward=forward, loss_fn=learner._loss, predict=learner.predict, images=images,
                         targets=targets, val_images=val_images, val_targets=val_targets, score=score,
                         optimizer=learner.optimizer, lr=learner.lr, epochs=epochs or learner.epochs,
                         batch_size=learner.batch_size, seed=seed, device=learner.device, progress=progress)
    log["n_parameters"] = int(sum(p.numel() for p in learner.net.parameters()))
    log["n_trainable"] = int(sum(p.numel() for p in learner.net.parameters() if p.requires_grad))
    log["freeze"] = freeze
    return log


def chain_of(spec: TransferSpec, stage: str) -> list[list[str]]:
    """The training domains of a stage and its ancestors, first stage first."""
    chain = []
    key: str | None = stage
    while key is not None:
        chain.insert(0, list(spec.stages[key].train))
        key = spec.stages[key].init
    return chain


def cell_kind(spec: TransferSpec, stage: str, test: str) -> str:
    """``scratch`` | ``finetune`` | ``earlier`` | ``zero_shot`` for a (stage, test domain) cell."""
    chain = chain_of(spec, stage)
    if test in chain[-1]:
        return "scratch" if len(chain) == 1 else "finetune"
    return "earlier" if any(test in c for c in chain) else "zero_shot"


class TransferProtocol(EvaluationProtocol[TransferSpec]):
    """The ``transfer`` protocol; the run's model is the learner."""

    def domain_names(self) -> list[str]:
        return [self.spec.home, *self.spec.domains]

    def jobs(self) -> list[Job]:
        out = []
        for s in self.spec.seeds:
            for k, (key, st) in enumerate(self.spec.stages.items()):
                deps = (f"seed{s}-{st.init}",) if st.init else ()
                out.append(Job(f"seed{s}-{key}", self.config.task.id, self.config.model, s, round=k, depends_on=deps))
        return out

    def context(self, name: str, ctx: RunContext) -> RunContext:
        """The run context of a domain (the run's own for the home domain), loaded once."""
        if name == self.spec.home:
            return ctx
        cache = self.__dict__.setdefault("_contexts", {})
        if name not in cache:
            cache[name] = RunContext(domain_config(self.config, self.spec.domains[name]))
        return cache[name]

    def run_job(self, job: Job, ctx: RunContext, deps: dict[str, dict], progress: Progress) -> dict:
        cfg, spec = self.config, self.spec
        key = job.key.split("-", 1)[1]
        st = spec.stages[key]
        t0 = time.perf_counter()
        label = f"train {cfg.model} [{key}]"
        if st.init is None and len(st.train) == 1:  # exactly the holdout protocol on that domain
            dctx = self.context(st.train[0], ctx)
            learner = create_model(get_model_entry(cfg.model), cfg.model_params, cfg.run.device)
            train_log = learner.fit(dctx.model_inputs(dctx.train), dctx.task.targets(dctx.train),
                                    dctx.model_inputs(dctx.val), dctx.task.targets(dctx.val),
                                    score=lambda p, t: aggregate_primary(dctx.config.task, p, t),
                                    seed=component_seed(job.seed, "learner"),
                                    progress=lambda s, d, t: progress(label, d, t))
        else:
            ctxs = [self.context(d, ctx) for d in st.train]
            x = np.concatenate([c.model_inputs(c.train) for c in ctxs])
            y = np.concatenate([c.task.targets(c.train) for c in ctxs])
            vx = np.concatenate([c.model_inputs(c.val) for c in ctxs])
            vy = np.concatenate([c.task.targets(c.val) for c in ctxs])
            learner = create_model(get_model_entry(cfg.model), cfg.model_params, cfg.run.device)
            init = state_from_text(deps[f"seed{job.seed}-{st.init}"]["state"]) if st.init else None
            seed = component_seed(job.seed, "learner") if init is None else component_seed(job.seed, "finetune",
                                                                                             job.round or 0)
            train_log = train_learner(learner, x, y, vx, vy, score=lambda p, t: aggregate_primary(cfg.task, p, t),
                                      seed=seed, progress=lambda s, d, t: progress(label, d, t), init_state=init,
                                      freeze=st.freeze, epochs=learner.epochs if init is not None else None)
        train_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        n_train = sum(len(self.context(d, ctx).train) for d in st.train)
        chain = ">".join("+".join(c) for c in chain_of(spec, key))
        rows, matrix, cells = [], {}, {}
        for d_index, name in enumerate(self.domain_names()):
            if st.test is not None and name not in st.test:
                continue
            dctx = self.context(name, ctx)
            pred = learner.predict(dctx.model_inputs(dctx.test))
            targets = dctx.task.targets(dctx.test)
            cells[name] = kind = cell_kind(spec, key, name)
            note = f"stage={key}; chain={chain}; test={name}; cell={kind}"
            for row in score_rows(cfg.task, dctx.test.ids, dctx.test.groups, pred, targets,
                                  {**job.context(), "n_labelled": n_train}, dctx.test.labelmaps, dctx.test.spacing):
                row["fold"] = d_index
                row["note"] = f"{row['note']}; {note}" if row.get("note") else note
                rows.append(row)
            matrix[name] = float(aggregate_primary(cfg.task, pred, targets))
        return {"rows": rows, "train_log": train_log, "n_labelled": n_train, "stage": key, "chain": chain,
                "train_domains": {d: sorted(set(self.context(d, ctx).train.groups)) for d in st.train},
                "freeze": st.freeze, "init": st.init, "matrix": matrix, "cells": cells,
                "state": state_to_text(learner.net.state_dict()),
                "timings": {"train_s": train_s, "test_s": time.perf_counter() - t0}}
