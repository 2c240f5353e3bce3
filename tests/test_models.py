"""Baseline models: pretrained weights from local caches only, samplers' contracts, learner basics."""

from __future__ import annotations

import numpy as np
import pytest

from mbench.errors import MbenchError
from mbench.models.capabilities import SamplerView

torch = pytest.importorskip("torch")


def _hub_file(hub: "Path", repo_id: str, filename: str, write) -> None:  # noqa: F821
    """Lay out a file exactly as huggingface_hub caches it: blobs, refs/main, snapshots/<rev>/<file>."""
    folder = hub / f"models--{repo_id.replace('/', '--')}"
    rev = "0" * 40
    (folder / "refs").mkdir(parents=True)
    (folder / "refs" / "main").write_text(rev)
    snap = folder / "snapshots" / rev
    snap.mkdir(parents=True)
    write(snap / filename)


def test_resnet_pretrained_loads_from_the_local_hub_cache(tmp_path, monkeypatch):
    import timm
    from safetensors.torch import save_file

    from mbench.models.baselines.resnet import ResNetClassifier

    monkeypatch.setenv("HF_HOME", str(tmp_path))
    reference = timm.create_model("resnet18", pretrained=False)
    torch.nn.init.constant_(reference.conv1.weight, 0.123)
    _hub_file(tmp_path / "hub", reference.pretrained_cfg["hf_hub_id"], "model.safetensors",
              lambda p: save_file(reference.state_dict(), str(p)))
    net = ResNetClassifier(pretrained=True, device="cpu").build(3)
    assert torch.allclose(net.conv1.weight, torch.full_like(net.conv1.weight, 0.123))
    assert net.get_classifier().out_features == 3


def test_missing_pretrained_weights_name_the_file_and_place(tmp_path, monkeypatch):
    from mbench.models.baselines.resnet import ResNetClassifier

    monkeypatch.setenv("HF_HOME", str(tmp_path))
    with pytest.raises(MbenchError) as err:
        ResNetClassifier(pretrained=True, device="cpu").build(3)
    text = str(err.value)
    assert "models--timm--resnet18.a1_in1k/snapshots/<revision>/model.safetensors" in text
    assert str(tmp_path / "hub") in text and "huggingface-cli download timm/resnet18.a1_in1k" in text


def test_unet_pretrained_encoder_from_explicit_file(tmp_path):
    import segmentation_models_pytorch as smp
    from safetensors.torch import save_file

    from mbench.models.baselines.unet import UNetSegmenter

    encoder = smp.Unet("resnet18", encoder_weights=None, encoder_depth=4, decoder_channels=[16, 8, 8, 8]).encoder
    torch.nn.init.constant_(encoder.layer1[0].conv1.weight, 0.5)
    path = tmp_path / "encoder.safetensors"
    save_file(encoder.state_dict(), str(path))
    net = UNetSegmenter(encoder="resnet18", decoder_channels=[16, 8, 8, 8], pretrained=True,
                        pretrained_path=str(path), device="cpu").build()
    assert torch.all(net.encoder.layer1[0].conv1.weight == 0.5)
    assert net.encoder.conv1.in_channels == 1
    with pytest.raises(MbenchError, match="pretrained weights file not found"):
        UNetSegmenter(pretrained=True, pretrained_path=str(tmp_path / "nope"), device="cpu").build()


def _view(n=40, labelled=10, size=32, aux=True):
    rng = np.random.default_rng(0)
    ids = tuple(f"s{i:02d}" for i in range(n))
    images = rng.random((n, size, size), dtype=np.float32)
    images[labelled:] += 0.5  # unlabelled images differ from labelled ones
    return SamplerView(ids, ids[:labelled], images, images[:, ::-1].copy() if aux else None)


@pytest.mark.parametrize("name", ["random", "vaal", "mvaal"])
def test_samplers_return_budget_distinct_unlabelled_ids(name):
    from mbench.models.registry import create_model, get_model_entry, resolve_params

    entry = get_model_entry(name)
    params = resolve_params(entry, {"base_channels": 4, "epochs": 1, "batch_size": 8} if name != "random" else {})
    sampler = create_model(entry, params, "cpu")
    view = _view()
    picked = sampler.query(view, 7, seed=1)
    assert len(picked) == len(set(picked)) == 7 and set(picked) <= set(view.unlabelled_ids)
    assert picked == sampler.query(view, 7, seed=1)


def test_mvaal_selects_lowest_critic_scores_and_needs_aux():
    from mbench.models.baselines.vaal import MVAALSampler

    sampler = MVAALSampler(base_channels=4, epochs=1, batch_size=8, device="cpu")
    view = _view()
    scores_seen = {}
    original = sampler.score

    def spy(vae, disc, v, ids, channels):
        out = original(vae, disc, v, ids, channels)
        scores_seen.update(zip(ids, out))
        return out

    sampler.score = spy
    picked = sampler.query(view, 5, seed=0)
    ranked = sorted(scores_seen, key=scores_seen.get)[:5]
    assert sorted(picked) == sorted(ranked)
    with pytest.raises(MbenchError, match="auxiliary modality"):
        MVAALSampler(device="cpu").query(_view(aux=False), 5, seed=0)


def test_ce_dice_loss_is_lower_for_the_right_answer():
    from mbench.models.baselines.unet import ce_dice_loss

    target = torch.zeros(2, 8, 8, dtype=torch.long)
    target[:, 2:6, 2:6] = 1
    good = torch.stack([(1 - target) * 5.0, target * 5.0], dim=1).float()
    assert ce_dice_loss(good, target) < ce_dice_loss(-good, target)
    assert ce_dice_loss(good, target) < 0.05


def test_sampler_images_crop_and_resize():
    from mbench.config.schema import SamplerInputSpec
    from mbench.protocols.active_learning import sampler_images

    images = np.zeros((2, 240, 240), np.float32)
    images[:, 100:140, 100:140] = 1
    out = sampler_images(images, SamplerInputSpec(image_size=128, crop_fraction=0.875))
    assert out.shape == (2, 128, 128)
    assert out[:, 64, 64].min() == pytest.approx(1) and out[:, 0, 0].max() == 0


def test_normalise_images_modes():
    from mbench.protocols.base import normalise_images

    x = np.full((3, 4, 4), 0.5, np.float32)
    assert np.allclose(normalise_images(x, "train_zscore", (0.25, 0.5)), 0.5)
    net_in = normalise_images(x, "imagenet", (0, 1))
    assert net_in.shape == (3, 3, 4, 4)
    assert np.allclose(net_in[:, 0], (0.5 - 0.485) / 0.229)
