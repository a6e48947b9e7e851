"""The online learner: a seeded fresh model and one compiled step per byte.

``step(x_B, mask_B)`` trains on the bytes ``x_B`` that were just coded under the last
prediction (one optimizer step on their mean loss), appends them to the context and
returns the prediction for the next bytes. Encoder and decoder call the same compiled
program with the same inputs, which is what makes their probabilities bit-identical.

The weights are one flat float32 vector, so the optimizer update is a handful of fused
vector ops rather than a few per weight array (XLA's CPU runtime pays about 1 us per
op, which dominates a small model's step). The whole state (weights, optimizer state,
context) lives in one flat buffer per dtype, unpacked inside the step with static
slices and donated back to XLA on every call. A model's big hashed table, if it has
one, is a buffer of its own (donated too, so its sparse update happens in place).
Compiled programs are cached per (config, streams): a process that codes many inputs
compiles once.
"""

from __future__ import annotations

import functools
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.flatten_util import ravel_pytree

from onlinezip import runtime
from onlinezip.config import Config, OptimizerConfig
from onlinezip.models import build_model
from onlinezip.probs import coder_probs


class FlatPacker:
    """Packs a pytree into one 1-D buffer per dtype and back (traceable)."""

    def __init__(self, tree: Any):
        leaves, self.treedef = jax.tree.flatten(tree)
        self.dtypes = sorted({str(leaf.dtype) for leaf in leaves})
        self.slots = []  # per leaf: (buffer index, offset, shape)
        sizes = dict.fromkeys(self.dtypes, 0)
        for leaf in leaves:
            dtype = str(leaf.dtype)
            self.slots.append((self.dtypes.index(dtype), sizes[dtype], leaf.shape))
            sizes[dtype] += leaf.size

    def pack(self, tree: Any) -> tuple[jax.Array, ...]:
        leaves = jax.tree.leaves(tree)
        return tuple(
            jnp.concatenate([jnp.ravel(x) for x in leaves if str(x.dtype) == dtype])
            for dtype in self.dtypes
        )

    def unpack(self, buffers: tuple[jax.Array, ...]) -> Any:
        leaves = [
            jax.lax.dynamic_slice_in_dim(buffers[i], offset, int(np.prod(shape))).reshape(shape)
            for i, offset, shape in self.slots
        ]
        return jax.tree.unflatten(self.treedef, leaves)


def sparse_sgd(
    table_RC: jax.Array,
    idx_BK: jax.Array,
    grad_BKD: jax.Array,
    mask_B: jax.Array,
    cfg: OptimizerConfig,
) -> jax.Array:
    """SGD on the looked-up rows only, each at a rate that decays with its update count.

    The count lives in the table's last column (a separate array would make XLA copy
    the table at every step). Repeated rows add their updates, in a fixed order.
    """
    count_BK = table_RC[idx_BK, -1]
    scale_BK = jnp.maximum(1.0 / (1.0 + cfg.row_decay * count_BK), cfg.row_min_scale)
    delta_BKD = -cfg.row_learning_rate * scale_BK[..., None] * grad_BKD
    seen_BK1 = jnp.broadcast_to(mask_B[:, None, None], (*idx_BK.shape, 1))
    update_BKC = jnp.concatenate([delta_BKD, seen_BK1], axis=-1)
    return table_RC.at[idx_BK].add(update_BKC)


def build_optimizer(cfg: OptimizerConfig) -> optax.GradientTransformation:
    if cfg.name == "sgd":
        opt = optax.sgd(cfg.learning_rate, momentum=cfg.momentum or None)
    else:
        opt = optax.adam(cfg.learning_rate, b1=cfg.b1, b2=cfg.b2, eps=cfg.eps)
    if cfg.grad_clip > 0:
        opt = optax.chain(optax.clip_by_global_norm(cfg.grad_clip), opt)
    return opt


