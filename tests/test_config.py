import dataclasses

import pytest

from onlinezip.config import (
    Config,
    config_from_dict,
    load_config,
    load_preset,
    preset_names,
)
from onlinezip.errors import OnlinezipError


def test_presets_load_and_validate():
    names = preset_names()
    for required in ("default", "hashctx", "rae", "tiny", "small", "base"):
        assert required in names
    for name in names:
        assert isinstance(load_preset(name), Config)


def test_rae_preset_is_the_literal_setup():
    rae = load_preset("rae")
    assert rae.run.streams == 1
    assert rae.model.family == "transformer"
    assert rae.run.step_program == 2  # one backward pass per byte, from the saved forward
    assert load_preset("hashctx").model.family == "hashctx"  # the default until session 12


def test_default_is_a_context_mixer_in_many_streams():
    """Levels -4..-6: integer arithmetic (its files decode on any CPU), many streams, a
    byte coded as two nibbles."""
    default = load_preset("default")
    assert default.model.family == "cm" and default.run.streams == 32
    assert default.cm.nibbles == 1 and not default.cm.neural


def test_size_presets_share_family_and_optimizer():
    tiny, small, base = (load_preset(n) for n in ("tiny", "small", "base"))
    assert tiny.model.family == small.model.family == base.model.family
    assert tiny.optimizer == small.optimizer == base.optimizer


def test_a_header_without_the_newer_keys_means_the_first_step_program():
    """Files written before ``run.step_program`` existed decode with the program that
    made them."""
    assert config_from_dict({"run": {"streams": 2}}).run.step_program == 1


def test_canonical_json_roundtrips():
    cfg = load_preset("default")
    import json

    assert config_from_dict(json.loads(cfg.canonical_json())) == cfg


def test_unknown_key_is_named(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text("[model]\nfamily = 'lstm'\nhiden_dim = 3\n")
    with pytest.raises(OnlinezipError, match="unknown key 'hiden_dim' in \\[model\\]"):
        load_config(path)


def test_unknown_section_and_bad_values():
    with pytest.raises(OnlinezipError, match="unknown config section"):
        config_from_dict({"modle": {}})
    with pytest.raises(OnlinezipError, match="model.family must be one of"):
        config_from_dict({"model": {"family": "mamba"}})
    with pytest.raises(OnlinezipError, match="model.hidden_dim must be int"):
        config_from_dict({"model": {"hidden_dim": "big"}})
    with pytest.raises(OnlinezipError, match="learning_rate"):
        config_from_dict({"optimizer": {"learning_rate": -1.0}})
    with pytest.raises(OnlinezipError, match=r"run.step_program must be one of \(1, 2\), got 3"):
        config_from_dict({"run": {"step_program": 3}})
    with pytest.raises(OnlinezipError, match="num_heads"):
        config_from_dict({"model": {"family": "transformer", "hidden_dim": 30, "num_heads": 4}})


def test_absurd_model_is_refused_before_building():
    with pytest.raises(OnlinezipError, match="parameters"):
        config_from_dict({"model": {"hidden_dim": 4096, "num_layers": 64}})


def test_bad_toml_and_missing_file(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("[model\n")
    with pytest.raises(OnlinezipError, match="not valid TOML"):
        load_config(path)
    with pytest.raises(OnlinezipError, match="cannot read config"):
        load_config(tmp_path / "missing.toml")


def test_config_is_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        Config().run.streams = 3  # type: ignore[misc]


@pytest.mark.parametrize(
    "cm,message",
    [
        ({"text_orders": [3, 3]}, "cm.text_orders repeats an order"),
        ({"text_orders": [13]}, "cm.text_orders must be at most 8 orders in 1..12"),
        ({"order_mixers": [2, 3, 4, 5, 6]}, "cm.order_mixers must be at most 4 orders"),
        ({"mixer_bits": 20}, "cm.mixer_bits must be in 8..16"),
        ({"byte_mixer": 2}, "cm.byte_mixer must be 0 or 1"),
        ({"set_boost_x": 0}, "cm.set_boost_x must be in 1..64"),
        ({"set_boost": 0, "final_boost": 1}, "set cm.set_boost"),
    ],
)
def test_session_11_cm_fields_are_checked(cm, message):
    with pytest.raises(OnlinezipError, match=message):
        load_preset("max").replace(cm=cm)


@pytest.mark.parametrize(
    "cm,message",
    [
        ({"block_slots": 2}, "cm.block_slots must be 0 or 1"),
        ({"block_slots": 1, "ways": 2}, "set cm.ways = 1"),
        ({"nibbles": 2}, "cm.nibbles must be 0 or 1"),
        ({"nibbles": 1, "neural": "lstm"}, "does not take a neural input"),
    ],
)
def test_block_slots_and_nibbles_are_checked(cm, message):
    with pytest.raises(OnlinezipError, match=message):
        load_preset("default").replace(cm=cm)
