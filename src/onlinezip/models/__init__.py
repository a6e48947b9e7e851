"""Byte-level models, built from a ``ModelConfig``.

Every model answers these questions, all pure functions of arrays:
  ``init(key, batch)``            -> (params, ctx): fresh weights and the empty context
  ``init_tables()``               -> tables: sparsely-trained row tables (maybe none)
  ``lookup(tables, ctx)``         -> (idx, rows): per table, the rows this context uses
  ``logits(params, ctx, rows)``   -> (logits_BV, aux): the prediction for the next byte
  ``advance(ctx, aux, x_B)``      -> ctx: the context once byte ``x_B`` has been seen
``ctx`` is whatever the model carries between bytes (a recurrent state, a window of
bytes); ``aux`` is what ``logits`` computed that ``advance`` may reuse. Gradients flow
through ``logits`` only, so one optimizer step trains on exactly one new byte per stream.
Dense models have no tables and look up no rows.
"""

from __future__ import annotations

from typing import Any, Protocol

import jax

from onlinezip.config import ModelConfig
from onlinezip.models.hashctx import HashCtxModel
from onlinezip.models.recurrent import RecurrentModel
from onlinezip.models.transformer import TransformerModel

VOCAB = 256  # tokens are bytes


class ByteModel(Protocol):
    def init(self, key: jax.Array, batch: int) -> tuple[Any, Any]: ...

    def init_tables(self) -> tuple: ...

    def lookup(self, tables: tuple, ctx: Any) -> tuple[tuple, tuple]: ...

    def logits(self, params: Any, ctx: Any, rows: Any) -> tuple[jax.Array, Any]: ...

    def advance(self, ctx: Any, aux: Any, x_B: jax.Array) -> Any: ...


def build_model(cfg: ModelConfig) -> ByteModel:
    if cfg.family == "hashctx":
        return HashCtxModel(cfg)
    if cfg.family in ("lstm", "gru"):
        return RecurrentModel(cfg)
    if cfg.family == "transformer":
        return TransformerModel(cfg)
    raise ValueError(f"unknown model family {cfg.family!r}")  # config.validate prevents this
