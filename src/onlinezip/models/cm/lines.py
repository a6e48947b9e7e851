"""Lines: where the next byte falls in its line of text, and the byte above it.

Text wrapped at a width ends its lines where the column says so (the line break of a
wrapped paragraph is a matter of column, not of the bytes just before); tables and
source code line up under the line above. The state is the start of the current line
and of the one before it (positions in the stream: the byte after a line feed); the
contexts read the history ring of the match model (``match``) for the byte above.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from onlinezip.models.cm import match
from onlinezip.models.hashctx import _fmix

MAX_COLUMN = 255  # columns beyond this are one


def init(streams: int) -> dict[str, jax.Array]:
    return {"lines": jnp.zeros((streams, 2), jnp.int32)}  # (start of this line, of the one before)


def advance(lines_B2, x_B, pos_B, mask_B) -> jax.Array:
    """The line starts once byte ``x_B`` is seen at position ``pos_B``."""
    feed_B = (x_B == 10) & (mask_B > 0)
    new_B2 = jnp.stack([pos_B + 1, lines_B2[:, 0]], axis=1)
    return jnp.where(feed_B[:, None], new_B2, lines_B2)


def context_hashes(lines_B2, hist_H, pos_B, last_B, count: int) -> jax.Array:
    """(B, count) uint32 line contexts of the next byte (at ``pos_B``), the first
    ``count`` of: the column with the last byte; the byte above with the last byte; the
    column with the byte above."""
    size = hist_H.shape[0] // pos_B.shape[0]
    start_B, before_B = lines_B2[:, 0], lines_B2[:, 1]
    column_B = jnp.minimum(pos_B - start_B, MAX_COLUMN)
    where_B = before_B + column_B
    inside_B = (where_B < start_B) & (pos_B - where_B < size)  # the line above is that long
    above_B = jnp.where(inside_B, match.ring_bytes(hist_H, where_B), 256)
    col_B, above_B = column_B.astype(jnp.uint32), above_B.astype(jnp.uint32)
    last_B = last_B.astype(jnp.uint32)
    hashes = [
        _fmix(col_B * jnp.uint32(0x5BD1E995) ^ last_B << 20),
        _fmix(above_B * jnp.uint32(0x27D4EB2F) ^ last_B << 12 ^ jnp.uint32(0x165667B1)),
        _fmix(col_B * jnp.uint32(0x61C88647) ^ above_B << 16 ^ jnp.uint32(0x2127599B)),
    ]
    return jnp.stack(hashes[:count], axis=1)
