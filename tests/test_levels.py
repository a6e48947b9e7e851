"""Levels and presets by input size (onlinezip.levels): a small input asked of the
default preset is coded by max, and the file says so."""

from __future__ import annotations

from onlinezip import api, levels
from onlinezip.config import load_preset


def test_the_rule_names_max_below_32_kb_for_the_default_only():
    assert levels.preset_for_input("default", 0) == "max"
    assert levels.preset_for_input("default", 32 * 1024 - 1) == "max"
    assert levels.preset_for_input("default", 32 * 1024) == "default"
    for other in ("fast", "cm", "max", "ultra", "hashctx"):
        assert levels.preset_for_input(other, 100) == other


def test_a_small_input_is_coded_by_max_and_a_config_is_never_swapped(alice_slice):
    blob = api.compress(alice_slice)  # the default preset, by name
    header = api.read_header(blob)[0]
    assert header.preset == "max" and header.config == load_preset("max")
    assert api.decompress(blob) == alice_slice
    default = load_preset("default")
    assert api.read_header(api.compress(alice_slice, default))[0].config == default
