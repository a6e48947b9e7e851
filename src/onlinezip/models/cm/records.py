"""Records: the length of fixed-size rows in the data, and contexts from the row above.

Tables, spreadsheets, bitmaps and many binary formats repeat a record of fixed length r:
the byte r back (the one "above") and the bytes around it then predict the next byte
better than the bytes just before. The length is detected as paq8's record model does:
each byte value keeps its last 4 positions; when the 3 distances between them agree on
some r >= 2 (the value recurs with period r), r is a candidate, and a candidate seen 16
times in a row becomes the record length. The contexts read the history ring of the
match model (``match``), so records up to its size are seen.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from onlinezip.models.cm import match
from onlinezip.models.hashctx import _fmix

POSITIONS = 4  # last positions kept per byte value
CONFIRM = 16  # a candidate length must be seen this many times in a row
CONTEXTS = 3  # above + last byte; above + the byte above it; position in the record
CONTEXTS_2D = 5  # (column = 3) and the bytes around the one above: left and right of it
FAR = -(1 << 30)  # "never seen"


def init(streams: int) -> dict[str, jax.Array]:
    return {
        "cpos": jnp.full((streams * 256, POSITIONS), FAR, jnp.int32),  # last positions
        "rec": jnp.zeros((streams, 3), jnp.int32),  # (length 0 = none, candidate, count)
    }


def advance(state, x_B, pos_B, max_len: int, mask_B) -> dict[str, jax.Array]:
    """The detector once byte ``x_B`` is seen at position ``pos_B``."""
    streams = x_B.shape[0]
    row_B = jnp.arange(streams, dtype=jnp.int32) * 256 + x_B
    c_BP = state["cpos"][row_B]  # (B, 4) latest first
    r_B = pos_B - c_BP[:, 0]
    periodic_B = (r_B >= 2) & (r_B <= max_len)
    for k in range(POSITIONS - 1):
        periodic_B &= c_BP[:, k] - c_BP[:, k + 1] == r_B
    length_B, cand_B, count_B = state["rec"][:, 0], state["rec"][:, 1], state["rec"][:, 2]
    same_B = periodic_B & (r_B == cand_B)
    count_B = jnp.where(same_B, count_B + 1, jnp.where(periodic_B, 0, count_B))
    cand_B = jnp.where(periodic_B, r_B, cand_B)
    length_B = jnp.where(count_B >= CONFIRM, cand_B, length_B)
    keep_B = mask_B > 0
    rec_B3 = jnp.where(keep_B[:, None], jnp.stack([length_B, cand_B, count_B], 1), state["rec"])
    new_BP = jnp.concatenate([pos_B[:, None], c_BP[:, :-1]], axis=1)
    rows_B = jnp.where(keep_B, row_B, streams * 256)  # dropped
    return {"cpos": state["cpos"].at[rows_B].set(new_BP, mode="drop"), "rec": rec_B3}


def context_hashes(rec_B3, hist_H, pos_B, last_B, around: bool = False) -> jax.Array:
    """(B, 3) uint32 record contexts of the next byte (at ``pos_B``), from the history
    ring (all streams' rings in one flat array): 0 when no record length is known.
    ``around`` (B, 5): also the bytes left and right of the one above with it (with the
    last byte, and alone), the neighbourhood a bitmap's next pixels depend on."""
    length_B = rec_B3[:, 0]

    def back(k_B):  # the byte k_B back (0 before the start)
        return match.byte_back(hist_H, pos_B, k_B).astype(jnp.uint32)

    above_B, above2_B = back(length_B), back(2 * length_B)
    column_B = jnp.remainder(pos_B, jnp.maximum(length_B, 1)).astype(jnp.uint32)
    n_B = length_B.astype(jnp.uint32)
    hashes = [
        _fmix(n_B * jnp.uint32(0x3C6EF372) ^ above_B << 8 ^ last_B.astype(jnp.uint32)),
        _fmix(n_B * jnp.uint32(0x2545F491) ^ above_B << 8 ^ above2_B),
        _fmix(n_B * jnp.uint32(0x9E3779B9) ^ column_B << 16),
    ]
    if around:
        left_B, right_B = back(length_B + 1), back(length_B - 1)
        ring_B = left_B << 16 ^ above_B << 8 ^ right_B
        hashes += [
            _fmix(n_B * jnp.uint32(0x7F4A7C15) ^ ring_B ^ last_B.astype(jnp.uint32) << 24),
            _fmix(n_B * jnp.uint32(0x94D049BB) ^ ring_B),
        ]
    h_B3 = jnp.stack(hashes, axis=1)
    return jnp.where(length_B[:, None] > 0, h_B3, jnp.uint32(0))  # (B, 3 or 5)
