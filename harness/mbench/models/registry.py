"""The model registry: built-in baselines and installed plugins, imported lazily.

Plugins register through the ``mbench.models`` entry-point group; each entry point loads a
:class:`ModelEntry`.

Example:
    >>> get_model_entry("mvaal").kind
    'sampler'
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any, Literal

from mbench.errors import MbenchError, did_you_mean

__all__ = ["ModelEntry", "BUILTIN_MODELS", "all_models", "get_model_entry", "create_model", "resolve_params",
           "registered_model"]

Kind = Literal["sampler", "learner"]


@dataclass(frozen=True)
class ModelEntry:
    """A registered model: what it is, where its code lives, its default parameters.

    Attributes:
        factory: ``"module:callable"`` (or, for models registered at run time, the callable itself); called
            with the resolved parameters.
        problems: problem types a learner can solve (samplers are task-agnostic: empty).
    """

    id: str
    kind: Kind
    factory: str | Callable[..., Any]
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
                    pretrained_path=None, classes=2, loss="ce_dice"),
               problems=("segmentation",)),
    ModelEntry("segformer_b0", "learner", "mbench.models.baselines.segformer:SegFormerSegmenter",
               "SegFormer-B0 (HF transformers, MiT-b0 encoder, 3.7 M params); logits upsampled before argmax",
               dict(variant="b0", classes=2, in_channels=3, loss="ce", optimizer="adam", lr=1e-4, epochs=50,
                    batch_size=10, image_size=None, pretrained=False, pretrained_path=None),
               problems=("segmentation",)),
    ModelEntry("segformer_b4", "learner", "mbench.models.baselines.segformer:SegFormerSegmenter",
               "SegFormer-B4 (HF transformers, MiT-b4 encoder, 64 M params); logits upsampled before argmax",
               dict(variant="b4", classes=2, in_channels=3, loss="ce", optimizer="adam", lr=1e-4, epochs=50,
                    batch_size=10, image_size=None, pretrained=False, pretrained_path=None),
               problems=("segmentation",)),
    ModelEntry("unet_ronneberger", "learner", "mbench.models.baselines.unet_classic:ClassicUNetSegmenter",
               "original U-Net (Ronneberger 2015), widths 64..1024 (31 M params), batch norm",
               dict(widths=[64, 128, 256, 512, 1024], in_channels=1, classes=2, loss="ce", optimizer="adam", lr=1e-3,
                    epochs=50, batch_size=5, image_size=None),
               problems=("segmentation",)),
    ModelEntry("unet_ronneberger_lite", "learner", "mbench.models.baselines.unet_classic:ClassicUNetSegmenter",
               "U-Net Lite (Sourget et al. 2023): the original U-Net with widths 22..352 (3.7 M params)",
               dict(widths=[22, 44, 88, 176, 352], in_channels=1, classes=2, loss="ce", optimizer="adam", lr=1e-3,
                    epochs=50, batch_size=5, image_size=None),
               problems=("segmentation",)),
    ModelEntry("attention_unet", "learner", "mbench.models.baselines.attention_unet:AttentionUNetSegmenter",
               "2D Attention U-Net (Oktay et al. 2018): additive attention gates on the skips, batch norm",
               dict(widths=[32, 64, 128, 256, 512], in_channels=1, classes=2, loss="dice", optimizer="adam", lr=1e-4,
                    epochs=60, batch_size=16, image_size=None),
               problems=("segmentation",)),
    ModelEntry("unet_dae", "learner", "mbench.models.baselines.dae:DAEUNetSegmenter",
               "denoising autoencoder stage + EfficientNet-B3 U-Net (smp) on its reconstructions (Hammouda 2023)",
               dict(encoder="efficientnet-b3", encoder_depth=5, decoder_channels=[256, 128, 64, 32, 16], in_channels=3,
                    classes=6, loss="ce", optimizer="adam", lr=1e-3, epochs=65, batch_size=4, image_size=None,
                    pretrained=True, pretrained_path=None, dae_noise_std=0.5, dae_optimizer="adam", dae_lr=3e-4,
                    dae_epochs=65, dae_batch_size=4),
               problems=("segmentation",)),
    ModelEntry("deeplabv3plus", "learner", "mbench.models.baselines.deeplab:DeepLabV3PlusSegmenter",
               "DeepLabV3+ (segmentation-models-pytorch; ResNet-50 / MobileNetV2 / ... encoders), CE or CE + Dice",
               dict(encoder="resnet50", decoder_channels=256, in_channels=3, optimizer="adam", lr=1e-3, epochs=20,
                    batch_size=8, image_size=None, pretrained=False, pretrained_path=None, classes=2, loss="ce"),
               problems=("segmentation",)),
    ModelEntry("ensemble", "learner", "mbench.models.baselines.ensemble:EnsembleSegmenter",
               "probability-averaging ensemble of registered learners (members: [{model, params}]), argmax of the mean",
               dict(members=[{"model": "unet", "params": {}}]),
               problems=("segmentation",)),
    ModelEntry("resnet18", "learner", "mbench.models.baselines.resnet:ResNetClassifier",
               "ResNet-18 (timm) multi-label classifier, sigmoid outputs, BCE loss",
               dict(arch="resnet18", in_channels=3, optimizer="adam", lr=1e-5, epochs=50, batch_size=32,
                    image_size=None, pretrained=True, pretrained_path=None),
               problems=("multilabel_classification",)),
]}


# models registered by the running process for a while (e.g. a sandboxed submission during its run)
_RUNTIME_MODELS: dict[str, ModelEntry] = {}


@contextmanager
def registered_model(entry: ModelEntry) -> Iterator[ModelEntry]:
    """Make ``entry`` resolvable by id (``get_model_entry``, ``create_model``) inside the ``with`` block.

    Example:
        >>> entry = ModelEntry("tmp_random", "sampler", "mbench.models.baselines.random_sampler:RandomSampler",
        ...                    "a temporary model", requires_torch=False)
        >>> with registered_model(entry):
        ...     get_model_entry("tmp_random").id
        'tmp_random'
        >>> "tmp_random" in all_models()
        False
    """
    if entry.id in all_models():
        raise MbenchError(f"model id {entry.id!r} is already registered", fix="use another id")
    _RUNTIME_MODELS[entry.id] = entry
    try:
        yield entry
    finally:
        _RUNTIME_MODELS.pop(entry.id, None)


def all_models() -> dict[str, ModelEntry]:
    """Built-in models, those of installed plugins (``mbench.models`` entry points) and run-time registrations."""
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
    models.update(_RUNTIME_MODELS)
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
    if callable(entry.factory):
        return entry.factory(**params, device=device) if entry.requires_torch else entry.factory(**params)
    module, name = entry.factory.split(":")
    try:
        factory = getattr(importlib.import_module(module), name)
    except ImportError as exc:
        raise MbenchError(f"model {entry.id!r} cannot be imported: {exc}",
                          fix="install the deep-learning extras: see the README's install command") from exc
    return factory(**params, device=device) if entry.requires_torch else factory(**params)
