"""Federated simulation (paper 23): FedAvg and FedProx over non-IID clients, one job per (seed, round).

* Splits: each client ``c`` of the spec has ``<c>_train`` (local training) and ``<c>_test`` (local evaluation);
  the server holds ``server_split``. Before the first round the protocol checks that no case is in two of these
  (:func:`check_partition`) and that every client only holds the classes the card declares for it (non-IID label
  skew, from the adapter's case attribute, e.g. BUSI's ``class``).
* Round r (job ``seed<s>-r<r>``, depending on ``seed<s>-r<r-1>``): the global weights (round 1: a fresh network
  seeded by the run seed) are copied to every client, which trains ``local_epochs`` epochs of the learner's loss
  plus the FedProx term (mu / 2) * ||w - w_global||^2 over all trainable parameters (:func:`local_train`; mu = 0 is
  FedAvg). The optimizer is rebuilt each round (no optimizer state is communicated). The server then averages the
  client state dicts (:func:`fed_average`; floating tensors, batch-norm statistics included), weighted by client
  training-set size (``weighting: samples``) or uniformly; integer buffers are taken from the first client.
  Client k's data order is seeded by ``component_seed(seed, "client", k, round)``.
* Rows per round (``round`` = r): group ``<c>`` = client c's local model (before aggregation) on ``<c>_test``;
  group ``global@<c>`` = the aggregated model on ``<c>_test``; group ``server`` = the aggregated model on the
  server split. No checkpoint selection: the model after each round is scored, as the paper reports every round.
* Each job records the communication cost (bytes = parameters x 4 x 2 x clients) and its wall time; the global
  state dict travels to the next round in the job result (base64 of ``torch.save``).
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable

import numpy as np
import torch

from mbench.config.schema import FederatedSpec
from mbench.errors import MbenchError
from mbench.models.baselines.torch_utils import make_optimizer, seed_torch, state_from_text, state_to_text, to_tensor
from mbench.models.baselines.training import train_one_epoch
from mbench.models.capabilities import Progress
from mbench.models.registry import create_model, get_model_entry
from mbench.protocols.base import EvaluationProtocol, Job, RunContext, component_seed
from mbench.protocols.scoring import score_rows

__all__ = ["FederatedProtocol", "check_partition", "check_classes", "fed_average", "local_train", "proximal_term"]


def check_partition(splits: dict[str, list[str]]) -> None:
    """Raise when a case id is in two of the given splits (clients' train / test and the server's test).

    Example:
        >>> check_partition({"a_train": ["x"], "b_train": ["y"], "test": ["z"]})
    """
    owner: dict[str, str] = {}
    for name, ids in splits.items():
        for case in ids:
            if case in owner and owner[case] != name:
                raise MbenchError(f"federated partition: case {case!r} is in both {owner[case]!r} and {name!r}",
                                  expected="clients and server never share a case",
                                  fix="regenerate the split manifest with disjoint client / server id lists")
            owner[case] = name


def check_classes(client_cases: dict[str, list[str]], attrs: dict[str, dict[str, str]], key: str,
                  declared: dict[str, list[str]]) -> dict[str, dict[str, int]]:
    """Each client's class counts; raise when a client holds a class the card does not declare for it."""
    counts: dict[str, dict[str, int]] = {}
    for client, ids in client_cases.items():
        c: dict[str, int] = {}
        for case in ids:
            label = attrs.get(case, {}).get(key, "?")
            c[label] = c.get(label, 0) + 1
        counts[client] = dict(sorted(c.items()))
        allowed = declared.get(client)
        if allowed is not None and set(c) - set(allowed):
            raise MbenchError(f"federated partition: client {client!r} holds undeclared classes",
                              expected=str(sorted(allowed)), found=str(counts[client]),
                              fix="fix the split manifest or the card's protocol.classes")
    return counts


def fed_average(states: list[dict[str, torch.Tensor]], weights: list[float]) -> dict[str, torch.Tensor]:
    """Weighted average of state dicts (weights normalised); integer tensors are taken from the first state.

    Example:
        >>> s = {"w": torch.tensor([1.0, 2.0])}
        >>> fed_average([s, s], [3, 1])["w"].tolist()
        [1.0, 2.0]
    """
    w = torch.as_tensor(weights, dtype=torch.float64)
    w = w / w.sum()
    out = {}
    for key, first in states[0].items():
        if not torch.is_floating_point(first):
            out[key] = first.clone()
            continue
        acc = torch.zeros_like(first, dtype=torch.float64)
        for wk, state in zip(w, states):
            acc += wk * state[key].double()
        out[key] = acc.to(first.dtype)
    return out


def proximal_term(net: torch.nn.Module, anchor: list[torch.Tensor], mu: float) -> torch.Tensor:
    """(mu / 2) * sum over trainable parameters of ||w - w_anchor||^2."""
    params = [p for p in net.parameters() if p.requires_grad]
    return 0.5 * mu * sum(((p - a) ** 2).sum() for p, a in zip(params, anchor))


