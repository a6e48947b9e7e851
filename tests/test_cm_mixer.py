"""Mixing and refining: the logistic mixers and the APMs."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

from onlinezip.codec import Codec
from onlinezip.config import CMConfig, Config, load_preset
from onlinezip.errors import OnlinezipError
from onlinezip.models.cm import apm, mixer
from onlinezip.models.cm.predictor import TEXT_BYTES, _mixer_rate


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
