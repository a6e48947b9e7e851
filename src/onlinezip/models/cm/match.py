"""The match model: the longest earlier occurrence of the recent bytes predicts the next.

Each stream keeps its last 2**bits bytes (a ring; all streams' rings in one flat
array) and a table from the hash of the last
``min_len`` bytes to the position after their latest occurrence. While the byte that
followed that occurrence keeps being right, the match grows; on a miss it ends and the
table is asked again. The predicted byte gives a bit to every node on its path; how far
to trust it is learned: an adaptive counter per (match length bucket, depth) estimates
how often the predicted bit is right, and the mixer sees it as a stretched probability
signed by the predicted bit.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from onlinezip.models.cm import counters, tree
from onlinezip.models.cm.contexts import WINDOW
from onlinezip.models.cm.squash import stretch
from onlinezip.models.hashctx import _fmix

BUCKETS = 16  # match length buckets
MAX_LEN = 65535


def bucket(len_B: jax.Array) -> jax.Array:
    """0: no match; 1..11: lengths 1..11; 12..15: 12-15, 16-31, 32-63, 64+."""
    long_B = 12 + jnp.clip(jnp.floor_divide(len_B, 16), 0, 3)
    return jnp.where(len_B < 12, len_B, jnp.where(len_B < 16, 12, long_B)).astype(jnp.int32)


def node_inputs(byte_B, len_B, table_L, nodes: tree.Nodes):
    """(x_BN stretch inputs, expect_BN: -1 off the predicted path, else the bit, index_BN
    of the confidence counter) of the ``nodes``.

    ``table_L``: (BUCKETS * 8,) counters of P(predicted bit right) by (bucket, depth)."""
    depth_1N = jnp.asarray(nodes.depth)[None, :]
    prefix_BN = jnp.where(byte_B[:, None] >= 0, byte_B[:, None] >> (8 - depth_1N), -1)
    on_BN = prefix_BN == nodes.partial()
    bit_BN = (byte_B[:, None] >> (7 - depth_1N)) & 1
    index_BD = bucket(len_B)[:, None] * 8 + jnp.asarray(nodes.depths)
    # a lookup per depth and stream, spread over the nodes (not one per node)
    st_BN = tree.by_depth(stretch(counters.probability(table_L[index_BD])))
    index_BN = tree.by_depth(index_BD)
    x_BN = jnp.where(on_BN, jnp.where(bit_BN == 1, st_BN, -st_BN), 0)
    return x_BN, jnp.where(on_BN, bit_BN, -1), index_BN


def train(table_L, expect_BK, index_BK, bit_BK, mask_B, limit: int):
    """Counters on the coded path's nodes that the match predicted: right or wrong."""
    used_BK = (expect_BK >= 0) & (mask_B[:, None] > 0)
    right_BK = (expect_BK == bit_BK).astype(jnp.int32)
    old_BK = table_L[index_BK]
    new_BK = counters.update(old_BK, right_BK, limit)
    delta_BK = jnp.where(used_BK, new_BK - old_BK, jnp.uint32(0))
    return table_L.at[index_BK].add(delta_BK)


def ring_bytes(hist_H: jax.Array, where_B: jax.Array) -> jax.Array:
    """(B,) int32: each stream's byte at stream position ``where_B`` (not yet overwritten:
    within 2**bits of the newest), read from the history ring (all streams' rings in one
    flat array, stream b's from b * 2**bits)."""
    streams = where_B.shape[0]
    size = hist_H.shape[0] // streams
    base_B = jnp.arange(streams, dtype=jnp.int32) * size
    return hist_H[base_B + (where_B & (size - 1))]


def byte_back(hist_H: jax.Array, pos_B: jax.Array, k_B: jax.Array) -> jax.Array:
    """(B,) int32: each stream's byte ``k_B`` back from position ``pos_B`` (0 before the
    start), read from the history ring as ``ring_bytes``."""
    where_B = pos_B - k_B
    return jnp.where(where_B >= 0, ring_bytes(hist_H, where_B), 0)


