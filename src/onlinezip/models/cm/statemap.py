"""Indirect counts: a counter's state mapped to a probability learned across contexts.

A slot's counter says "p after n updates"; how far to trust that differs by context
kind and by n (three 1s in a row in an order-6 context mean more than in an order-1
one). A state map keeps, per context kind, a 16-bit probability for every (count bucket,
probability bucket) pair: 8 x 64 states. The mixer gets it beside the counter's own
probability, so it sees both the slot's statistics and how such statistics have turned
out before (paq's indirect modelling, on the counter's state instead of a bit history).
Training: the state each coded node was in moves its probability 1/2**RATE of the way
towards that node's bit; several updates of one state in a step are added (integer
sums: their order does not matter, and each moves less than 1/2**RATE of what is left,
so 16 at once stay in range).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from onlinezip.models.cm import counters
from onlinezip.models.cm.squash import squash_np, stretch

COUNT_BUCKETS = 8
P_BUCKETS = 64
STATES = COUNT_BUCKETS * P_BUCKETS
# counts 0, 1, 2, 3, 4-5, 6-9, 10-29, 30+
_EDGES = np.asarray([1, 2, 3, 4, 6, 10, 30])
_COUNT_BUCKET = np.searchsorted(_EDGES, np.arange(counters.MAX_LIMIT + 1), "right").astype(np.int32)
RATE = 7


def init(kinds: int, history: int = 0) -> jax.Array:
    """(kinds * STATES * 2**history,) int32 16-bit probabilities, each its bucket's
    centre at first."""
    centre = (np.arange(P_BUCKETS) * 64 + 32) - 2048  # stretch units
    row = np.tile(squash_np(centre).astype(np.int32) * 16, COUNT_BUCKETS << history)
    return jnp.asarray(np.tile(row, kinds))


def lookup(table_L, node_BCN, hist_BCN=None, history: int = 0) -> tuple[jax.Array, jax.Array]:
    """(stretch inputs x_BCN, state index_BCN) for (B, C, N) slot counters (and their
    last ``history`` bits, ``hist_BCN``: a state is then count x history x probability)."""
    kinds = node_BCN.shape[1]
    st_BCN = stretch(counters.probability(node_BCN))
    n_BCN = jnp.asarray(_COUNT_BUCKET)[counters.count(node_BCN)]
    if history:
        n_BCN = (n_BCN << history) | hist_BCN
    kind_C = jnp.arange(kinds, dtype=jnp.int32) * (STATES << history)
    index_BCN = kind_C[None, :, None] + n_BCN * P_BUCKETS + ((st_BCN + 2048) >> 6)
    p_BCN = jnp.clip(table_L[index_BCN] >> 4, 1, 4095)
    return stretch(p_BCN), index_BCN


def train(table_L, index_BKC, bit_BK, mask_B) -> jax.Array:
    """Every state a coded node used learns that node's bit (updates of one state in one
    step are added: integer sums, so their order does not matter)."""
    target_BK1 = (bit_BK[..., None] << 16) - bit_BK[..., None]  # 0 or 65535
    delta = (target_BK1 - table_L[index_BKC]) >> RATE
    keep = (mask_B > 0)[:, None, None]
    return table_L.at[index_BKC].add(jnp.where(keep, delta, 0))
