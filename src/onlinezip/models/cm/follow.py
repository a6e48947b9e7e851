"""Follow: indirect contexts, what came after the last bytes the previous times they
occurred.

For each byte value (and each pair of byte values) the state keeps the two bytes that
followed its last two occurrences. The context of the next byte is then the last byte
(or the last two) together with what followed it before: "after 'q' came 'u' twice",
"after 'th' came 'e ' and then 'at'". Such a context predicts by analogy where the
bytes around differ (paq8's indirect model does the same). Integer state, updated once
a byte is known.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from onlinezip.models.hashctx import _fmix

PAIRS = 1 << 16


def init(streams: int) -> dict[str, jax.Array]:
    return {
        "follow1": jnp.zeros((streams * 256,), jnp.int32),  # per byte value: 2 bytes after
        "follow2": jnp.zeros((streams * PAIRS,), jnp.int32),  # per pair of byte values
    }


def _keys(window_BW) -> tuple[jax.Array, jax.Array, jax.Array, jax.Array]:
    """(the last byte, the last two as one number, their rows in follow1 and follow2),
    (B,) int32 each."""
    stream_B = jnp.arange(window_BW.shape[0], dtype=jnp.int32)
    last_B, pair_B = window_BW[:, -1], window_BW[:, -2] << 8 | window_BW[:, -1]
    return last_B, pair_B, stream_B * 256 + last_B, stream_B * PAIRS + pair_B


def context_hashes(state, window_BW, count: int) -> jax.Array:
    """(B, count) uint32: the last byte with the two that followed it before; the last
    two bytes with the two that followed them before."""
    last_B, pair_B, row1_B, row2_B = _keys(window_BW)
    last_B, pair_B = last_B.astype(jnp.uint32), pair_B.astype(jnp.uint32)
    after1_B = state["follow1"][row1_B].astype(jnp.uint32)
    after2_B = state["follow2"][row2_B].astype(jnp.uint32)
    hashes = [
        _fmix(last_B << 16 ^ after1_B ^ jnp.uint32(0x3C6EF372)),
        _fmix(pair_B * jnp.uint32(0x85EBCA6B) ^ after2_B ^ jnp.uint32(0x7F4A7C15)),
    ]
    return jnp.stack(hashes[:count], axis=1)


def advance(state, window_BW, x_B, mask_B) -> dict[str, jax.Array]:
    """The state once byte ``x_B`` follows the window (the window before it moves)."""
    _, _, row1_B, row2_B = _keys(window_BW)
    out = {}
    for key, row_B in (("follow1", row1_B), ("follow2", row2_B)):
        table = state[key]
        new_B = (table[row_B] << 8 | x_B) & 0xFFFF
        where_B = jnp.where(mask_B > 0, row_B, table.shape[0])  # dropped
        out[key] = table.at[where_B].set(new_B, mode="drop")
    return out