def _after(value_B: jax.Array, *reads: jax.Array) -> jax.Array:
    """``value_B``, made to depend on ``reads`` (it adds max(-|sum|, 0), always 0).

    XLA's CPU backend (jaxlib 0.10.2) updates a donated buffer in place only when the
    value written depends on every read of that buffer; otherwise it copies the whole
    buffer at every step to keep the old one readable (4 MiB copies, 0.5 ms a step)."""
    dep = sum(jnp.sum(r.astype(jnp.int32)) for r in reads)
    return value_B + jnp.maximum(-jnp.abs(dep), 0)


def advance(hist_BH, pos_B, ptr_B, len_B, next_B, last_BM, window_BW, x_B, min_len, mask_B):
    """The match state once ``x_B`` is coded (``window_BW``: the window including it):
    (hist, pos, ptr, len, next byte predicted or -1, last). ``last_BM``: per stream, the
    table of latest positions by hash of the last ``min_len`` bytes.

    The reads of the history and the table before the one write to each feed the written
    values (``_after``), and the predicted byte is read from the updated history: so XLA
    updates both in place (jaxlib 0.10.2 copied the history at every step while a read
    of the old one was left unordered after the write; see ``_after``)."""
    streams = x_B.shape[0]
    size, slots = hist_BH.shape[0] // streams, last_BM.shape[0] // streams
    base_B = jnp.arange(streams, dtype=jnp.int32)
    hit_B = (len_B > 0) & (next_B == x_B)
    len_B = jnp.where(hit_B, jnp.minimum(len_B + 1, MAX_LEN), 0)
    ptr_B = jnp.where(hit_B, ptr_B + 1, ptr_B)
    h_B = jnp.zeros(x_B.shape, jnp.uint32)
    for d in range(1, min_len + 1):
        h_B = (h_B ^ window_BW[:, WINDOW - d].astype(jnp.uint32)) * jnp.uint32(0x01000193)
    slot_B = (_fmix(h_B) >> jnp.uint32(32 - (slots.bit_length() - 1))).astype(jnp.int32)
    slot_B = base_B * slots + slot_B  # flat: stream b's table starts at b * slots
    candidate_B = last_BM[slot_B]
    # A new match, if none is running and the table knows these bytes: the bytes before
    # the candidate must agree with the window (the hash may collide); they are counted.
    fresh_B = (len_B == 0) & (candidate_B > 0)
    back_K = jnp.arange(1, WINDOW + 1, dtype=jnp.int32)
    where_BK = candidate_B[:, None] - back_K[None, :]  # all before pos: the history has them
    earlier_BK = hist_BH[base_B[:, None] * size + (where_BK & (size - 1))]
    recent_BK = window_BW[:, ::-1]  # recent_BK[:, k - 1]: the byte k back, x_B first
    valid_BK = (where_BK >= 0) & (where_BK > pos_B[:, None] - size)
    agree_BK = ((earlier_BK == recent_BK) & valid_BK).astype(jnp.int32)
    agree_B = jnp.sum(jnp.cumprod(agree_BK, axis=1), axis=1)
    start_B = fresh_B & (agree_B >= min_len)
    len_B = jnp.where(start_B, agree_B, len_B).astype(jnp.int32)
    ptr_B = jnp.where(start_B, candidate_B, ptr_B)
    keep_B = mask_B > 0
    write_B = jnp.where(keep_B, base_B * size + (pos_B & (size - 1)), streams * size)
    hist_BH = hist_BH.at[write_B].set(_after(x_B, earlier_BK), mode="drop")
    # the byte the match predicts next, read after the write (it may be x_B itself): a
    # read of the updated history, so XLA need not keep the old one
    stored_B = hist_BH[base_B * size + (ptr_B & (size - 1))]
    next_B = jnp.where(len_B > 0, stored_B, -1)
    last_B = _after(pos_B + 1, candidate_B)
    last_BM = last_BM.at[jnp.where(keep_B, slot_B, streams * slots)].set(last_B, mode="drop")
    return hist_BH, pos_B + 1, ptr_B, len_B, next_B, last_BM
