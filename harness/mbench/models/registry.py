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

Kind = Literal["sampler", "learner", "embedder"]


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

# the super-resolution papers' shared generator / training settings (SRResNet, BliMSR)
_SUPER_RESOLVER = dict(channels=64, n_blocks=16, scale=4, batch_norm=False, reduction=4, disc_channels=64,
                       iterations=350_000, batch_size=4, lr=1e-5, betas=[0.9, 0.999], hr_patch=256, val_every=5000)
_FASTER_RCNN = dict(backbone="resnet50_fpn", classes=1, pretrained="coco", pretrained_path=None,
                    trainable_backbone_layers=3, image_size=512, optimizer="sgd", lr=1e-3, momentum=0.9,
                    weight_decay=1e-4, warmup_iters=500, epochs=32, batch_size=2, hflip=True, context_reg="none",
                    context_q=0.5, context_reduction=16, context_blocks=2, context_heads=8, context_weight=1.0,
                    context_level="3", score_threshold=0.05, rpn_pre_nms_top_n=2000, rpn_post_nms_top_n=1000,
                    roi_batch_size=512, rpn_pre_nms_top_n_test=1000, rpn_post_nms_top_n_test=1000, fpn_channels=256,
                    representation_size=1024)

BUILTIN_MODELS: dict[str, ModelEntry] = {e.id: e for e in [
    ModelEntry("faster_rcnn", "learner", "mbench.models.baselines.faster_rcnn:FasterRCNNDetector",
               "Faster R-CNN + FPN (torchvision; ResNet-50, or ResNet-18 for quick runs), a Detector; "
               "context_reg=scr|acr adds paper 11's training-only contextual regulariser",
               dict(_FASTER_RCNN), problems=("detection",)),
    ModelEntry("faster_rcnn_acr", "learner", "mbench.models.baselines.faster_rcnn:FasterRCNNDetector",
               "Faster R-CNN + FPN with paper 11's adaptive contextual regularisation (ACR) + reconstruction head "
               "(2 transformer blocks, 8 heads, lambda 1), used in training only",
               {**_FASTER_RCNN, "context_reg": "acr"}, problems=("detection",)),
    ModelEntry("bicubic", "learner", "mbench.models.baselines.sr_interp:InterpolationUpscaler",
               "bicubic interpolation x scale (Pillow, Keys a = -0.5), no training: the SR papers' lower bound",
               dict(mode="bicubic", scale=4), problems=("super_resolution",), requires_torch=False),
    ModelEntry("nearest", "learner", "mbench.models.baselines.sr_interp:InterpolationUpscaler",
               "nearest-neighbour upscaling x scale, no training (a floor below bicubic)",
               dict(mode="nearest", scale=4), problems=("super_resolution",), requires_torch=False),
    ModelEntry("srresnet", "learner", "mbench.models.baselines.super_resolver:SuperResolver",
               "SRResNet / ESRNet-style generator (residual blocks, no BN, pixel shuffle) trained with L1",
               {**_SUPER_RESOLVER, "arch": "srresnet", "content_weight": 1.0, "perceptual_weight": 0.0,
                "adversarial_weight": 0.0, "gradient_weight": 0.0, "dssim_weight": 0.0},
               problems=("super_resolution",)),
    ModelEntry("blimsr", "learner", "mbench.models.baselines.super_resolver:SuperResolver",
               "BliMSR (Dey et al.): RMHAB attention generator, SN ResNet discriminator, perceptual + 0.01 adv + "
               "0.1 L1 + gradient + DSSIM loss",
               {**_SUPER_RESOLVER, "arch": "blimsr", "content_weight": 0.1, "perceptual_weight": 1.0,
                "adversarial_weight": 0.01, "gradient_weight": 1.0, "dssim_weight": 1.0},
               problems=("super_resolution",)),
    ModelEntry("voxel_poly", "learner", "mbench.models.baselines.voxel_regression:VoxelPolynomialRegressor",
               "voxel-wise quadratic least-squares regression from the input channels (no context): a lower bound",
               dict(degree=2, alpha=1e-3, input_scale=1000.0), problems=("image_regression",), requires_torch=False),
    ModelEntry("unet3d_regressor", "learner", "mbench.models.baselines.unet3d_regressor:UNet3DRegressor",
               "3D U-Net regression on 64^3 patches (MONAI UNet, batch norm), L1 + L2, sliding-window inference",
               dict(in_channels=1, channels=[32, 64, 128, 256], strides=[2, 2, 2], patch_size=[64, 64, 64],
                    overlap=0.5, background_threshold=0.01, background_keep=0.1, epochs=200, batch_size=4, lr=2e-4,
                    l1_weight=1.0, l2_weight=1.0, input_scale=1000.0, target_scale=1000.0, val_every=1,
                    blend="constant"),
               problems=("image_regression",)),
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
    ModelEntry("unet3d", "learner", "mbench.models.baselines.volume_segmenter:VolumeSegmenterNet",
               "3D U-Net (MONAI UNet, instance norm, residual units) on patches, nnU-Net-style loop, sliding window",
               dict(arch="unet", channels=[32, 64, 128, 256, 320], strides=[2, 2, 2, 2], num_res_units=2,
                    patch_size=[128, 128, 128], batch_size=2, epochs=1000, iterations_per_epoch=250, optimizer="sgd",
                    lr=0.01, weight_decay=3e-5, foreground_fraction=1 / 3, val_every=50, overlap=0.5,
                    sw_batch_size=4, tta_mirror=False),
               problems=("volume_segmentation",)),
    ModelEntry("segresnet3d", "learner", "mbench.models.baselines.volume_segmenter:VolumeSegmenterNet",
               "SegResNet 3D (MONAI SegResNetDS as in Auto3DSeg, no VAE branch) on patches, sliding window",
               dict(arch="segresnet", init_filters=32, blocks_down=[1, 2, 2, 4, 4], patch_size=[224, 224, 144],
                    batch_size=2, epochs=300, iterations_per_epoch=250, optimizer="adamw", lr=2e-4, weight_decay=1e-5,
                    foreground_fraction=1 / 3, val_every=10, overlap=0.625, sw_batch_size=1, tta_mirror=False),
               problems=("volume_segmentation",)),
    ModelEntry("resnet18", "learner", "mbench.models.baselines.resnet:ResNetClassifier",
               "ResNet-18 (timm) classifier: multi-label (sigmoid, BCE) or single-label (softmax, CE) by the targets",
               dict(arch="resnet18", in_channels=3, optimizer="adam", lr=1e-5, epochs=50, batch_size=32,
                    image_size=None, pretrained=True, pretrained_path=None, num_classes=None),
               problems=("multilabel_classification", "classification")),
    ModelEntry("face_resnet50", "embedder", "mbench.models.baselines.embedder:FaceEmbedder",
               "ResNet-50 (timm) syndrome embedder (Campbell et al. 2023): CE on base classes, pooled features as "
               "embedding; mixup none / input / keypoint-guided",
               dict(arch="resnet50", pretrained=False, pretrained_path=None, freeze_backbone=False, mixup="none",
                    augment=True, optimizer="amsgrad", batch_size=64, epochs=100, head_epochs=10, head_lr=1e-3,
                    lr=1e-4, lr_drop_epoch=50, lr_final=1e-5, patience=20),
               problems=("classification",)),
    *[ModelEntry(_id, "learner", "mbench.models.baselines.resnet:TimmClassifier",
                 f"{_desc} (timm {_arch}), ImageNet transfer learning, softmax head, CE loss",
                 dict(arch=_arch, in_channels=3, optimizer="sgd", lr=1e-3, epochs=20, batch_size=16, image_size=224,
                      pretrained=True, pretrained_path=None, num_classes=None),
                 problems=("classification", "multilabel_classification"))
      for _id, _arch, _desc in (("vgg16", "vgg16", "VGG-16"), ("xception", "legacy_xception", "Xception (Keras port)"),
                                ("inception_v3", "inception_v3", "Inception-v3"),
                                ("inception_resnet_v2", "inception_resnet_v2", "Inception-ResNet-v2"))],
    # ToFi-ML (paper 21): Betti-curve features -> classical classifier (FeatureModel capability, feature_eval protocol)
    *[ModelEntry(f"tofi_{short}", "learner", "mbench.models.baselines.feature_models:TopologicalFeatureClassifier",
                 f"ToFi-ML: Betti curves (cubical sublevel persistence, gray/R/G/B x beta0/1 x 100) -> {words}",
                 dict(classifier=clf, channels=["gray", "red", "green", "blue"], homology_dims=[0, 1], n_thresholds=100,
                      image_size=None, feature_selection=False, knn_neighbors=5, smote_neighbors=5,
                      classifier_params={}, n_jobs=1),
                 problems=("classification",), requires_torch=False)
      for short, clf, words in (("xgboost", "xgboost", "XGBoost (default parameters)"),
                                ("rf", "random_forest", "random forest (scikit-learn defaults)"),
                                ("knn", "knn", "k-nearest neighbours (k = 5)"))],
    # skin chromophores (paper 18): SourceSeparator capability, separation_eval protocol
    *[ModelEntry(mid, "learner", "mbench.models.baselines.chromophores:ChromophoreSeparator", words,
                 dict(method=method, init=init, solver="als", max_iter=200, tol=1e-6, slice_length=16,
                      variance_quantile=0.25, min_angle_deg=10.0),
                 problems=("classification",), requires_torch=False)
      for mid, method, init, words in (
          ("nmf_sca", "nmf", "sca", "NMF (projected ALS) of skin optical density initialised by sparse component "
                                    "analysis (Abrard & Deville), paper 18's method"),
          ("nmf_random", "nmf", "random", "NMF (projected ALS) of skin optical density, random initialisation "
                                          "(paper 18's ablation)"),
          ("chromophore_inverse", "inverse", "sca", "classical 3 x 3 technique: optical density times the inverse "
                                                    "empirical mixing matrix (Spigulis & Oshina)"))],
    # EEG window classifiers (paper 14): SignalLearner capability, signal_windows protocol
    ModelEntry("eegnet", "learner", "mbench.models.baselines.eeg:SignalClassifier",
               "EEGNet-8,2 (Lawhern 2018): temporal + depthwise spatial + separable convs, ELU, dropout 0.5",
               dict(arch="eegnet", arch_params={"f1": 8, "depth": 2, "f2": 16, "kernel": 64, "dropout": 0.5},
                    lr=1e-3, epochs=150, batch_size=64, optimizer="adam"), problems=("classification",)),
    ModelEntry("eegnet_ssvep", "learner", "mbench.models.baselines.eeg:SignalClassifier",
               "EEGNet-SSVEP (Waytowich 2018): EEGNet with 96 temporal filters of 256 samples, D = 1, 96 separable",
               dict(arch="eegnet", arch_params={"f1": 96, "depth": 1, "f2": 96, "kernel": 256, "dropout": 0.5},
                    lr=1e-3, epochs=150, batch_size=64, optimizer="adam"), problems=("classification",)),
    ModelEntry("deepconvnet", "learner", "mbench.models.baselines.eeg:SignalClassifier",
               "Deep ConvNet (Schirrmeister 2017): 25 temporal + 25 spatial filters, blocks of 50/100/200, max-norm",
               dict(arch="deepconvnet", arch_params={"filters": [25, 50, 100, 200], "kernel": 5, "dropout": 0.5},
                    lr=1e-3, epochs=150, batch_size=64, optimizer="adam"), problems=("classification",)),
    # Trauma THOMPSON (papers 16 and 12): VideoClassifier (video_actions) and SequenceClassifier (leave_one_out)
    ModelEntry("tsn", "learner", "mbench.models.baselines.video:VideoActionClassifier",
               "TSN (Wang 2016; paper 16's reference): 2D ResNet-50 per segment frame, average consensus, dropout, "
               "verb / noun / action heads; ImageNet weights from the local torch cache; SGD momentum, paper's "
               "80 epochs, batch 512, lr 1e-3",
               dict(arch="tsn_resnet50", pretrained="imagenet", pretrained_path=None, dropout=0.5,
                    optimizer="sgd_momentum", lr=1e-3, epochs=80, batch_size=512),
               problems=("video_classification",)),
    ModelEntry("r3d_18", "learner", "mbench.models.baselines.video:VideoActionClassifier",
               "3D ResNet-18 (torchvision, Kinetics-400 weights from the local torch cache) with verb / noun / "
               "action heads (a 3D-CNN baseline; harness choice, not in paper 16)",
               dict(arch="r3d_18", pretrained="kinetics", pretrained_path=None, dropout=0.5,
                    optimizer="sgd_momentum", lr=1e-3, epochs=80, batch_size=32),
               problems=("video_classification",)),
    ModelEntry("c3d_small", "learner", "mbench.models.baselines.video:VideoActionClassifier",
               "small 3-block 3D CNN with verb / noun / action heads (CPU quick runs)",
               dict(arch="c3d_small", pretrained="none", pretrained_path=None, dropout=0.2, optimizer="adam",
                    lr=1e-3, epochs=30, batch_size=32),
               problems=("video_classification",)),
    ModelEntry("ton_svm", "learner", "mbench.models.baselines.ton:TonSvmClassifier",
               "TON-ViT's procedure classifier (paper 12): task-graph ordinal matrix Q, L2-normalised, SVM "
               "(linear, C = 1: not stated in the paper)",
               dict(kernel="linear", C=1.0, edges="merged"), problems=("sequence_classification",),
               requires_torch=False),
    # deformable registration (papers 13 and 20): Registrar capability, pairwise_registration protocol
    ModelEntry("reg_identity", "learner", "mbench.models.baselines.identity_registrar:IdentityRegistrar",
               "no registration (zero displacement): the 'initial' row", {}, problems=("registration",),
               requires_torch=False),
    *[ModelEntry(f"demons_{sim}", "learner", "mbench.models.baselines.demons:DemonsRegistrar", words,
                 dict(similarity=sim, levels=3, iterations=100, step=1.0, sigma=1.5, alpha=1.0),
                 problems=("registration",), requires_torch=False)
      for sim, words in (("udt", "diffusive demons on the distance map of the warped mask, recomputed every "
                                 "iteration (paper 13's UDT-SSD)"),
                         ("dt", "diffusive demons on interpolated mask distance maps (paper 13's DT)"),
                         ("intensity", "diffusive demons on intensities, SSD (paper 13's Int; classical "
                                       "intensity baseline for paper 20)"))],
    ModelEntry("bspline_mi", "learner", "mbench.models.baselines.sitk_bspline:SitkBSplineRegistrar",
               "B-spline FFD optimising Mattes mutual information (SimpleITK, L-BFGS-B, 3 levels)",
               dict(mesh_size=8, bins=32, iterations=100, levels=3, sampling=0.5, seed=0),
               problems=("registration",), requires_torch=False),
    ModelEntry("medm_adam", "learner", "mbench.models.baselines.label_adam:LabelInstanceOptimiser",
               "paper 20's label-driven Adam instance optimisation on MEDM shape encodings (lambda 7, 50 its, "
               "lr 1, diffusion 0.65, grid spacing 2); zero-shot: nothing trained on the task's data",
               dict(encoding="medm", lam=7.0, iterations=50, lr=1.0, reg_weight=0.65, downsample=2, seed=0),
               problems=("registration",)),
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
