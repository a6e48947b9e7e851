"""The optimizers: optax for the dense weights, sparse SGD for table rows, and the fused,
guarded update of step program 2."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import optax

from onlinezip.config import OptimizerConfig


def build_optimizer(cfg: OptimizerConfig) -> optax.GradientTransformation:
    if cfg.name == "sgd":
        opt = optax.sgd(cfg.learning_rate, momentum=cfg.momentum or None)
    else:
        opt = optax.adam(cfg.learning_rate, b1=cfg.b1, b2=cfg.b2, eps=cfg.eps)
    if cfg.grad_clip > 0:
        opt = optax.chain(optax.clip_by_global_norm(cfg.grad_clip), opt)
    return opt


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


class GuardedUpdate:
    """Step program 2's update of the flat weights: skipped whole, identically on both
    sides, when ``finite`` (a scalar: the gradient is finite) is false.

    Adam without gradient clipping is written out by hand, elementwise: the new moments
    first, then the weights from the stored new moments (three passes over the weights).
    Through optax, with the guard applied after it, XLA's CPU backend recomputed the
    moments inside every output's loop and copied the donated moment buffers (about eight
    passes), nearly doubling the update's time. The same
    math as ``optax.adam``, in another order of rounding. Other optimizers go through optax.
    """

    def __init__(self, cfg: OptimizerConfig):
        self.cfg = cfg
        self.fused = cfg.name == "adam" and cfg.grad_clip == 0
        self.optax = (
            optax.scale_by_adam(cfg.b1, cfg.b2, cfg.eps) if self.fused else build_optimizer(cfg)
        )

    def init(self, weights_P: jax.Array) -> Any:
        return self.optax.init(weights_P)

    def __call__(
        self, grad_P: jax.Array, state: Any, weights_P: jax.Array, finite: jax.Array
    ) -> tuple[jax.Array, Any]:
        """(weights_P, state) after one step on ``grad_P``, or unchanged if not ``finite``."""
        if not self.fused:
            updates_P, new_state = self.optax.update(grad_P, state, weights_P)
            weights_P = jnp.where(finite, weights_P + updates_P, weights_P)
            return weights_P, jax.tree.map(lambda n, o: jnp.where(finite, n, o), new_state, state)
        b1, b2 = self.cfg.b1, self.cfg.b2
        count = jnp.where(finite, state.count + 1, state.count)  # () int32
        mu_P = jnp.where(finite, b1 * state.mu + (1 - b1) * grad_P, state.mu)
        nu_P = jnp.where(finite, b2 * state.nu + (1 - b2) * jnp.square(grad_P), state.nu)
        t = count.astype(jnp.float32)
        step = self.cfg.learning_rate / (1 - b1**t)  # the bias corrections, as scalars
        new_P = weights_P - step * mu_P / (jnp.sqrt(nu_P / (1 - b2**t)) + self.cfg.eps)
        weights_P = jnp.where(finite, new_P, weights_P)
        return weights_P, optax.ScaleByAdamState(count=count, mu=mu_P, nu=nu_P)
