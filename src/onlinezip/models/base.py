"""What models without a sparsely-trained table share."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp


class DenseModel:
    """The table part of the ``ByteModel`` protocol, for models that have no table."""

    sparse = False

    def init_table(self) -> jax.Array:
        return jnp.zeros((0, 1), jnp.float32)

    def lookup(self, table: jax.Array, ctx: Any) -> tuple[jax.Array, Any]:
        return jnp.zeros((0,), jnp.int32), ()
