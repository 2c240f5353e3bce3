"""Protocols: experimental designs that expand a run into jobs."""

from __future__ import annotations

from mbench.config.resolve import RunConfig
from mbench.protocols.base import EvaluationProtocol, Job, RunContext

__all__ = ["PROTOCOLS", "create_protocol", "EvaluationProtocol", "Job", "RunContext"]

# name -> (module:class, one-line description); imported lazily
PROTOCOLS: dict[str, tuple[str, str]] = {
    "holdout": ("mbench.protocols.holdout:HoldoutProtocol",
                "train on train, select the checkpoint on val, score on test"),
    "active_learning": ("mbench.protocols.active_learning:ActiveLearningProtocol",
                        "initial labelled set + budget per round; learner retrained each round; sampler plug-in"),
    "kfold": ("mbench.protocols.kfold:KFoldProtocol",
              "fold rotation: train on the other folds (validation carved out of them), test on each fold in turn"),
    "pruning_sweep": ("mbench.protocols.pruning:PruningSweepProtocol",
                      "train once per seed, then prune channels (Taylor FO, no fine-tuning) and score each fraction"),
    "federated": ("mbench.protocols.federated:FederatedProtocol",
                  "FedAvg / FedProx over client splits: local epochs from the global weights, weighted averaging"),
    "transfer": ("mbench.protocols.transfer:TransferProtocol",
                 "train-on x test-on matrix over datasets: scratch, zero-shot and chained fine-tuning with freezing"),
    "weak_label_refinement": ("mbench.protocols.weak_label:WeakLabelRefinementProtocol",
                              "warped weak masks; each round fine-tunes on the previous round's outputs"),
}


def create_protocol(config: RunConfig) -> EvaluationProtocol:
    """The protocol object for a resolved run."""
    import importlib

    module, cls = PROTOCOLS[config.task.protocol.name][0].split(":")
    return getattr(importlib.import_module(module), cls)(config)