class Programs:
    """The two compiled programs of one (config, streams) and the initial state."""

    def __init__(self, config: Config, streams: int):
        runtime.ensure_backend()
        self.config = config
        self.model = build_model(config.model)
        self.optimizer = build_optimizer(config.optimizer)
        root_key = jax.random.key(config.run.seed)
        init_key = jax.random.fold_in(root_key, 0)  # named use of the seed: model weights
        params, ctx = jax.jit(self.model.init, static_argnums=1)(init_key, streams)
        weights_P, self.unravel = ravel_pytree(params)  # (P,) float32
        state = (weights_P, self.optimizer.init(weights_P), ctx)
        self.num_parameters = int(weights_P.size)
        self.packer = FlatPacker(state)
        buffers = (*jax.jit(self.packer.pack)(state), self.model.init_table())
        self.initial = tuple(np.asarray(b) for b in buffers)  # host copy: steps donate
        x_B = jax.ShapeDtypeStruct((streams,), jnp.int32)
        mask_B = jax.ShapeDtypeStruct((streams,), jnp.float32)
        self.predict = jax.jit(self.predict_fn).lower(buffers).compile()
        self.step = jax.jit(self.step_fn, donate_argnums=0).lower(buffers, x_B, mask_B).compile()

    def _probs(self, weights_P: jax.Array, ctx: Any, table: jax.Array) -> jax.Array:
        _, rows = self.model.lookup(table, ctx)
        logits_BV, _ = self.model.logits(self.unravel(weights_P), ctx, rows)
        return coder_probs(logits_BV, self.config.run.prob_floor)

    def predict_fn(self, buffers: tuple) -> jax.Array:
        weights_P, _, ctx = self.packer.unpack(buffers[:-1])
        return self._probs(weights_P, ctx, buffers[-1])

    def step_fn(self, buffers: tuple, x_B: jax.Array, mask_B: jax.Array):
        weights_P, opt_state, ctx = self.packer.unpack(buffers[:-1])
        table = buffers[-1]
        idx, rows = self.model.lookup(table, ctx)

        def loss_fn(w_P, rows):
            logits_BV, aux = self.model.logits(self.unravel(w_P), ctx, rows)
            nll_B = optax.softmax_cross_entropy_with_integer_labels(logits_BV, x_B)
            return jnp.sum(nll_B * mask_B) / jnp.maximum(jnp.sum(mask_B), 1.0), aux

        grad_fn = jax.value_and_grad(loss_fn, argnums=(0, 1), has_aux=True)
        (loss, aux), (grad_P, grad_rows) = grad_fn(weights_P, rows)
        updates_P, new_opt_state = self.optimizer.update(grad_P, opt_state, weights_P)
        # A non-finite loss or update is skipped, identically on both sides.
        finite = jnp.isfinite(loss) & jnp.all(jnp.isfinite(updates_P))
        weights_P = jnp.where(finite, weights_P + updates_P, weights_P)
        opt_state = jax.tree.map(
            lambda new, old: jnp.where(finite, new, old), new_opt_state, opt_state
        )
        if self.model.sparse:
            row_mask_B = jnp.where(finite, mask_B, 0.0)
            safe_grad = jnp.where(finite, grad_rows, 0.0)
            table = sparse_sgd(table, idx, safe_grad, row_mask_B, self.config.optimizer)
        ctx = self.model.advance(ctx, aux, x_B)
        probs_BV = self._probs(weights_P, ctx, table)
        return (*self.packer.pack((weights_P, opt_state, ctx)), table), probs_BV


@functools.lru_cache(maxsize=8)
def programs(config: Config, streams: int) -> Programs:
    return Programs(config, streams)


class Learner:
    """A fresh model + optimizer for ``streams`` lockstep streams, ready to step."""

    def __init__(self, config: Config, streams: int):
        self.programs = programs(config, streams)
        self.num_parameters = self.programs.num_parameters
        # A fresh copy: the step donates (overwrites) its input buffers.
        self._buffers = tuple(jnp.array(b, copy=True) for b in self.programs.initial)

    def first_probs(self) -> np.ndarray:
        """p_0 (B, 256): the fresh model's prediction for the first byte of each stream."""
        return np.asarray(self.programs.predict(self._buffers))

    def step(self, x_B: np.ndarray, mask_B: np.ndarray) -> np.ndarray:
        """Train on the coded bytes ``x_B`` (streams with mask 0 are ignored); next probs."""
        self._buffers, probs_BV = self.programs.step(self._buffers, x_B, mask_B)
        return np.asarray(probs_BV)

    def params(self) -> Any:
        """The current weights as the model's pytree."""
        return self.programs.unravel(self.programs.packer.unpack(self._buffers[:-1])[0])
