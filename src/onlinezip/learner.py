"""The online learner: a seeded fresh model and one compiled step per byte.

``step(x_B, mask_B)`` trains on the bytes ``x_B`` that were just coded under the last
prediction (one optimizer step on their mean loss), appends them to the context and
returns the prediction for the next bytes. Encoder and decoder call the same compiled
program with the same inputs, which is what makes their probabilities bit-identical.

The weights are one flat float32 vector, so the optimizer update is a handful of fused
vector ops rather than a few per weight array (XLA's CPU runtime pays about 1 us per
op, which dominates a small model's step). The whole state (weights, optimizer state,
context) lives in a few flat buffers (big leaves alone, small ones one per dtype),
unpacked inside the step with static splits and donated back to XLA on every call. A
model's sparsely-trained tables, if it has any, are buffers of their own (donated too,
so their updates happen in place).
Compiled programs are cached per (config, streams): a process that codes many inputs
compiles once.
"""

from __future__ import annotations

import functools
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

from onlinezip import runtime
from onlinezip.config import Config, OptimizerConfig
from onlinezip.models import build_model
from onlinezip.probs import code_lengths, coder_probs

RUNTIME_BYTES = 256 << 20  # JAX, XLA and the interpreter, before any state


def _state_bytes(params: Any, tables: tuple) -> int:
    """What a learner's state will occupy: tables, weights, and up to two optimizer moments
    (an upper bound on what compiled programs and their buffers hold)."""
    dense = sum(x.size * x.dtype.itemsize for x in jax.tree.leaves(params))
    return RUNTIME_BYTES + 3 * dense + sum(t.size * t.dtype.itemsize for t in tables)


OWN_BUFFER_SIZE = 16384  # state leaves this big (weights, Adam moments) get their own buffer


class FlatPacker:
    """Packs a pytree into a few 1-D buffers and back (traceable): each leaf of at least
    ``own_buffer_size`` elements gets a buffer of its own, the rest share one per dtype.

    Few buffers keep the per-call cost low; big leaves apart (weights, Adam's moments)
    save copying them into and out of a shared buffer at every step."""

    def __init__(self, tree: Any, own_buffer_size: int | None = None):
        leaves, self.treedef = jax.tree.flatten(tree)
        keys = [
            ("own", n) if own_buffer_size and leaf.size >= own_buffer_size else str(leaf.dtype)
            for n, leaf in enumerate(leaves)
        ]
        self.groups = sorted(set(keys), key=str)
        self.slots = []  # per leaf: (buffer index, offset, shape)
        sizes = dict.fromkeys(self.groups, 0)
        for key, leaf in zip(keys, leaves, strict=True):
            self.slots.append((self.groups.index(key), sizes[key], leaf.shape))
            sizes[key] += leaf.size

    def pack(self, tree: Any) -> tuple[jax.Array, ...]:
        leaves = list(zip(jax.tree.leaves(tree), self.slots, strict=True))
        return tuple(
            jnp.concatenate([jnp.ravel(x) for x, (i, _, _) in leaves if i == b])
            for b in range(len(self.groups))
        )

    def unpack(self, buffers: tuple[jax.Array, ...]) -> Any:
        # jnp.split, not per-leaf slices: its transpose (for gradients with respect to a
        # flat buffer) is one concatenate, where slices would each pad a full-size zero
        # buffer and then add them all up.
        pieces = [
            jnp.split(buffer, [o for i, o, _ in self.slots if i == b and o > 0])
            for b, buffer in enumerate(buffers)
        ]
        cursor = [0] * len(buffers)
        leaves = []
        for i, _, shape in self.slots:
            leaves.append(pieces[i][cursor[i]].reshape(shape))
            cursor[i] += 1
        return jax.tree.unflatten(self.treedef, leaves)


