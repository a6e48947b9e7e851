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
from onlinezip.config import Config
from onlinezip.errors import OnlinezipError
from onlinezip.models import VOCAB, build_model
from onlinezip.optim import GuardedUpdate, build_optimizer, sparse_sgd
from onlinezip.probs import code_lengths, coder_probs

RUNTIME_BYTES = 256 << 20  # JAX, XLA and the interpreter, before any state


def _state_bytes(params: Any, tables: tuple, saves: bool) -> int:
    """What a learner's state will occupy: tables, weights, up to two optimizer moments and,
    for step program 2, the saved backward pass (about one more copy of the weights:
    the matrices it multiplies by, plus a step's activations)."""
    dense = sum(x.size * x.dtype.itemsize for x in jax.tree.leaves(params))
    copies = 4 if saves else 3
    return RUNTIME_BYTES + copies * dense + sum(t.size * t.dtype.itemsize for t in tables)


OWN_BUFFER_SIZE = 16384  # state leaves this big (weights, Adam moments) get their own buffer


def compile_programs(
    init_fn, step_fn, init_key: jax.Array, buffers: tuple, streams: int, options=None,
    half_fn=None,
):  # fmt: skip
    """(init, step[, half]) compiled from shapes alone: ``init_fn(key)``, and ``step_fn(buffers,
    x_B, mask_B)`` with the buffers donated (updated in place); ``options``: XLA compiler
    options for all (None: XLA's defaults). ``half_fn(buffers, high_B)``: a third
    program, compiled too (cm.nibbles; it reads the buffers, donates none)."""
    x_B = jax.ShapeDtypeStruct((streams,), jnp.int32)
    mask_B = jax.ShapeDtypeStruct((streams,), jnp.float32)
    lowered = (
        jax.jit(init_fn).lower(init_key),
        jax.jit(step_fn, donate_argnums=0).lower(buffers, x_B, mask_B),
    )
    if half_fn is not None:
        lowered += (jax.jit(half_fn).lower(buffers, x_B),)
    # One after the other (XLA's code generation already uses every core: two side by
    # side were slower on two cores, rae 5.1 s against 4.6 s), in a worker thread: a
    # Ctrl-C then reaches this thread while it waits, not XLA mid-compilation (which
    # crashed the interpreter on exit).
    with ThreadPoolExecutor(1) as pool:
        return tuple(pool.map(lambda low: low.compile(compiler_options=options), lowered))


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


