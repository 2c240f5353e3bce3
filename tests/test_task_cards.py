"""Task cards: every card validates; malformed cards, unknown names and overrides give clear errors."""

from __future__ import annotations

import pytest
import yaml

from mbench.config.loading import load_task_card
from mbench.config.overrides import parse_overrides
from mbench.config.resolve import resolve_run_config
from mbench.errors import MbenchError
from mbench.paths import tasks_dir
from mbench.tasks.registry import card_paths, list_task_cards, load_task

CARDS = sorted(card_paths())


@pytest.mark.parametrize("task_id", CARDS)
def test_every_card_validates_and_pins_its_splits(task_id):
    card = load_task(task_id)
    from mbench.data.split import SplitManifest

    for ref in (card.spec.data.split, card.spec.data.standin.split):
        manifest = SplitManifest.load(card.folder / ref.file, ref.sha256)
        assert set(manifest.split_names()) == set(card.spec.split_names())
    assert card.spec.metrics.primary in card.spec.metrics.report
    assert card.spec.quick, "every card needs a quick setting"


def test_alias_resolves_to_the_segmentation_task():
    assert load_task("brats").spec.id == "brats18-al-wtseg"


def test_unknown_task_gets_did_you_mean():
    with pytest.raises(MbenchError, match="did you mean 'brats'"):
        load_task("bratz")


def test_unknown_model_and_parameter_get_did_you_mean():
    with pytest.raises(MbenchError, match="did you mean 'mvaal'"):
        resolve_run_config("brats", "mvall")
    with pytest.raises(MbenchError, match="did you mean 'gamma3'"):
        resolve_run_config("brats", "mvaal", {"model.gama3": 0.4})


def test_learner_model_on_an_active_learning_task_is_refused():
    with pytest.raises(MbenchError, match="unet"):
        resolve_run_config("brats", "unet")
    assert resolve_run_config("brats18-wtseg", "unet").model_kind == "learner"


def _write(tmp_path, text):
    path = tmp_path / "card.yaml"
    path.write_text(text)
    return path


def test_malformed_card_lists_each_bad_field(tmp_path):
    raw = yaml.safe_load((tasks_dir() / "brats18" / "brats18-al-wtseg.yaml").read_text())
    raw["colour"] = "blue"
    raw["protocol"]["budget"] = "lots"
    del raw["metrics"]["primary"]
    with pytest.raises(MbenchError) as err:
        load_task_card(_write(tmp_path, yaml.safe_dump(raw)))
    text = str(err.value)
    assert "colour: unknown field" in text
    assert "protocol.active_learning.budget" in text and "'lots'" in text
    assert "metrics.primary: required field is missing" in text


def test_invalid_yaml_names_the_line(tmp_path):
    with pytest.raises(MbenchError, match="invalid YAML at line 2"):
        load_task_card(_write(tmp_path, "id: x\n  bad: [\n"))


def test_official_settings_are_the_papers_protocol():
    seg = resolve_run_config("brats", "mvaal")
    assert seg.official and not seg.unofficial_reasons
    p = seg.task.protocol
    assert (p.initial_size, p.budget, p.rounds, p.seeds) == (200, 100, 6, [0, 1, 2])
    assert (p.sampler_input.image_size, p.sampler_input.crop_fraction) == (128, 0.875)
    assert seg.learner == "unet"
    assert {k: seg.learner_params[k] for k in ("optimizer", "lr", "epochs", "batch_size", "encoder_depth")} == {
        "optimizer": "rmsprop", "lr": 1e-5, "epochs": 30, "batch_size": 32, "encoder_depth": 4}
    assert {k: seg.model_params[k] for k in ("latent_dim", "lr", "batch_size", "epochs", "gamma3", "gp_lambda")} == {
        "latent_dim": 64, "lr": 1e-4, "batch_size": 16, "epochs": 100, "gamma3": 0.2, "gp_lambda": 1.0}
    cls = resolve_run_config("brats-mlcls", "mvaal")
    assert cls.task.protocol.rounds == 7 and cls.task.metrics.primary == "map_macro"
    assert cls.learner_params["pretrained"] is True and cls.learner_params["lr"] == 1e-5
    assert cls.learner_params["epochs"] == 50 and cls.model_params["gamma3"] == 1.0
    assert seg.task.slicing.min_foreground_pixels == 1000 and seg.task.slicing.main_modality == "t1ce"


def test_changing_a_task_setting_or_limiting_marks_the_run_unofficial(tmp_path):
    assert not resolve_run_config("brats", "mvaal", {"protocol.rounds": 3}).official
    assert not resolve_run_config("brats", "mvaal", {"learner.lr": 1e-3}).official
    assert not resolve_run_config("brats", "mvaal", quick=True).official
    assert not resolve_run_config("brats", "mvaal", limit=10).official
    # pointing at the real data, or tuning the submitted model, keeps the run official
    assert resolve_run_config("brats", "mvaal", {"data.root": str(tmp_path / "brats"), "model.gamma3": 0.4}).official
    assert resolve_run_config("liver-transfer", "unet", {"protocol.domains.chaos.data.root": str(tmp_path / "chaos")}).official
    # an override equal to the card's value changes nothing
    same = resolve_run_config("brats", "mvaal", {"protocol.rounds": 6})
    assert same.official and same.hash == resolve_run_config("brats", "mvaal").hash


def test_override_of_an_unknown_card_field_is_an_error():
    with pytest.raises(MbenchError, match="protocol.active_learning.roundz: unknown field"):
        resolve_run_config("brats", "mvaal", {"protocol.roundz": 3})


def test_config_hash_is_stable_and_sensitive():
    a, b = resolve_run_config("brats", "mvaal"), resolve_run_config("brats", "mvaal")
    assert a.hash == b.hash and a.run_id == b.run_id
    assert resolve_run_config("brats", "mvaal", {"model.gamma3": 0.4}).hash != a.hash


def test_parse_overrides_reads_yaml_values_and_rejects_garbage():
    assert parse_overrides(["a.b=3", "c=[1, 2]", "d=null", "e=text"]) == {"a.b": 3, "c": [1, 2], "d": None,
                                                                           "e": "text"}
    with pytest.raises(MbenchError, match="key=value"):
        parse_overrides(["novalue"])


def test_list_task_cards_covers_every_card():
    assert sorted(c.spec.id for c in list_task_cards()) == CARDS
