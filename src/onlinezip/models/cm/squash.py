"""The logistic domain in integers: ``squash`` and ``stretch`` on 12-bit probabilities.

Every probability inside the context mixer is an integer p in 0..4095 (p / 4096 is the
probability of a 1 bit), and every "logit" an integer in -2047..2047 (units of 1/256
nat). Integer arithmetic gives the same bits on every CPU and instruction set, so the
mixer needs none of the float pinning the neural models do.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

# 4096 / (1 + exp(-x / 256)) at x = -2048, -1920, ..., 2048, rounded: written out, so the
# table does not depend on any libm. Values between are interpolated linearly.
SQUASH_POINTS = (
    1, 2, 4, 6, 10, 17, 27, 45, 74, 120, 194, 311, 488, 747, 1102, 1546, 2048,
    2550, 2994, 3349, 3608, 3785, 3902, 3976, 4022, 4051, 4069, 4079, 4086, 4090, 4092,
    4094, 4095,
)  # fmt: skip
LOGIT_MAX = 2047


def squash_np(d: np.ndarray) -> np.ndarray:
    """Integer logistic: stretch units -> 12-bit probability (numpy, for tables)."""
    points = np.asarray(SQUASH_POINTS, np.int64)
    d = np.clip(np.asarray(d, np.int64), -LOGIT_MAX, LOGIT_MAX)
    i, w = (d + 2048) >> 7, (d + 2048) & 127
    return ((points[i] * (128 - w) + points[i + 1] * w + 64) >> 7).astype(np.int32)


def _stretch_table() -> np.ndarray:
    """stretch(p) for p in 0..4095: the inverse of squash (the smallest d with squash(d)
    >= p), so that squash(stretch(p)) is about p."""
    table = np.full(4096, LOGIT_MAX, np.int32)
    values = squash_np(np.arange(-LOGIT_MAX, LOGIT_MAX + 1))
    start = 0
    for d, v in zip(range(-LOGIT_MAX, LOGIT_MAX + 1), values, strict=True):
        table[start : v + 1] = d
        start = max(start, int(v) + 1)
    return table


STRETCH_TABLE = _stretch_table()
SQUASH_TABLE = squash_np(np.arange(-2048, 2048))  # index d + 2048


def squash(d: jax.Array) -> jax.Array:
    """int32 stretch units (any range) -> int32 probability 1..4095."""
    d = jnp.clip(d, -LOGIT_MAX, LOGIT_MAX)
    return jnp.asarray(SQUASH_TABLE)[d + 2048]


def stretch(p: jax.Array) -> jax.Array:
    """int32 probability 0..4095 -> int32 stretch units -2047..2047."""
    return jnp.asarray(STRETCH_TABLE)[p]
