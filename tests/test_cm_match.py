"""Models of repeats: the match model and the record detector."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from onlinezip.models.cm import match, records


def test_match_model_finds_and_follows_a_repeat():
    from onlinezip.models.cm import contexts

    data = (b"the quick brown fox jumps over the lazy dog. " * 3)[:120]
    size = 1 << 10
    hist, last = jnp.zeros(size, jnp.int32), jnp.zeros(size, jnp.int32)
    window = jnp.zeros((1, contexts.WINDOW), jnp.int32)
    pos = ptr = length = jnp.zeros(1, jnp.int32)
    following = jnp.full(1, -1, jnp.int32)
    mask = jnp.ones(1, jnp.float32)
    hits = 0
    for i, byte in enumerate(data):
        x = jnp.asarray([byte], jnp.int32)
        hits += i > 60 and int(following[0]) == byte
        window = jnp.concatenate([window[:, 1:], x[:, None]], axis=1)
        hist, pos, ptr, length, following, last = match.advance(
            hist, pos, ptr, length, following, last, window, x, 6, mask
        )
    assert hits == len(data) - 61  # once found, every byte of the repeat is predicted
    assert int(length[0]) > 50


def test_record_detector_finds_the_row_length():
    rng = np.random.default_rng(3)
    row = bytes([7, 0, 14]) + bytes(15)  # an 18-byte record: a type, a length, fields
    rows = [bytearray(row) for _ in range(40)]
    for i, r in enumerate(rows):
        r[3:5], r[9:17] = i.to_bytes(2, "little"), rng.bytes(8)
    data = b"".join(rows)
    state, mask = records.init(1), jnp.ones(1, jnp.float32)
    lengths = []
    for pos, byte in enumerate(data):
        state = records.advance(state, jnp.asarray([byte]), jnp.asarray([pos]), 4096, mask)
        lengths.append(int(state["rec"][0, 0]))
    assert lengths[-1] == 18 and lengths[17] == 0  # not before a few rows were seen
    state, noise = records.init(1), rng.bytes(720)
    for pos, byte in enumerate(noise):
        state = records.advance(state, jnp.asarray([byte]), jnp.asarray([pos]), 4096, mask)
    assert int(state["rec"][0, 0]) == 0