def sparse_sgd(
    table_RC: jax.Array,
    idx_B_: jax.Array,
    grad_B_D: jax.Array,
    mask_B: jax.Array,
    cfg: OptimizerConfig,
) -> jax.Array:
    """SGD on the looked-up rows only, each at a rate that decays with its update count.

    ``idx_B_`` is (B,) or (B, K): the rows each stream looked up; ``grad_B_D`` the loss
    gradient with respect to those rows (without the count column). The count lives in
    the table's last column (a separate array would make XLA copy the table at every
    step). Repeated rows add their updates, in a fixed order.
    """
    count_B_ = table_RC[idx_B_, -1]
    scale_B_ = jnp.maximum(1.0 / (1.0 + cfg.row_decay * count_B_), cfg.row_min_scale)
    delta_B_D = -cfg.row_learning_rate * scale_B_[..., None] * grad_B_D
    mask_B_1 = mask_B.reshape(mask_B.shape + (1,) * idx_B_.ndim)
    seen_B_1 = jnp.broadcast_to(mask_B_1, (*idx_B_.shape, 1))
    return table_RC.at[idx_B_].add(jnp.concatenate([delta_B_D, seen_B_1], axis=-1))


def build_optimizer(cfg: OptimizerConfig) -> optax.GradientTransformation:
    if cfg.name == "sgd":
        opt = optax.sgd(cfg.learning_rate, momentum=cfg.momentum or None)
    else:
        opt = optax.adam(cfg.learning_rate, b1=cfg.b1, b2=cfg.b2, eps=cfg.eps)
    if cfg.grad_clip > 0:
        opt = optax.chain(optax.clip_by_global_norm(cfg.grad_clip), opt)
    return opt


class Programs:
    """The two compiled programs of one (config, streams): ``init`` and ``step``.

    ``init(key) -> (buffers, probs_BV)`` builds the fresh state from the seed and the
    first prediction; ``step(buffers, x_B, mask_B) -> (buffers, probs_BV)`` is one byte.
    Both are lowered from shapes alone and compiled side by side.
    """

    def __init__(self, config: Config, streams: int):
        runtime.ensure_backend()
        self.config, self.streams = config, streams
        self.model = build_model(config.model)
        self.optimizer = build_optimizer(config.optimizer)
        root_key = jax.random.key(config.run.seed)
        self.init_key = jax.random.fold_in(root_key, 0)  # named use of the seed: weights
        params, _ = jax.eval_shape(lambda key: self.model.init(key, streams), self.init_key)
        self.params_packer = FlatPacker(params)  # weights as one (P,) float32 vector
        tables = jax.eval_shape(self.model.init_tables)
        runtime.check_memory(_state_bytes(params, tables), f"the {config.model.family} model")
        self.num_parameters = sum(  # dense weights + table entries (not their count column)
            int(np.prod(x.shape)) for x in jax.tree.leaves(params)
        ) + sum(t.shape[0] * (t.shape[1] - 1) for t in tables)
        state = jax.eval_shape(self._fresh_state, self.init_key)
        self.packer = FlatPacker(state, own_buffer_size=OWN_BUFFER_SIZE)
        self.num_packed = len(self.packer.groups)
        buffers, _ = jax.eval_shape(self.init_fn, self.init_key)
        x_B = jax.ShapeDtypeStruct((streams,), jnp.int32)
        mask_B = jax.ShapeDtypeStruct((streams,), jnp.float32)
        lowered = (
            jax.jit(self.init_fn).lower(self.init_key),
            jax.jit(self.step_fn, donate_argnums=0).lower(buffers, x_B, mask_B),
        )
        with ThreadPoolExecutor(len(lowered)) as pool:  # XLA compiles outside the GIL
            self.init, self.step = pool.map(lambda low: low.compile(), lowered)

    def unravel(self, weights_P: jax.Array) -> Any:
        return self.params_packer.unpack((weights_P,))

    def _fresh_state(self, key: jax.Array) -> tuple:
        params, ctx = self.model.init(key, self.streams)
        (weights_P,) = FlatPacker(params).pack(params)
        return weights_P, self.optimizer.init(weights_P), ctx

    def init_fn(self, key: jax.Array) -> tuple[tuple, jax.Array]:
        weights_P, opt_state, ctx = self._fresh_state(key)
        tables = self.model.init_tables()
        buffers = (*self.packer.pack((weights_P, opt_state, ctx)), *tables)
        return buffers, self._probs(weights_P, ctx, tables)

    def _probs(self, weights_P: jax.Array, ctx: Any, tables: tuple) -> jax.Array:
        _, rows = self.model.lookup(tables, ctx)
        logits_BV, _ = self.model.logits(self.unravel(weights_P), ctx, rows)
        return coder_probs(logits_BV, self.config.run.prob_floor)

    @functools.cached_property
    def frozen_step(self):
        """``(buffers, x_B) -> (buffers, probs_BV)``: the context moves on, the weights
        do not. For analysis only (the NLL of a final, frozen model); never for coding."""

        def frozen_fn(buffers: tuple, x_B: jax.Array):
            weights_P, opt_state, ctx, tables = self._unpack(buffers)
            _, rows = self.model.lookup(tables, ctx)
            _, aux = self.model.logits(self.unravel(weights_P), ctx, rows)
            ctx = self.model.advance(ctx, aux, x_B)
            probs_BV = self._probs(weights_P, ctx, tables)
            return (*self.packer.pack((weights_P, opt_state, ctx)), *tables), probs_BV

        return jax.jit(frozen_fn, donate_argnums=0)  # in place: tables are big

    def _unpack(self, buffers: tuple) -> tuple[Any, Any, Any, tuple]:
        weights_P, opt_state, ctx = self.packer.unpack(buffers[: self.num_packed])
        return weights_P, opt_state, ctx, buffers[self.num_packed :]

    def step_fn(self, buffers: tuple, x_B: jax.Array, mask_B: jax.Array):
        weights_P, opt_state, ctx, tables = self._unpack(buffers)
        idx, rows = self.model.lookup(tables, ctx)

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
        row_mask_B = jnp.where(finite, mask_B, 0.0)
        tables = tuple(
            sparse_sgd(t, i, jnp.where(finite, g, 0.0), row_mask_B, self.config.optimizer)
            for t, i, g in zip(tables, idx, grad_rows, strict=True)
        )
        ctx = self.model.advance(ctx, aux, x_B)
        probs_BV = self._probs(weights_P, ctx, tables)
        return (*self.packer.pack((weights_P, opt_state, ctx)), *tables), probs_BV


