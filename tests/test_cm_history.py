"""Recency and byte classes in the context mixer: counters that keep their last bits
(cm.history, read by the state map) and the byte classes that choose mixer weights
(cm.class_mixer, cm.final_classes)."""

from __future__ import annotations

import jax.numpy as jnp
import pytest

from onlinezip import api
from onlinezip.config import load_preset
from onlinezip.errors import OnlinezipError
from onlinezip.models.cm import counters, predictor, statemap
from test_cm import CM_SMALL


def _run(bits, history, limit=60):
    c = jnp.asarray([counters.FRESH], jnp.uint32)
    for bit in bits:
        c = counters.update(c, jnp.asarray([bit]), limit, history)
    return c


@pytest.mark.parametrize("history", [1, 2, 3, 4])
def test_history_keeps_the_last_bits_beside_an_unchanged_counter(history):
    bits = [1, 0, 0, 1, 1, 0, 1] * 3
    plain = _run(bits, 0)
    clean, hist = counters.split(_run(bits, history), history)
    assert clean.tolist() == plain.tolist()  # p and n as without a history
    last = bits[-history:]
    assert int(hist[0]) == int("".join(map(str, last)), 2)  # the newest lowest


def test_history_survives_the_count_cap():
    c = _run([1] * 70 + [0, 1, 0], 3, limit=63)
    clean, hist = counters.split(c, 3)
    assert int(counters.count(clean)[0]) == 63 and int(hist[0]) == 0b010


def test_state_map_tells_histories_apart():
    node = counters.update(jnp.full((1, 1, 2), counters.FRESH, jnp.uint32), jnp.asarray(1), 60)
    hist = jnp.asarray([[[0, 5]]], jnp.int32)
    _, index = statemap.lookup(statemap.init(1, 3), node, hist, 3)
    assert index[0, 0, 0] != index[0, 0, 1]
    assert int(jnp.max(index)) < statemap.STATES << 3


def test_byte_classes():
    cls = predictor._CLASS
    assert [int(cls[b]) for b in b"aZ7 \n,\x01"] == [1, 2, 3, 4, 5, 6, 0]
    assert int(cls[200]) == 7 and cls.max() == predictor.CLASSES - 1
    window = jnp.asarray([list(b"xxa1"), list(b"xxA ")], jnp.int32)
    ctx = predictor._class_context(window, 2)
    assert ctx.tolist() == [1 * 8 + 3, 2 * 8 + 4]


def test_history_needs_the_state_map():
    with pytest.raises(OnlinezipError, match="indirect"):
        load_preset("max").replace(cm={"indirect": 0, "history": 2})
    with pytest.raises(OnlinezipError, match="final_classes"):
        load_preset("max").replace(cm={"final_classes": 4})
    with pytest.raises(OnlinezipError, match="match_min > 0"):
        load_preset("max").replace(
            cm={"mixer_boost": 1, "match_min": 0, "column": 0, "lines": 0, "pixels": 0,
                "pixel_mixer": 0, "pixel_apm": 0}
        )


def test_each_part_alone_roundtrips_and_changes_the_code(alice_slice):
    """Every option changes the stream (it is read) and still decodes (on a small cm
    with the state map, which compiles in half max's time)."""
    base = CM_SMALL.replace(cm={"indirect": 1, "counter_limit": 60}, run={"streams": 1})
    data = alice_slice[:1500]
    plain = api.compress(data, base)
    for part in ({"history": 3}, {"class_mixer": 2}, {"final_classes": 1}, {"mixer_boost": 1}):
        blob = api.compress(data, base.replace(cm=part))
        assert blob != plain and api.decompress(blob) == data, part
