"""From logits to probabilities a range coder can always use."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np


def coder_probs(logits_BV: jax.Array, floor: float) -> jax.Array:
    """Softmax mixed with ``floor`` of uniform mass: every entry > 0, every row finite.

    A row that is not finite (NaN weights after a too-high learning rate) becomes the
    uniform distribution. This runs inside the compiled step, so encoder and decoder
    fall back identically.
    """
    vocab = logits_BV.shape[-1]
    p_BV = jax.nn.softmax(logits_BV.astype(jnp.float32), axis=-1)
    p_BV = (1.0 - floor) * p_BV + floor / vocab
    ok_B1 = jnp.all(jnp.isfinite(p_BV), axis=-1, keepdims=True)
    return jnp.where(ok_B1, p_BV, jnp.float32(1.0 / vocab))


def code_lengths(probs_NV: np.ndarray, symbols_N: np.ndarray) -> np.ndarray:
    """-log2 p(symbol) in float64, under each row normalised as the coder normalises it."""
    p_NV = probs_NV.astype(np.float64)
    picked_N = p_NV[np.arange(len(symbols_N)), symbols_N]
    return np.log2(p_NV.sum(axis=1)) - np.log2(picked_N)