@functools.lru_cache(maxsize=8)
def programs(config: Config, streams: int) -> Programs:
    return Programs(config, streams)


class Learner:
    """A fresh model + optimizer for ``streams`` lockstep streams, ready to step."""

    def __init__(self, config: Config, streams: int):
        self.programs = programs(config, streams)
        self.num_parameters = self.programs.num_parameters
        self._buffers, self._first_probs = self.programs.init(self.programs.init_key)

    def first_probs(self) -> np.ndarray:
        """p_0 (B, 256): the fresh model's prediction for the first byte of each stream."""
        return np.asarray(self._first_probs)

    def step(self, x_B: np.ndarray, mask_B: np.ndarray) -> np.ndarray:
        """Train on the coded bytes ``x_B`` (streams with mask 0 are ignored); next probs."""
        self._buffers, probs_BV = self.programs.step(self._buffers, x_B, mask_B)
        return np.asarray(probs_BV)

    def frozen_bits(self, tokens_BT: np.ndarray, active_BT: np.ndarray) -> float:
        """Total -log2 p of the active ``tokens_BT`` under the current weights, frozen,
        from a fresh context: the "send the weights" side of the MDL comparison."""
        p = self.programs
        weights_P, opt_state, _, tables = p._unpack(self._buffers)
        fresh_ctx = p.packer.unpack(p.init(p.init_key)[0][: p.num_packed])[2]
        tables = tuple(jnp.array(t, copy=True) for t in tables)  # frozen_step donates them
        buffers = (*p.packer.pack((weights_P, opt_state, fresh_ctx)), *tables)
        probs_BV = np.asarray(p._probs(weights_P, fresh_ctx, tables))
        total = 0.0
        for t in range(tokens_BT.shape[1]):
            active_B = active_BT[:, t]
            total += float(code_lengths(probs_BV[active_B], tokens_BT[active_B, t]).sum())
            buffers, probs = p.frozen_step(buffers, tokens_BT[:, t])
            probs_BV = np.asarray(probs)
        return total

    def params(self) -> Any:
        """The current weights as the model's pytree."""
        return self.programs.unravel(self.programs._unpack(self._buffers)[0])
