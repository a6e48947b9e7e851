"""Logistic mixing, in integers: stretch the inputs, weigh them, squash the sum.

A mixer has S weight sets of N weights (int32, 1.0 = 2**16). For every node a small
context selects a set; the node's output is ``squash(sum_i x_i * w_i)`` with the inputs
x_i in stretch units. Training is one gradient step of coding cost per coded bit:
``w_i += x_i * (bit - p) * rate``, applied along the 8 nodes a byte took. Updates of
several streams are added (integer sums do not depend on their order).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from onlinezip.models.cm.squash import LOGIT_MAX, squash

WEIGHT_ONE = 1 << 16
WEIGHT_MAX = 8 * WEIGHT_ONE  # |w| <= 8: with |x| < 2**11 a product fits in int32


def init(sets: int, inputs: int, weight: float) -> jax.Array:
    """(S, N) int32: every weight ``weight`` (in units of 1.0)."""
    return jnp.full((sets, inputs), int(weight * WEIGHT_ONE), jnp.int32)


def dot(weights_SN: jax.Array, x_BMN: jax.Array, sel_BM: jax.Array, w_BMN=None) -> jax.Array:
    """(B, M) int32 mixed logits of M nodes' inputs under their selected weight sets
    (``w_BMN``: those sets, where the caller has them without a gather)."""
    if w_BMN is None:
        w_BMN = weights_SN[sel_BM]
    return jnp.sum((x_BMN * w_BMN) >> 16, axis=-1)


def predict(weights_SN, x_BMN, sel_BM, w_BMN=None) -> tuple[jax.Array, jax.Array]:
    """(logit_BM clipped to the stretch range, p_BM 12-bit) of every node."""
    logit_BM = jnp.clip(dot(weights_SN, x_BMN, sel_BM, w_BMN), -LOGIT_MAX, LOGIT_MAX)
    return logit_BM, squash(logit_BM)


def train(weights_SN, x_BKN, sel_BK, p_BK, bit_BK, rate: int, mask_B) -> jax.Array:
    """The weights after one step on the K coded nodes of each stream (mask 0: none).
    ``rate``: the step size, in units of 2**-16 per unit of error (12-bit) times input."""
    err_BK = ((bit_BK << 12) - p_BK) * rate * mask_B.astype(jnp.int32)[:, None]
    old_BKN = weights_SN[sel_BK]
    new_BKN = jnp.clip(old_BKN + ((x_BKN * err_BK[..., None]) >> 16), -WEIGHT_MAX, WEIGHT_MAX)
    return weights_SN.at[sel_BK].add(new_BKN - old_BKN)
