"""Protocols: experimental designs that expand a run into jobs."""

from __future__ import annotations

from mbench.config.resolve import RunConfig
from mbench.protocols.base import EvaluationProtocol, Job, RunContext

__all__ = ["PROTOCOLS", "create_protocol", "EvaluationProtocol", "Job", "RunContext"]

# name -> (module:class, one-line description); imported lazily
PROTOCOLS: dict[str, tuple[str, str]] = {
    "pairwise_registration": ("mbench.protocols.pairwise_registration:PairwiseRegistrationProtocol",
                              "deformable registration of case pairs (inter-subject i < j, dataset pairs or within a "
                              "case): warped reference labels scored per region, Jacobian of the field, image MI"),
    "video_actions": ("mbench.protocols.video_actions:VideoActionProtocol",
                      "multi-head video action recognition (verb / noun / action), test labels withheld: scored "
                      "only by the organiser's label file, else predictions-only"),
    "leave_one_out": ("mbench.protocols.leave_one_out:LeaveOneOutProtocol",
                      "leave-one-out over groups (procedure instances): sequence classifier refitted per held-out "
                      "instance; accuracy + class-distance separability"),
    "few_shot": ("mbench.protocols.few_shot:FewShotProtocol",
                 "embedder trained on base classes; unseen classes identified by 1-NN cosine over support/query episodes"),
    "cross_domain_detection": ("mbench.protocols.cross_domain_detection:CrossDomainDetectionProtocol",
                               "detection, train on one domain, score every other: tiled images, detections mapped "
                               "back and merged by NMS, COCO AP + pooled point F1 per (source, target) pair"),
    "image_to_image": ("mbench.protocols.image_to_image:ImageToImageProtocol",
                       "paired image-to-image holdout: inputs -> target image in target units, scored per case "
                       "(frozen, hash-pinned degraded inputs where the task synthesises them)"),
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
    "super_image": ("mbench.protocols.super_image:SuperImageProtocol",
                    "k-fold: volumes tiled into 2D super images (or volumetric models), reassembled, scored in 3D"),
    "feature_eval": ("mbench.protocols.feature_eval:FeatureEvalProtocol",
                     "feature models: cached per-image features, classifier fitted on the other splits (holdout or "
                     "k-fold), SMOTE on training rows only"),
    "separation_eval": ("mbench.protocols.separation_eval:SeparationEvalProtocol",
                        "unsupervised source separation per image; per-image criteria scored as two-class separation"),
    "signal_windows": ("mbench.protocols.signal_windows:SignalWindowsProtocol",
                       "signal windows cut per recording (never across splits), classifier per window length"),
    "volumetric_holdout": ("mbench.protocols.volumetric:VolumetricHoldoutProtocol",
                           "3D: patch training per seed, checkpoint on val, sliding-window scoring of test in mm"),
    "fold_ensemble": ("mbench.protocols.volumetric:FoldEnsembleProtocol",
                      "3D: one model per training fold, softmax probabilities of the fold models averaged on test"),
}


def create_protocol(config: RunConfig) -> EvaluationProtocol:
    """The protocol object for a resolved run."""
    import importlib

    module, cls = PROTOCOLS[config.task.protocol.name][0].split(":")
    return getattr(importlib.import_module(module), cls)(config)