class Programs:
    """The two compiled programs of one (config, streams): ``init`` and ``step``.

    ``init(key) -> (buffers, probs_BV)`` builds the fresh state from the seed and the
    first prediction; ``step(buffers, x_B, mask_B) -> (buffers, probs_BV)`` is one byte.
    Both are lowered from shapes alone, then compiled.

    ``run.step_program`` picks the step. Program 1 (``recompute_step_fn``) runs the forward
    pass on the last context again to get its gradient. Program 2 (``saved_step_fn``) keeps
    what the prediction's forward pass saved for its backward pass (``jax.vjp``'s
    residuals, in the state buffers) and runs only the backward pass, then a fused,
    guarded update (``optim.GuardedUpdate``). The math is the same; the ops are fewer.
    """

    def __init__(self, config: Config, streams: int, compile: bool = True):
        """``compile=False``: shapes only, for a program that runs ``init_fn`` and
        ``step_fn`` inside its own (a cm model's neural input)."""
        runtime.ensure_backend()
        self.config, self.streams = config, streams
        self.model = build_model(config.model)
        self.saves = config.run.step_program == 2  # program 2: the prediction saves its vjp
        self.optimizer = (GuardedUpdate if self.saves else build_optimizer)(config.optimizer)
        root_key = jax.random.key(config.run.seed)
        self.init_key = jax.random.fold_in(root_key, 0)  # named use of the seed: weights
        params, _ = jax.eval_shape(lambda key: self.model.init(key, streams), self.init_key)
        self.params_packer = FlatPacker(params)  # weights as one (P,) float32 vector
        tables = jax.eval_shape(self.model.init_tables)
        needed = _state_bytes(params, tables, self.saves)
        runtime.check_memory(needed, f"the {config.model.family} model")
        self.num_parameters = sum(  # dense weights + table entries (not their count column)
            int(np.prod(x.shape)) for x in jax.tree.leaves(params)
        ) + sum(t.shape[0] * (t.shape[1] - 1) for t in tables)
        self._backward_def = None  # program 2: the tree structure of the saved vjp
        state = jax.eval_shape(lambda key: self._initial_state(key)[0], self.init_key)
        self.packer = FlatPacker(state, own_buffer_size=OWN_BUFFER_SIZE)
        self.num_packed = len(self.packer.groups)
        buffers, _ = jax.eval_shape(self.init_fn, self.init_key)
        self.step_fn = self.saved_step_fn if self.saves else self.recompute_step_fn
        if compile:
            self.init, self.step = compile_programs(
                self.init_fn, self.step_fn, self.init_key, buffers, streams
            )

    def unravel(self, weights_P: jax.Array) -> Any:
        return self.params_packer.unpack((weights_P,))

    def _fresh_state(self, key: jax.Array) -> tuple:
        params, ctx = self.model.init(key, self.streams)
        (weights_P,) = FlatPacker(params).pack(params)
        return weights_P, self.optimizer.init(weights_P), ctx

    def _initial_state(self, key: jax.Array) -> tuple[tuple, tuple, jax.Array | None]:
        """(state, tables, probs_BV) of a fresh learner. The state, what the packed buffers
        hold, is (weights_P, opt_state, ctx), and for program 2 also what the first
        prediction saved; program 1 predicts after packing (its bits are pinned)."""
        weights_P, opt_state, ctx = self._fresh_state(key)
        tables = self.model.init_tables()
        if self.saves:
            # Distinct arrays, as unpacked buffers are at every later step: jax.vjp saves
            # an array used twice (one zero state for two layers) once, which would give
            # the first backward pass another shape than the next ones.
            ctx = jax.lax.optimization_barrier(ctx)
            saved, probs_BV = self._predict_and_save(weights_P, ctx, tables)
            return (weights_P, opt_state, ctx, saved), tables, probs_BV
        return (weights_P, opt_state, ctx), tables, None

    def init_fn(self, key: jax.Array) -> tuple[tuple, jax.Array]:
        state, tables, probs_BV = self._initial_state(key)
        buffers = (*self.packer.pack(state), *tables)
        if probs_BV is None:
            probs_BV = self._probs(state[0], state[2], tables)
        return buffers, probs_BV

    def _probs(self, weights_P: jax.Array, ctx: Any, tables: tuple) -> jax.Array:
        _, rows = self.model.lookup(tables, ctx)
        logits_BV, _ = self.model.logits(self.unravel(weights_P), ctx, rows)
        return coder_probs(logits_BV, self.config.run.prob_floor)

    @functools.cached_property
    def frozen_step(self):
        """``(buffers, x_B) -> (buffers, probs_BV)``: the context moves on, the weights
        do not. For analysis only (the NLL of a final, frozen model); never for coding."""

        def frozen_fn(buffers: tuple, x_B: jax.Array):
            (weights_P, opt_state, ctx, *saved), tables = self._unpack_state(buffers)
            _, rows = self.model.lookup(tables, ctx)
            _, aux = self.model.logits(self.unravel(weights_P), ctx, rows)
            ctx = self.model.advance(ctx, aux, x_B)
            probs_BV = self._probs(weights_P, ctx, tables)
            state = (weights_P, opt_state, ctx, *saved)  # program 2's saved vjp: stale, unused
            return (*self.packer.pack(state), *tables), probs_BV

        return jax.jit(frozen_fn, donate_argnums=0)  # in place: tables are big

    def _unpack_state(self, buffers: tuple) -> tuple[tuple, tuple]:
        """(state, tables): the state as ``_initial_state`` builds it."""
        return self.packer.unpack(buffers[: self.num_packed]), buffers[self.num_packed :]

    def _unpack(self, buffers: tuple) -> tuple[Any, Any, Any, tuple]:
        (weights_P, opt_state, ctx, *_), tables = self._unpack_state(buffers)
        return weights_P, opt_state, ctx, tables

    def recompute_step_fn(self, buffers: tuple, x_B: jax.Array, mask_B: jax.Array):
        """Step program 1: forward and backward pass on the last context, optax update."""
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
        tables = self._train_rows(tables, idx, grad_rows, mask_B, finite)
        ctx = self.model.advance(ctx, aux, x_B)
        probs_BV = self._probs(weights_P, ctx, tables)
        return (*self.packer.pack((weights_P, opt_state, ctx)), *tables), probs_BV

    def _train_rows(self, tables, idx, grad_rows, mask_B, finite) -> tuple:
        row_mask_B = jnp.where(finite, mask_B, 0.0)
        return tuple(
            sparse_sgd(t, i, jnp.where(finite, g, 0.0), row_mask_B, self.config.optimizer)
            for t, i, g in zip(tables, idx, grad_rows, strict=True)
        )

    def _predict_and_save(self, weights_P: jax.Array, ctx: Any, tables: tuple):
        """Program 2's prediction: (saved, probs_BV), where ``saved`` = (logits_BV, aux,
        idx, residuals) is all the next step's backward pass needs. ``jax.vjp`` returns its
        backward pass as a pytree whose leaves are the forward pass's residuals (what
        ``jax.fwd_and_bwd`` hands between its two programs); the leaves travel in the state
        buffers, the tree structure, the same at every step, stays here."""
        idx, rows = self.model.lookup(tables, ctx)

        def logits_fn(w_P, rows):
            return self.model.logits(self.unravel(w_P), ctx, rows)

        logits_BV, backward, aux = jax.vjp(logits_fn, weights_P, rows, has_aux=True)
        residuals, treedef = jax.tree.flatten(backward)
        shapes = [(r.shape, r.dtype) for r in residuals]
        if self._backward_def is None:
            self._backward_def, self._residual_shapes = treedef, shapes
        elif shapes != self._residual_shapes:
            raise OnlinezipError(
                f"step program 2 cannot keep the {self.config.model.family} model's backward "
                "pass: what it saves changes from step to step; use run.step_program = 1"
            )
        saved = (logits_BV, aux, idx, residuals)
        return saved, coder_probs(logits_BV, self.config.run.prob_floor)

    def saved_step_fn(self, buffers: tuple, x_B: jax.Array, mask_B: jax.Array):
        """Step program 2: the backward pass of the last prediction from what it saved."""
        (weights_P, opt_state, ctx, saved), tables = self._unpack_state(buffers)
        logits_BV, aux, idx, residuals = saved
        backward = jax.tree.unflatten(self._backward_def, residuals)
        # d(mean masked cross-entropy)/d(logits): softmax minus the coded byte's one-hot
        weight_B1 = (mask_B / jnp.maximum(jnp.sum(mask_B), 1.0))[:, None]
        onehot_BV = jax.nn.one_hot(x_B, VOCAB, dtype=logits_BV.dtype)
        grad_P, grad_rows = backward((jax.nn.softmax(logits_BV) - onehot_BV) * weight_B1)
        # A non-finite gradient is skipped, identically on both sides.
        finite = jnp.isfinite(sum((jnp.sum(g) for g in grad_rows), jnp.sum(grad_P)))
        weights_P, opt_state = self.optimizer(grad_P, opt_state, weights_P, finite)
        tables = self._train_rows(tables, idx, grad_rows, mask_B, finite)
        ctx = self.model.advance(ctx, aux, x_B)
        saved, probs_BV = self._predict_and_save(weights_P, ctx, tables)
        return (*self.packer.pack((weights_P, opt_state, ctx, saved)), *tables), probs_BV


