"""Adaptive probability maps (SSE): a probability refined by a small context.

For each context an APM holds 33 probabilities (16-bit) at evenly spaced points of the
input's stretch; the output interpolates between the two points around the input, and
training moves the nearer point towards the coded bit by 1/2**rate of the way.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from onlinezip.models.cm.squash import squash_np, stretch

POINTS = 33


def init(contexts: int) -> jax.Array:
    """(contexts * 33,) int32: each context starts as the identity map."""
    row = squash_np(np.arange(POINTS) * 128 - 2048).astype(np.int32) * 16
    return jnp.asarray(np.tile(row, contexts))


def refine(table: jax.Array, p_BM: jax.Array, ctx_BM: jax.Array) -> tuple[jax.Array, jax.Array]:
    """(p_BM refined, 12-bit; index_BM of the nearer point, for ``train``)."""
    s_BM = stretch(p_BM) + 2048  # 1..4095
    lo_BM, w_BM = s_BM >> 7, s_BM & 127
    base_BM = ctx_BM * POINTS + lo_BM
    p_BM = (table[base_BM] * (128 - w_BM) + table[base_BM + 1] * w_BM) >> 11
    return jnp.clip(p_BM, 1, 4095), base_BM + (w_BM >> 6)


def train(table, index_BK, bit_BK, rate: int, mask_B) -> jax.Array:
    old_BK = table[index_BK]
    delta_BK = (((bit_BK << 16) + (bit_BK << rate) - bit_BK - bit_BK) - old_BK) >> rate
    return table.at[index_BK].add(delta_BK * mask_B.astype(jnp.int32)[:, None])
