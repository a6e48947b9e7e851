"""Which contexts the counted statistics are kept for, and where their slots are.

A context is a 32-bit hash of some of the bytes before the one being coded:
  - order k: the last k bytes (k = 0: no bytes, the byte's own frequencies);
  - words: the letters of the word so far (case folded), and it with the previous word;
  - sparse: bytes at gaps (the 2nd and 3rd last, the 2nd, the 3rd and 4th, the 4th),
    which catch fixed-width records and tables in binaries;
  - column: the bytes above and before, when the data falls into lines or records of a
    length detected from the spacing of repeated bytes.
Each context's 17 slots (see ``tree``) are hashed apart into one table of 2**bits rows,
or (cm.block_slots) kept in 17 consecutive rows from one hashed row, with a 16-bit check
kept in the row so that a collision is noticed, not mixed in.
The state carried between bytes (the window of the last bytes, word hashes, record
length) is int32, updated by integer ops.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from onlinezip.models.cm.tree import SLOTS
from onlinezip.models.hashctx import _fmix, advance_words

WINDOW = 16  # bytes of history the hashes see
SPARSE = ((2, 3), (2,), (3, 4), (4,))  # byte distances (1 = the last byte)
_GOLDEN = 0x9E3779B1


def _mix(h: jax.Array, v: jax.Array) -> jax.Array:
    return (h ^ v.astype(jnp.uint32)) * jnp.uint32(0x01000193)


def _normalise() -> np.ndarray:
    """(256,) a byte as prose reads it: letters case folded, tab and line ends a space."""
    out = np.arange(256, dtype=np.int32)
    out[ord("A") : ord("Z") + 1] += 32
    out[[9, 10, 13]] = 32
    return out


_NORMAL = _normalise()


def context_hashes(
    window_BW, words_B3, record_B, orders, word, sparse, column, extra_BE=None, text_orders=()
) -> jax.Array:
    """(B, C) uint32: one hash per context, salted by its position in the list (``extra_BE``:
    more hashes, e.g. ``records``', appended)."""
    byte = lambda d: window_BW[:, WINDOW - d]  # noqa: E731 (d = 1: the last byte)
    spans = [range(1, k + 1) for k in orders] + [gaps for gaps in SPARSE[:sparse]]
    h_BK = _hash_spans(window_BW, spans)  # orders, then sparse: one vectorised pass
    n = len(orders)
    hashes = [h_BK[:, :n]]
    if word >= 1:
        hashes.append(_mix(words_B3[:, 0], byte(1))[:, None])
    pair_B = _mix(words_B3[:, 0] * jnp.uint32(0x2F0B3A49), words_B3[:, 1])
    if word >= 2:
        hashes.append(pair_B[:, None])
    if word >= 3:  # the word so far with the two words before
        hashes.append(_mix(pair_B * jnp.uint32(0x6C8E9CF5), words_B3[:, 2])[:, None])
    if word >= 4:  # the word so far with the one two words back (skipping one)
        hashes.append(_mix(words_B3[:, 0] * jnp.uint32(0x1B873593), words_B3[:, 2])[:, None])
    hashes.append(h_BK[:, n:])
    zero = jnp.zeros(window_BW.shape[:1], jnp.uint32)
    if column == 1:
        above = _take(window_BW, record_B)
        hashes.append(_mix(_mix(zero, above), record_B)[:, None])
        hashes.append(_mix(_mix(_mix(zero, above), byte(1)), record_B)[:, None])
    if text_orders:
        normal_BW = jnp.asarray(_NORMAL)[window_BW]
        hashes.append(_hash_spans(normal_BW, [range(1, k + 1) for k in text_orders]))
    hash_BC = jnp.concatenate(hashes, axis=1)
    if extra_BE is not None:
        hash_BC = jnp.concatenate([hash_BC, extra_BE], axis=1)
    salts = jnp.arange(hash_BC.shape[1], dtype=jnp.uint32) * jnp.uint32(_GOLDEN)
    return _fmix(hash_BC + salts[None, :])


def _hash_spans(window_BW, spans) -> jax.Array:
    """(B, K) uint32: for each span (byte distances, ascending), the bytes at those
    distances mixed in in order, from 0; all K at once (a context that skips a distance
    keeps its hash there), which is the same as mixing each span's bytes one by one."""
    use_WK = np.zeros((WINDOW + 1, len(spans)), bool)
    for k, span in enumerate(spans):
        use_WK[list(span), k] = True
    h_BK = jnp.zeros((window_BW.shape[0], len(spans)), jnp.uint32)
    for d in range(1, WINDOW + 1):
        if use_WK[d].any():
            mixed_BK = _mix(h_BK, window_BW[:, WINDOW - d][:, None])
            h_BK = jnp.where(jnp.asarray(use_WK[d])[None, :], mixed_BK, h_BK)
    return h_BK


def _take(window_BW, distance_B):
    """(B,) the byte ``distance_B`` (1..WINDOW) back."""
    return jnp.take_along_axis(window_BW, (WINDOW - distance_B)[:, None], axis=1)[:, 0]


def slot_rows(
    hash_BC: jax.Array, bits: int, block: int = 0, slot_B: jax.Array | None = None
) -> tuple[jax.Array, jax.Array]:
    """(index_BCS int32 rows of the table, check_BCS uint32 in 1..65535) of every
    context's 17 slots: each hashed to a row of its own, or (``block``) 17 consecutive
    rows from one hashed row, with a check of their own each. ``slot_B``: only each
    stream's slot ``slot_B`` (S = 1; cm.nibbles), the same rows and checks."""
    if slot_B is None:
        slot_1S = jnp.arange(SLOTS, dtype=jnp.uint32)[None, :]
    else:
        slot_1S = slot_B.astype(jnp.uint32)[:, None]  # (B, 1)
    v_BCS = _fmix(hash_BC[:, :, None] + (slot_1S * jnp.uint32(_GOLDEN))[:, None, :])
    check_BCS = (v_BCS & jnp.uint32(0xFFFF)) | jnp.uint32(1)
    if block:  # one memory run per context: 17 x 64 bytes, not 17 cache misses
        first_BC = _fmix(hash_BC) >> (32 - bits)  # slot 0's row
        run_BCS = first_BC[:, :, None] + slot_1S[:, None, :]
        return (run_BCS & jnp.uint32(2**bits - 1)).astype(jnp.int32), check_BCS
    return (v_BCS >> (32 - bits)).astype(jnp.int32), check_BCS


def advance(window_BW, words_B3, x_B):
    """The window and word hashes (the word so far, the one before, the one before that:
    (B, 3)) once byte ``x_B`` has been seen."""
    window_BW = jnp.concatenate([window_BW[:, 1:], x_B[:, None]], axis=1)
    return window_BW, advance_words(words_B3, x_B)


def advance_record(record_B, window_BW, x_B):
    """The record length: the distance back to the last occurrence of this byte, if that
    distance repeats the previous one (a crude detector of lines and fixed records)."""
    same_BW = window_BW == x_B[:, None]  # before the window moves on
    distance_W = jnp.arange(WINDOW, 0, -1, dtype=jnp.int32)
    last_B = jnp.max(jnp.where(same_BW, -distance_W[None, :], -WINDOW - 1), axis=1) * -1
    found_B = last_B <= WINDOW
    return jnp.where(found_B & (last_B >= 2), last_B, record_B)
