"""The model registry: built-in baselines and installed plugins, imported lazily.

Plugins register through the ``mbench.models`` entry-point group; each entry point loads a
:class:`ModelEntry`.

Example:
    >>> get_model_entry("mvaal").kind
    'sampler'
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any, Literal

from mbench.errors import MbenchError, did_you_mean

__all__ = ["ModelEntry", "BUILTIN_MODELS", "all_models", "get_model_entry", "create_model", "resolve_params"]

Kind = Literal["sampler", "learner"]


@dataclass(frozen=True)
class ModelEntry:
    """A registered model: what it is, where its code lives, its default parameters.

    Attributes:
        factory: ``"module:callable"``; called with the resolved parameters.
        problems: problem types a learner can solve (samplers are task-agnostic: empty).
    """

    id: str
    kind: Kind
    factory: str
    description: str
    defaults: dict[str, Any] = field(default_factory=dict)
    problems: tuple[str, ...] = ()
    requires_torch: bool = True


_SAMPLER_VAE = dict(latent_dim=64, base_channels=128, epochs=100, batch_size=16, lr=1e-4, beta=1.0)

BUILTIN_MODELS: dict[str, ModelEntry] = {e.id: e for e in [
    ModelEntry("random", "sampler", "mbench.models.baselines.random_sampler:RandomSampler",
               "uniform random selection from the unlabelled pool", {}, requires_torch=False),
    ModelEntry("vaal", "sampler", "mbench.models.baselines.vaal:VAALSampler",
               "VAAL (Sinha et al. 2019): beta-VAE + latent discriminator (BCE); picks least 'labelled-like'",
               {**_SAMPLER_VAE, "adversary_weight": 1.0}),
    ModelEntry("mvaal", "sampler", "mbench.models.baselines.vaal:MVAALSampler",
               "M-VAAL (Khanal et al. 2023): VAAL with an auxiliary-modality decoder, WGAN-GP discriminator",
               {**_SAMPLER_VAE, "gamma1": 1.0, "gamma2": 1.0, "gamma3": 1.0, "gp_lambda": 1.0}),
    ModelEntry("unet", "learner", "mbench.models.baselines.unet:UNetSegmenter",
               "U-Net (segmentation-models-pytorch), 4 down / 4 up, CE + Dice loss, binary or multi-class",
               dict(encoder="resnet34", encoder_depth=4, decoder_channels=[256, 128, 64, 32], in_channels=1,
                    optimizer="rmsprop", lr=1e-5, epochs=30, batch_size=32, image_size=None, pretrained=False,
                    pretrained_path=None, classes=2),
               problems=("segmentation",)),
    ModelEntry("resnet18", "learner", "mbench.models.baselines.resnet:ResNetClassifier",
               "ResNet-18 (timm) multi-label classifier, sigmoid outputs, BCE loss",
               dict(arch="resnet18", in_channels=3, optimizer="adam", lr=1e-5, epochs=50, batch_size=32,
                    image_size=None, pretrained=True, pretrained_path=None),
               problems=("multilabel_classification",)),
]}


def all_models() -> dict[str, ModelEntry]:
    """Built-in models plus those of installed plugins (``mbench.models`` entry points)."""
    models = dict(BUILTIN_MODELS)
    for ep in entry_points(group="mbench.models"):
        entry = ep.load()
        if not isinstance(entry, ModelEntry):
            raise MbenchError(f"plugin entry point {ep.name!r} did not load a ModelEntry",
                              expected="mbench.models.registry.ModelEntry", found=type(entry).__name__)
        if entry.id in models:
            raise MbenchError(f"plugin model id {entry.id!r} clashes with a registered model",
                              fix="rename the plugin's model")
        models[entry.id] = entry
    return models


def get_model_entry(model_id: str) -> ModelEntry:
    """Look up a model, with a did-you-mean error."""
    models = all_models()
    if model_id not in models:
        raise did_you_mean("model", model_id, models)
    return models[model_id]


def resolve_params(entry: ModelEntry, *layers: dict[str, Any]) -> dict[str, Any]:
    """Defaults updated by each layer in turn; unknown parameter names are errors."""
    params = dict(entry.defaults)
    for layer in layers:
        for key, value in layer.items():
            if key not in params:
                if not params:
                    raise MbenchError(f"model {entry.id!r} takes no parameters", found=key)
                raise did_you_mean(f"parameter of model {entry.id!r}:", key, params,
                                   fix=f"`mbench ls models` shows the parameters of {entry.id!r}")
            params[key] = value
    return params


def create_model(entry: ModelEntry, params: dict[str, Any], device: str = "auto") -> Any:
    """Import the model's code and build it with ``params`` (torch models also get ``device``)."""
    module, name = entry.factory.split(":")
    try:
        factory = getattr(importlib.import_module(module), name)
    except ImportError as exc:
        raise MbenchError(f"model {entry.id!r} cannot be imported: {exc}",
                          fix="install the deep-learning extras: see the README's install command") from exc
    return factory(**params, device=device) if entry.requires_torch else factory(**params)
