"""Adaptive bit counters: a probability and a count, packed in one uint32.

A counter is ``p << 10 | n``: p (22 bits) estimates the probability of a 1 bit, n (10
bits) counts the updates so far, capped at a limit. An update moves p towards the bit by
1 / (n + 1.5) of the way: the running frequency at first, then (at the cap) an
exponential moving average that keeps adapting. Integer arithmetic throughout.

With a history of k bits (``cm.history``, counts then at most 63), bits 6..9 of the count
field hold the counter's last k bits instead (the newest lowest): recency that p alone
smooths away, for the state map to read. ``split`` takes them out before any other use.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

P_BITS = 22
COUNT_BITS = 10
MAX_LIMIT = (1 << COUNT_BITS) - 1
FRESH = np.uint32((1 << (P_BITS - 1)) << COUNT_BITS)  # p = 1/2, n = 0
# 2 / (2n + 3) = 1 / (n + 1.5) in units of 2**-15, for every count
HISTORY_SHIFT = 6
HISTORY_MASK = np.uint32(15 << HISTORY_SHIFT)
_RATE = np.asarray([65536 // (2 * n + 3) for n in range(MAX_LIMIT + 1)], np.int32)


def probability(c: jax.Array) -> jax.Array:
    """uint32 counters -> int32 12-bit probabilities of a 1 bit (0..4095)."""
    return (c >> (P_BITS + COUNT_BITS - 12)).astype(jnp.int32)


def count(c: jax.Array) -> jax.Array:
    return (c & MAX_LIMIT).astype(jnp.int32)


def split(c: jax.Array, history: int) -> tuple[jax.Array, jax.Array]:
    """(the counters without their history bits, the history: int32 0..2**history - 1)."""
    if not history:
        return c, jnp.zeros(c.shape, jnp.int32)
    return c & ~HISTORY_MASK, ((c & HISTORY_MASK) >> HISTORY_SHIFT).astype(jnp.int32)


def update(c: jax.Array, bit: jax.Array, limit: int, history: int = 0) -> jax.Array:
    """The counters after seeing ``bit`` (int32 0/1, broadcast against ``c``)."""
    c, hist = split(c, history)
    p = (c >> COUNT_BITS).astype(jnp.int32)
    n = count(c)
    target = bit.astype(jnp.int32) << P_BITS
    # |target - p| >> 7 < 2**15 and the rate < 2**15: the product fits in int32
    p = p + ((((target - p) >> 7) * jnp.asarray(_RATE)[n]) >> 8)
    p = jnp.clip(p, 1 << 8, (1 << P_BITS) - (1 << 8))
    n = jnp.minimum(n + 1, limit)
    out = (p.astype(jnp.uint32) << COUNT_BITS) | n.astype(jnp.uint32)
    if history:
        hist = ((hist << 1) | bit.astype(jnp.int32)) & ((1 << history) - 1)
        out = out | (hist.astype(jnp.uint32) << HISTORY_SHIFT)
    return out
