"""A stacked LSTM or GRU that reads one byte per step (truncated BPTT of one step)."""

from __future__ import annotations

from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from onlinezip.config import ModelConfig
from onlinezip.models.base import DenseModel


class LSTMCell(nn.Module):
    """An LSTM cell with its four gates in one matrix product (few ops per step)."""

    hidden: int

    @nn.compact
    def __call__(self, carry: tuple, x_BI: jax.Array) -> tuple[tuple, jax.Array]:
        c_BH, h_BH = carry
        z_B4H = nn.Dense(4 * self.hidden, name="gates")(jnp.concatenate([x_BI, h_BH], -1))
        i_BH, f_BH, g_BH, o_BH = jnp.split(z_B4H, 4, axis=-1)
        c_BH = nn.sigmoid(f_BH + 1.0) * c_BH + nn.sigmoid(i_BH) * jnp.tanh(g_BH)
        h_BH = nn.sigmoid(o_BH) * jnp.tanh(c_BH)
        return (c_BH, h_BH), h_BH


class GRUCell(nn.Module):
    """A GRU cell (Cho et al.) with one matrix product for the input and one for the state."""

    hidden: int

    @nn.compact
    def __call__(self, h_BH: jax.Array, x_BI: jax.Array) -> tuple[jax.Array, jax.Array]:
        xr_BH, xz_BH, xn_BH = jnp.split(nn.Dense(3 * self.hidden, name="input")(x_BI), 3, -1)
        hr_BH, hz_BH, hn_BH = jnp.split(nn.Dense(3 * self.hidden, name="state")(h_BH), 3, -1)
        r_BH, z_BH = nn.sigmoid(xr_BH + hr_BH), nn.sigmoid(xz_BH + hz_BH)
        n_BH = jnp.tanh(xn_BH + r_BH * hn_BH)
        h_BH = (1.0 - z_BH) * n_BH + z_BH * h_BH
        return h_BH, h_BH


class RecurrentLM(nn.Module):
    cfg: ModelConfig

    @nn.compact
    def __call__(self, carries: tuple, token_B: jax.Array) -> tuple[jax.Array, tuple]:
        cell_cls = LSTMCell if self.cfg.family == "lstm" else GRUCell
        x_BE = nn.Embed(256, self.cfg.embed_dim)(token_B)  # (B, E)
        new_carries = []
        for layer, carry in enumerate(carries):
            carry, x_BE = cell_cls(self.cfg.hidden_dim, name=f"cell{layer}")(carry, x_BE)
            new_carries.append(carry)
        logits_BV = nn.Dense(256, name="head")(x_BE)  # (B, 256)
        return logits_BV, tuple(new_carries)


class RecurrentModel(DenseModel):
    """ctx = (carries per layer, the last byte seen (B,)); aux = the carries after it."""

    def __init__(self, cfg: ModelConfig):
        self.cfg = cfg
        self.net = RecurrentLM(cfg)

    def _zero_carries(self, batch: int) -> tuple:
        h_BH = jnp.zeros((batch, self.cfg.hidden_dim), jnp.float32)
        one = (h_BH, h_BH) if self.cfg.family == "lstm" else h_BH
        return tuple(one for _ in range(self.cfg.num_layers))

    def init(self, key: jax.Array, batch: int) -> tuple[Any, Any]:
        ctx = (self._zero_carries(batch), jnp.zeros((batch,), jnp.int32))
        params = self.net.init(key, *ctx)["params"]
        return params, ctx

    def logits(self, params: Any, ctx: Any, rows: Any = ()) -> tuple[jax.Array, Any]:
        carries, token_B = ctx
        return self.net.apply({"params": params}, carries, token_B)

    def advance(self, ctx: Any, aux: Any, x_B: jax.Array) -> Any:
        return (jax.lax.stop_gradient(aux), x_B.astype(jnp.int32))
