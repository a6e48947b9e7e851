"""A hashed-context log-linear model: learns from the first bytes it sees.

For each order k = 1..K the last k bytes are hashed to a row of a big table (2**bits
rows of width D); optionally so are up to two word contexts (the letters of the word so
far, and that with the previous word). The prediction is

    logits_BV = (sum_k gate_k * row_k) @ W + b + O1[last byte] + sum_j Oj[context j]

where O1 is an exact 256 x 256 order-1 logit table and, with ``direct_orders`` > 1, the
Oj are logit rows for the contexts of orders j = 2..direct_orders, hashed into one
table. W, b and the gates are dense weights trained by the configured optimizer. The
hashed tables and O1 are trained sparsely by the learner (see ``learner.sparse_sgd``):
only the rows a step looked up change, each at a rate that decays with the number of
times that row was updated, kept in an extra last column. A step costs
O(K*D + D*256 + J*256) whatever the tables' sizes.
"""

from __future__ import annotations

from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from onlinezip.config import ModelConfig

_GOLDEN = 0x9E3779B1  # per-order salt
_FNV = 0x01000193  # FNV-1a prime


def _fmix(h: jax.Array) -> jax.Array:
    """murmur3's 32-bit finaliser: every input bit affects every output bit."""
    h = h ^ (h >> 16)
    h = h * jnp.uint32(0x85EBCA6B)
    h = h ^ (h >> 13)
    h = h * jnp.uint32(0xC2B2AE35)
    return h ^ (h >> 16)


def _row(h_B: jax.Array, salt: int, bits: int) -> jax.Array:
    salted_B = _fmix(h_B + jnp.uint32((salt * _GOLDEN) & 0xFFFFFFFF))
    return (salted_B >> (32 - bits)).astype(jnp.int32)


def context_rows(window_BK: jax.Array, bits: int) -> jax.Array:
    """(B, K) int32 table rows of the contexts of the last 1..K bytes (integer ops only)."""
    orders = window_BK.shape[1]
    h_B = jnp.zeros(window_BK.shape[:1], jnp.uint32)
    rows = []
    for k in range(1, orders + 1):
        h_B = (h_B ^ window_BK[:, -k].astype(jnp.uint32)) * jnp.uint32(_FNV)
        rows.append(_row(h_B, k, bits))
    return jnp.stack(rows, axis=1)


def direct_rows(window_BK: jax.Array, orders: int, bits: int) -> jax.Array:
    """(B, orders - 1) rows of the logit-row table for the contexts of orders 2..orders."""
    h_B = jnp.zeros(window_BK.shape[:1], jnp.uint32)
    rows = []
    for k in range(1, orders + 1):
        h_B = (h_B ^ window_BK[:, -k].astype(jnp.uint32)) * jnp.uint32(_FNV)
        if k >= 2:
            rows.append(_row(h_B, 64 + k, bits))  # salts apart from the embedding rows'
    return jnp.stack(rows, axis=1)


def word_rows(words_B2: jax.Array, orders: int, count: int, bits: int) -> jax.Array:
    """(B, count) rows: the word so far; then it hashed with the previous word."""
    word_B, prev_B = words_B2[:, 0], words_B2[:, 1]
    rows = [_row(word_B, orders + 1, bits)]
    if count == 2:
        rows.append(_row((prev_B * jnp.uint32(_FNV)) ^ word_B, orders + 2, bits))
    return jnp.stack(rows, axis=1)


def advance_words(words_BK: jax.Array, x_B: jax.Array) -> jax.Array:
    """Letters (case folded) extend the current word; anything else ends it. ``words_BK``:
    the word so far, then the K - 1 words before it, latest first (an ended word moves
    them on by one)."""
    word_B = words_BK[:, 0]
    x_B = x_B.astype(jnp.uint32)
    letter_B = ((x_B >= 65) & (x_B <= 90)) | ((x_B >= 97) & (x_B <= 122))
    extended_B = (word_B ^ (x_B | jnp.uint32(32))) * jnp.uint32(_FNV)
    ended_B = (word_B != 0) & ~letter_B
    new_word_B = jnp.where(letter_B, extended_B, jnp.uint32(0))
    before_BJ = jnp.where(ended_B[:, None], words_BK[:, :-1], words_BK[:, 1:])
    return jnp.concatenate([new_word_B[:, None], before_BJ], axis=1)


