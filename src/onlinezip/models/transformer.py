"""A pre-LayerNorm causal Transformer over a sliding window of the last ``context`` bytes."""

from __future__ import annotations

from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from onlinezip.config import ModelConfig
from onlinezip.models.base import DenseModel


class Block(nn.Module):
    cfg: ModelConfig
    last_only: bool  # the final block computes the last position only

    @nn.compact
    def __call__(self, x_BTH: jax.Array) -> jax.Array:
        h = self.cfg.hidden_dim
        y_BTH = nn.LayerNorm(name="ln1")(x_BTH)
        attend = nn.MultiHeadDotProductAttention(self.cfg.num_heads, name="attn")
        if self.last_only:
            x_BTH = x_BTH[:, -1:] + attend(y_BTH[:, -1:], y_BTH)  # (B, 1, H)
        else:
            causal_BNTT = nn.make_causal_mask(x_BTH[..., 0])
            x_BTH = x_BTH + attend(y_BTH, y_BTH, mask=causal_BNTT)
        y_BTH = nn.LayerNorm(name="ln2")(x_BTH)
        y_BTH = nn.Dense(self.cfg.mlp_ratio * h, name="up")(y_BTH)
        y_BTH = nn.Dense(h, name="down")(nn.gelu(y_BTH))
        return x_BTH + y_BTH


class TransformerLM(nn.Module):
    cfg: ModelConfig

    @nn.compact
    def __call__(self, window_BT: jax.Array) -> jax.Array:
        cfg = self.cfg
        pos_TH = self.param("pos", nn.initializers.normal(0.02), (cfg.context, cfg.hidden_dim))
        x_BTH = nn.Embed(256, cfg.hidden_dim, name="embed")(window_BT) + pos_TH[None]
        for layer in range(cfg.num_layers):
            last = layer == cfg.num_layers - 1
            x_BTH = Block(cfg, last_only=last, name=f"block{layer}")(x_BTH)
        x_BH = nn.LayerNorm(name="ln_f")(x_BTH[:, -1])
        return nn.Dense(256, name="head")(x_BH)  # (B, 256)


class TransformerModel(DenseModel):
    """ctx = the last ``context`` bytes of each stream (B, T), zeros before the start."""

    def __init__(self, cfg: ModelConfig):
        self.cfg = cfg
        self.net = TransformerLM(cfg)

    def init(self, key: jax.Array, batch: int) -> tuple[Any, Any]:
        window_BT = jnp.zeros((batch, self.cfg.context), jnp.int32)
        params = self.net.init(key, window_BT)["params"]
        return params, window_BT

    def logits(self, params: Any, ctx: Any, rows: Any = ()) -> tuple[jax.Array, Any]:
        return self.net.apply({"params": params}, ctx), None

    def advance(self, ctx: Any, aux: Any, x_B: jax.Array) -> Any:
        return jnp.concatenate([ctx[:, 1:], x_B.astype(jnp.int32)[:, None]], axis=1)
