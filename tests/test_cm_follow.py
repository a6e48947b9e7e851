"""The follow contexts of the context mixer (models/cm/follow.py): what came after the
last byte (and the last two) the previous times."""

from __future__ import annotations

import jax.numpy as jnp

from onlinezip.models.cm import contexts, follow


def _feed(text: bytes, mask: int = 1):
    """The follow state and the window after ``text``, one byte at a time."""
    state = follow.init(1)
    window = jnp.zeros((1, contexts.WINDOW), jnp.int32)
    for byte in text:
        x = jnp.asarray([byte])
        state = follow.advance(state, window, x, jnp.asarray([mask]))
        window, _ = contexts.advance(window, jnp.zeros((1, 3), jnp.uint32), x)
    return state, window


def test_the_state_keeps_the_two_bytes_after_each_byte_and_pair():
    state, _ = _feed(b"qaqbqc")
    assert int(state["follow1"][ord("q")]) == ord("b") << 8 | ord("c")  # the last two
    assert int(state["follow2"][ord("a") << 8 | ord("q")]) == ord("b")
    masked, _ = _feed(b"qaqb", mask=0)
    assert int(jnp.abs(masked["follow1"]).sum() + jnp.abs(masked["follow2"]).sum()) == 0


def test_contexts_depend_on_the_last_bytes_and_what_followed_them():
    here = follow.context_hashes(*_feed(b"xy_xy_x"), 2)
    # other bytes before, the same last byte and pair with the same followers
    same = follow.context_hashes(*_feed(b"...zxy_xy_x"), 2)
    assert here.tolist() == same.tolist()
    # "x" and "_x" were followed by something else before: both contexts change
    other = follow.context_hashes(*_feed(b"xw_xw_x"), 2)
    assert other[0, 0] != here[0, 0] and other[0, 1] != here[0, 1]
    assert here.shape == (1, 2) and follow.context_hashes(*_feed(b"ab"), 1).shape == (1, 1)