class HashCtxHead(nn.Module):
    cfg: ModelConfig

    @nn.compact
    def __call__(self, rows_BKD: jax.Array, order1_BV: jax.Array) -> jax.Array:
        contexts = self.cfg.orders + self.cfg.word_orders
        gates_K = self.param("gates", nn.initializers.ones, (contexts,))
        mixed_BD = jnp.einsum("bkd,k->bd", rows_BKD, gates_K)
        return nn.Dense(256, name="out")(mixed_BD) + order1_BV  # (B, 256)


class HashCtxModel:
    """ctx = the last K bytes of each stream (B, K), and with word contexts, the hashes
    of the current and the previous word after them (B, K + 2).

    Tables: hashed rows (2**bits, D + 1), order-1 logits (256, 256 + 1) and, with
    ``direct_orders`` > 1, hashed logit rows (2**direct_bits, 256 + 1); the last column
    of each counts the row's updates.
    """

    def __init__(self, cfg: ModelConfig):
        self.cfg = cfg
        self.net = HashCtxHead(cfg)

    def init(self, key: jax.Array, batch: int) -> tuple[Any, Any]:
        window_BK = jnp.zeros((batch, self.cfg.orders), jnp.int32)
        contexts = self.cfg.orders + self.cfg.word_orders
        rows_BKD = jnp.zeros((batch, contexts, self.cfg.hidden_dim), jnp.float32)
        params = self.net.init(key, rows_BKD, jnp.zeros((batch, 256), jnp.float32))["params"]
        if self.cfg.word_orders:
            return params, jnp.zeros((batch, self.cfg.orders + 2), jnp.int32)
        return params, window_BK

    def init_tables(self) -> tuple:
        """All rows start at zero (no opinion)."""
        hashed_RC = jnp.zeros((2**self.cfg.table_bits, self.cfg.hidden_dim + 1), jnp.float32)
        tables = (hashed_RC, jnp.zeros((256, 256 + 1), jnp.float32))
        if self.cfg.direct_orders > 1:
            tables = (*tables, jnp.zeros((2**self.cfg.direct_bits, 256 + 1), jnp.float32))
        return tables

    def lookup(self, tables: tuple, ctx: Any) -> tuple[tuple, tuple]:
        hashed_RC, order1_VC, *direct = tables
        window_BK, words_B2 = self._split(ctx)
        idx_BK = context_rows(window_BK, self.cfg.table_bits)  # (B, K)
        if self.cfg.word_orders:
            words = word_rows(words_B2, self.cfg.orders, self.cfg.word_orders, self.cfg.table_bits)
            idx_BK = jnp.concatenate([idx_BK, words], axis=1)  # (B, K + W)
        last_B = window_BK[:, -1]
        idx, rows = (idx_BK, last_B), (hashed_RC[idx_BK, :-1], order1_VC[last_B, :-1])
        if direct:
            idx_BJ = direct_rows(window_BK, self.cfg.direct_orders, self.cfg.direct_bits)
            idx, rows = (*idx, idx_BJ), (*rows, direct[0][idx_BJ, :-1])  # (B, J, 256)
        return idx, rows

    def logits(self, params: Any, ctx: Any, rows: Any) -> tuple[jax.Array, Any]:
        rows_BKD, order1_BV, *direct = rows
        if direct:
            order1_BV = order1_BV + direct[0].sum(axis=1)
        return self.net.apply({"params": params}, rows_BKD, order1_BV), None

    def advance(self, ctx: Any, aux: Any, x_B: jax.Array) -> Any:
        window_BK, words_B2 = self._split(ctx)
        window_BK = jnp.concatenate([window_BK[:, 1:], x_B.astype(jnp.int32)[:, None]], axis=1)
        if not self.cfg.word_orders:
            return window_BK
        words_B2 = jax.lax.bitcast_convert_type(advance_words(words_B2, x_B), jnp.int32)
        return jnp.concatenate([window_BK, words_B2], axis=1)

    def _split(self, ctx: jax.Array) -> tuple[jax.Array, jax.Array | None]:
        """(window_BK, words_B2 as uint32, or None): with word contexts, the word hashes
        ride in ctx's last two int32 columns (one state buffer per dtype is cheaper)."""
        if not self.cfg.word_orders:
            return ctx, None
        words_B2 = jax.lax.bitcast_convert_type(ctx[:, self.cfg.orders :], jnp.uint32)
        return ctx[:, : self.cfg.orders], words_B2