def local_train(net: torch.nn.Module, forward: Callable[[torch.Tensor], torch.Tensor],
                loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], images: np.ndarray,
                targets: np.ndarray, *, epochs: int, batch_size: int, optimizer: str, lr: float, mu: float,
                seed: int, device: torch.device) -> list[float]:
    """Train ``net`` in place for ``epochs`` on one client's data, with the FedProx term anchored at its weights on
    entry (the global model); returns the mean loss (task loss, without the proximal term) per epoch."""
    generator = seed_torch(seed)
    anchor = [p.detach().clone() for p in net.parameters() if p.requires_grad]
    opt = make_optimizer(optimizer, net.parameters(), lr)
    x_all, y_all = to_tensor(images, torch.device("cpu")), torch.as_tensor(targets)
    penalty = (lambda: proximal_term(net, anchor, mu)) if mu > 0 else None
    history = [train_one_epoch(net, opt, forward, loss_fn, x_all, y_all, batch_size, generator, device, penalty)
               for _ in range(epochs)]
    net.eval()
    return history


class FederatedProtocol(EvaluationProtocol[FederatedSpec]):
    """The ``federated`` protocol; the run's model is a torch learner (``SupervisedLearner``)."""

    def splits_to_load(self) -> list[str]:
        return self.spec.split_names()

    def jobs(self) -> list[Job]:
        out = []
        for s in self.spec.seeds:
            for r in range(1, self.spec.rounds + 1):
                deps = (f"seed{s}-r{r - 1}",) if r > 1 else ()
                out.append(Job(f"seed{s}-r{r}", self.config.task.id, self.config.model, s, round=r, depends_on=deps))
        return out

    def job_stages(self, job: Job) -> int:
        return len(self.spec.clients)

    def _learner(self):
        cfg = self.config
        learner = create_model(get_model_entry(cfg.model), cfg.model_params, cfg.run.device)
        if not all(hasattr(learner, a) for a in ("build", "_forward", "_loss")):
            raise MbenchError(f"federated needs a torch SupervisedLearner, got {cfg.model!r}",
                              fix="use a segmentation learner such as model=attention_unet")
        return learner

    def _check(self, ctx: RunContext) -> dict:
        spec = self.spec
        check_partition({name: list(ctx.task.split.ids(name)) for name in spec.split_names()})
        clients = {c: ctx.task.split.ids(f"{c}_train") + ctx.task.split.ids(f"{c}_test") for c in spec.clients}
        counts = check_classes(clients, ctx.task.adapter.case_attributes(), spec.case_attribute, spec.classes)
        return counts

    def run_job(self, job: Job, ctx: RunContext, deps: dict[str, dict], progress: Progress) -> dict:
        spec = self.spec
        t_round = time.perf_counter()
        counts = self._check(ctx)
        learner = self._learner()
        if job.round == 1:
            seed_torch(component_seed(job.seed, "learner"))
            learner.net = learner.build(None)
            global_state = copy.deepcopy(learner.net.state_dict())
        else:
            global_state = state_from_text(deps[f"seed{job.seed}-r{job.round - 1}"]["state"])
        states, sizes, logs, rows = [], [], {}, []
        for k, client in enumerate(spec.clients):
            train = ctx.split(f"{client}_train")
            learner.net = learner.build(None)
            learner.net.load_state_dict(global_state)
            logs[client] = local_train(learner.net, learner._forward, learner._loss, ctx.model_inputs(train),
                                       ctx.task.targets(train), epochs=spec.local_epochs,
                                       batch_size=learner.batch_size, optimizer=learner.optimizer, lr=learner.lr,
                                       mu=spec.mu, seed=component_seed(job.seed, "client", k, job.round),
                                       device=learner.device)
            rows += self._score(ctx, learner, f"{client}_test", client, job, len(train))
            states.append(copy.deepcopy(learner.net.state_dict()))
            sizes.append(len(train))
            progress(f"round {job.round}: client {client}", k + 1, len(spec.clients))
        weights = sizes if spec.weighting == "samples" else [1.0] * len(sizes)
        new_state = fed_average(states, weights)
        learner.net = learner.build(None)
        learner.net.load_state_dict(new_state)
        learner.net.eval()
        n_total = int(sum(sizes))
        for client in spec.clients:
            rows += self._score(ctx, learner, f"{client}_test", f"global@{client}", job, n_total)
        rows += self._score(ctx, learner, spec.server_split, "server", job, n_total)
        n_params = int(sum(p.numel() for p in learner.net.parameters()))
        return {"rows": rows, "round": job.round, "clients": list(spec.clients), "client_sizes": sizes,
                "aggregation_weights": [float(w) / float(sum(weights)) for w in weights], "mu": spec.mu,
                "algorithm": "fedprox" if spec.mu > 0 else "fedavg", "local_epochs": spec.local_epochs,
                "client_class_counts": counts, "local_loss": logs, "n_parameters": n_params,
                "communication_bytes": n_params * 4 * 2 * len(spec.clients),
                "timings": {"round_s": time.perf_counter() - t_round},
                "state": state_to_text(new_state)}

    def _score(self, ctx: RunContext, learner, split: str, group: str, job: Job, n_labelled: int) -> list[dict]:
        data = ctx.split(split)
        pred = learner.predict(ctx.model_inputs(data))
        return score_rows(self.config.task, data.ids, [group] * len(data), pred, ctx.task.targets(data),
                          {**job.context(), "n_labelled": n_labelled}, data.labelmaps, data.spacing)
