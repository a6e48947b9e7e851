"""Mixing and refining: the logistic mixers and the APMs."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

from onlinezip.codec import Codec
from onlinezip.config import CMConfig, Config, load_preset
from onlinezip.errors import OnlinezipError
from onlinezip.models.cm import apm, mixer, predictor
from onlinezip.models.cm.predictor import TEXT_BYTES, _mixer_rate
from test_cm import CM_ALL


def test_mixer_step_lowers_the_coding_cost():
    w = mixer.init(4, 3, 0.2)
    x = jnp.asarray([[[800, -300, 256]]], jnp.int32)  # (B=1, K=1, N=3)
    sel = jnp.asarray([[2]], jnp.int32)
    before = int(mixer.predict(w, x, sel)[1][0, 0])
    for _ in range(20):
        _, p = mixer.predict(w, x, sel)
        w = mixer.train(w, x, sel, p, jnp.asarray([[1]]), 6, jnp.ones(1, jnp.float32))
    after = int(mixer.predict(w, x, sel)[1][0, 0])
    assert after > before + 80
    assert np.all(np.asarray(w)[[0, 1, 3]] == np.asarray(mixer.init(4, 3, 0.2))[[0, 1, 3]])
    masked = mixer.train(w, x, sel, p, jnp.asarray([[1]]), 6, jnp.zeros(1, jnp.float32))
    assert np.array_equal(np.asarray(masked), np.asarray(w))


def test_apm_starts_as_the_identity_and_learns():
    t = apm.init(2)
    p = jnp.asarray([[100, 2048, 4000]], jnp.int32)
    ctx = jnp.zeros((1, 3), jnp.int32)
    out, idx = apm.refine(t, p, ctx)
    assert np.max(np.abs(np.asarray(out) - np.asarray(p))) <= 40
    for _ in range(30):
        _, idx = apm.refine(t, p[:, 1:2], ctx[:, :1])
        t = apm.train(t, idx, jnp.asarray([[1]]), 5, jnp.ones(1, jnp.float32))
    assert int(apm.refine(t, p[:, 1:2], ctx[:, :1])[0][0, 0]) > 3000


def test_text_rate_applies_where_the_last_bytes_are_text():
    c = CMConfig(mixer_rate=24, text_rate=16)
    text = list(b"so she went")[-TEXT_BYTES:]
    window = jnp.asarray(
        [[0] * (16 - TEXT_BYTES) + text,  # text
         [0] * (16 - TEXT_BYTES) + text[:-1] + [200],  # a byte >= 128 last
         [7] + [0] * (15 - TEXT_BYTES) + text],  # other bytes only before the last 8
        jnp.int32,
    )  # fmt: skip
    assert _mixer_rate(c, window).tolist() == [[16], [24], [16]]
    assert _mixer_rate(CMConfig(mixer_rate=24), window) == 24  # off: one number
    # with the boost: each stream's rate, (1 + H / (H + position)) times
    boosted = _mixer_rate(CMConfig(mixer_rate=24, text_rate=16, mixer_boost=1), window,
                          jnp.asarray([0, 0, 16384]))  # fmt: skip
    assert boosted.tolist() == [[32], [48], [24]]


def test_text_rate_changes_text_and_nothing_else():
    base = Config().replace(
        model={"family": "cm"}, run={"streams": 1},
        cm={"table_bits": 12, "match_bits": 12, "orders": [1, 2, 3], "mixer_rate": 24},
    )  # fmt: skip
    text_rate = base.replace(cm={"text_rate": 12})
    binary = bytes(np.random.default_rng(3).integers(128, 256, 2000, dtype=np.uint8))
    text = b"the cat sat on the mat and the dog sat on the log " * 20

    def bits(config, data):
        return Codec(config, 1).encode_chunk(data)[1]

    assert np.array_equal(bits(base, binary), bits(text_rate, binary))
    assert bits(text_rate, text).sum() != bits(base, text).sum()


def test_text_rate_out_of_range_is_refused():
    with pytest.raises(OnlinezipError, match="cm.text_rate must be in 0..255"):
        load_preset("max").replace(cm={"text_rate": 256})


def test_young_weight_sets_learn_faster_and_the_count_stops():
    c = CMConfig(set_boost=32, set_boost_x=32)  # up to (1 + 8) x the rate
    counts = jnp.asarray([0, 32, 10**6, predictor.BOOST_COUNT], jnp.int32)
    sel = jnp.asarray([[0, 1, 2, 3], [0, 0, 1, 1]], jnp.int32)  # (B=2, K=4)
    rate, after = predictor._boosted(c, 24, counts, sel, jnp.asarray([1, 0], jnp.int32))
    # n = 0: 24 x 9 = 216; n = 32: 24 x 5; long used: the rate; capped at 255
    assert rate.tolist() == [[216, 120, 24, 24], [216, 216, 120, 120]]
    assert predictor._boosted(c, 40, counts, sel[:1], jnp.ones(1))[0].tolist()[0][0] == 255
    # the masked stream counts nothing; a count at BOOST_COUNT stays
    assert after.tolist() == [1, 33, 10**6 + 1, predictor.BOOST_COUNT]


@pytest.mark.parametrize("nibbles,high", [(0, None), (1, None), (1, [3, 0, 15])])
def test_weight_sets_taken_per_stream_are_the_selected_ones(nibbles, high):
    """``predict`` takes most mixers' weights 8 per stream (by depth) or 255 in a row (the
    byte mixer by node), not by a per-node gather: each must be the set its selector
    names, which training then steps (random weights, so a wrong set shows); with
    cm.nibbles, for the high nibble's 15 nodes and the low nibble's under ``high``."""
    c = CM_ALL.replace(cm={"nibbles": nibbles}).cm
    pred = predictor.Predictor(c, 3)
    s = pred.init_state()
    rng = np.random.default_rng(4)
    one = mixer.WEIGHT_ONE
    s["mix"] = [jnp.asarray(rng.integers(-one, one, w.shape), jnp.int32) for w in s["mix"]]
    text = list(b"went on, and")
    s["window"] = jnp.asarray(
        [[0] * 4 + text, [0] * 4 + text[:-1] + [200], list(rng.integers(0, 256, 16))], jnp.int32
    )
    s["words"] = jnp.asarray(rng.integers(0, 2**32, (3, 3), dtype=np.uint64), jnp.uint32)
    high_B = None if high is None else jnp.asarray(high, jnp.int32)
    saved, _ = pred.predict(s, None, high_B)
    n = 15 if nibbles else 255
    f = pred._path_fields(saved, jnp.broadcast_to(jnp.arange(n), (3, n)))
    for m, w in enumerate(s["mix"]):
        _, p_BN = mixer.predict(w, f["x"], f["sels"][..., m])
        assert np.array_equal(np.asarray(p_BN), np.asarray(f["p1"][..., m])), m