@functools.lru_cache(maxsize=8)
def programs(config: Config, streams: int):
    """The compiled programs for (config, streams): ``Programs`` for the neural and
    hashed-context families, ``models.cm.program.CMPrograms`` for context mixing."""
    if config.model.family == "cm":
        from onlinezip.models.cm.program import CMPrograms

        return CMPrograms(config, streams)
    return Programs(config, streams)


class Learner:
    """A fresh model + optimizer for ``streams`` lockstep streams, ready to step."""

    def __init__(self, config: Config, streams: int):
        self.programs = programs(config, streams)
        self.num_parameters = self.programs.num_parameters
        self._buffers, self._first_probs = self.programs.init(self.programs.init_key)

    def huge_pages(self) -> int:
        """Back the learner's big buffers with 2 MiB pages (``runtime.huge_pages``: speed
        only; the steps update them in place, so they keep their pages)."""
        return runtime.huge_pages(self._buffers)

    @property
    def nibbles(self) -> bool:
        """Whether a byte is coded as two nibbles (cm.nibbles): ``first_probs`` and
        ``step`` then give the high nibble's 16 probabilities, ``half`` the low's."""
        return getattr(self.programs, "nibbles", False)

    def first_probs(self) -> np.ndarray:
        """p_0 (B, 256): the fresh model's prediction for the first byte of each stream
        (for ``nibbles``, (B, 16): its high nibble)."""
        return np.asarray(self._first_probs)

    def half(self, high_B: np.ndarray) -> np.ndarray:
        """(B, 16) the low nibbles' probabilities under the coded high nibbles ``high_B``
        (``nibbles`` only); the next ``step`` trains on the whole bytes."""
        self._buffers, probs_BV = self.programs.half(self._buffers, high_B)
        return np.asarray(probs_BV)

    def step(self, x_B: np.ndarray, mask_B: np.ndarray) -> np.ndarray:
        """Train on the coded bytes ``x_B`` (streams with mask 0 are ignored); next probs."""
        self._buffers, probs_BV = self.programs.step(self._buffers, x_B, mask_B)
        return np.asarray(probs_BV)

    def frozen_bits(self, tokens_BT: np.ndarray, active_BT: np.ndarray) -> float:
        """Total -log2 p of the active ``tokens_BT`` under the current weights, frozen,
        from a fresh context: the "send the weights" side of the MDL comparison."""
        p = self.programs
        weights_P, opt_state, _, tables = p._unpack(self._buffers)
        (_, _, fresh_ctx, *fresh_saved), _ = p._unpack_state(p.init(p.init_key)[0])
        tables = tuple(jnp.array(t, copy=True) for t in tables)  # frozen_step donates them
        state = (weights_P, opt_state, fresh_ctx, *fresh_saved)
        buffers = (*p.packer.pack(state), *tables)
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
