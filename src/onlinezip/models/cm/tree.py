"""The byte as a binary tree: 255 decisions, MSB first, and the slots that hold them.

Node n (heap order, 1..255) is the decision after the bits of ``n`` below its leading
1 have been seen: node 1 decides the top bit, nodes 2..3 the next, ..., nodes 128..255
the last. A byte ``x`` takes the nodes ``(x | 256) >> (8 - k)`` for k = 0..7, and its bit
at depth k is ``(x >> (7 - k)) & 1``.

Counted statistics live in slots of 15 nodes, one nibble's tree (as paq and lpaq store
them): for each context, slot 0 holds nodes 1..15 (the high nibble) and slot 1 + h the
low nibble's nodes once the high nibble is h. So one context's whole byte tree is 17
slots, of which a coded byte touches two.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

NODES = 255
SLOTS = 17  # per context: 1 for the high nibble + 16 for the low nibble
SLOT_NODES = 15

_n = np.arange(1, NODES + 1)
DEPTH = np.floor(np.log2(_n)).astype(np.int32)  # (255,) 0..7
_high = _n >> np.maximum(DEPTH - 4, 0) & 15  # the high nibble, for depth >= 4
_low = np.maximum(DEPTH - 4, 0)  # bits of the low nibble seen, for depth >= 4
_sub = np.where(DEPTH >= 4, (1 << _low) | (_n & ((1 << _low) - 1)), _n)
SLOT_OF = np.where(DEPTH >= 4, 1 + _high, 0).astype(np.int32)  # (255,) which slot
POS_OF = (_sub - 1).astype(np.int32)  # (255,) position 0..14 in the slot
PARTIAL = (_n - (1 << DEPTH)).astype(np.int32)  # (255,) the bits seen so far, as a number


# The same selections as indexing by SLOT_OF / POS_OF / DEPTH, written as static slices,
# reshapes and broadcasts: XLA's CPU gathers cost a few ns an element, these nothing.
# Slot 0 holds nodes 1..15 in order; at depth d >= 4, slot 1 + h holds the 2**(d - 4)
# nodes (1 << d) + h * 2**(d - 4) + r at positions 2**(d - 4) - 1 + r.


def node_values(rows_XSR: jax.Array) -> jax.Array:
    """(..., 17, R >= 15) slot rows -> (..., 255): ``rows[..., SLOT_OF, POS_OF]``."""
    lead = rows_XSR.shape[:-2]
    parts = [rows_XSR[..., 0, :15]]
    for d in range(4, 8):
        lo, width = (1 << (d - 4)) - 1, 1 << (d - 4)
        parts.append(rows_XSR[..., 1:17, lo : lo + width].reshape(*lead, 16 * width))
    return jnp.concatenate(parts, axis=-1)


def node_slots(v_XS: jax.Array) -> jax.Array:
    """(..., 17) per-slot values -> (..., 255): ``v[..., SLOT_OF]``."""
    lead = v_XS.shape[:-1]
    parts = [jnp.broadcast_to(v_XS[..., :1], (*lead, 15))]
    for d in range(4, 8):
        width = 1 << (d - 4)
        wide = jnp.broadcast_to(v_XS[..., 1:17, None], (*lead, 16, width))
        parts.append(wide.reshape(*lead, 16 * width))
    return jnp.concatenate(parts, axis=-1)


def by_depth(v_BD: jax.Array) -> jax.Array:
    """(B, D, *rest) per-depth values -> (B, 2**D - 1, *rest): ``v[:, DEPTH]`` (D = 8:
    a byte's 255 nodes; D = 4: a nibble's 15, its depths counted from its first)."""
    b, rest = v_BD.shape[0], v_BD.shape[2:]
    parts = [jnp.broadcast_to(v_BD[:, d : d + 1], (b, 1 << d, *rest)) for d in range(v_BD.shape[1])]
    return jnp.concatenate(parts, axis=1)


@dataclass(frozen=True)
class Nodes:
    """The nodes one prediction covers, N of them per stream in heap order: a byte's 255
    (``all_nodes``) or, with ``cm.nibbles``, one nibble's 15 (``nibble_nodes``)."""

    node_BN: jax.Array  # (B, N) int32 node indices 0..254 (node - 1)
    depth: np.ndarray  # (N,) each position's depth in the byte, 0..7 (the same per stream)

    @property
    def depths(self) -> np.ndarray:
        """(1, D) the depths covered, in order (from 0, or 4 for a low nibble)."""
        return np.arange(self.depth.min(), self.depth.max() + 1, dtype=np.int32)[None, :]

    def partial(self) -> jax.Array:
        """(B, N) the bits of the byte seen before each node, as a number (``PARTIAL``)."""
        return self.node_BN + 1 - (1 << jnp.asarray(self.depth))[None, :]


def all_nodes(streams: int) -> Nodes:
    node_BN = jnp.broadcast_to(jnp.arange(NODES, dtype=jnp.int32), (streams, NODES))
    return Nodes(node_BN, DEPTH)


_J = np.arange(1, SLOT_NODES + 1)
_NIBBLE_DEPTH = np.floor(np.log2(_J)).astype(np.int32)  # (15,) 0..3


def nibble_nodes(streams: int, high_B: jax.Array | None = None) -> Nodes:
    """The high nibble's nodes 1..15 (``high_B`` None), or the low nibble's under the high
    nibbles ``high_B``: node (16 + h) * 2**d + r at its depth 4 + d, in slot 1 + h's order
    (``POS_OF``), so position j of either is the slot's counter j."""
    if high_B is None:
        node_BN = jnp.broadcast_to(jnp.asarray(_J - 1, jnp.int32), (streams, SLOT_NODES))
        return Nodes(node_BN, _NIBBLE_DEPTH)
    scale_N = (1 << _NIBBLE_DEPTH).astype(np.int32)
    offset_N = (_J - scale_N - 1).astype(np.int32)  # r - 1 at position j = 2**d + r
    node_BN = (16 + high_B[:, None]) * jnp.asarray(scale_N)[None, :] + jnp.asarray(offset_N)[
        None, :
    ]
    return Nodes(node_BN.astype(jnp.int32), _NIBBLE_DEPTH + 4)


def path_nodes(x_B: jax.Array) -> jax.Array:
    """(B, 8) int32 node indices 0..254 (node - 1) of the decisions byte ``x_B`` took."""
    shifts = jnp.arange(8, 0, -1, dtype=jnp.int32)  # 8 - k
    return ((x_B[:, None] | 256) >> shifts[None, :]) - 1


def path_bits(x_B: jax.Array) -> jax.Array:
    """(B, 8) int32 bits of ``x_B``, MSB first."""
    return (x_B[:, None] >> jnp.arange(7, -1, -1, dtype=jnp.int32)[None, :]) & 1


def on_path(x_B: jax.Array) -> jax.Array:
    """(B, 255) bool: which nodes lie on byte ``x_B``'s path (the nodes whose partial bits
    are ``x_B``'s top bits)."""
    prefix_B255 = x_B[:, None] >> (8 - jnp.asarray(DEPTH))[None, :]
    return prefix_B255 == jnp.asarray(PARTIAL)[None, :]


def byte_probs(p1_BN: jax.Array) -> jax.Array:
    """(B, 256) float32 byte probabilities from (B, 255) int32 12-bit node probabilities of
    a 1 bit (or a nibble's 16 from its 15 nodes): each leaf is the product of the
    decisions on its path, multiplied level by level (elementwise float products, each
    correctly rounded: the same bits anywhere). They sum to 1 up to rounding; the coder
    normalises."""
    scale = jnp.float32(1.0 / 4096.0)  # a power of two: exact
    one_BN = p1_BN.astype(jnp.float32) * scale
    zero_BN = (4096 - p1_BN).astype(jnp.float32) * scale
    probs = jnp.ones((p1_BN.shape[0], 1), jnp.float32)
    for depth in range((p1_BN.shape[1] + 1).bit_length() - 1):
        lo, hi = (1 << depth) - 1, (1 << (depth + 1)) - 1
        probs = jnp.stack([probs * zero_BN[:, lo:hi], probs * one_BN[:, lo:hi]], axis=-1)
        probs = probs.reshape(p1_BN.shape[0], -1)
    return probs


_SPAN = 1 << (8 - DEPTH)  # (255,) how many byte values lie under each node
_LO = PARTIAL * _SPAN  # (255,) the smallest of them


def bit_probabilities(probs_BV: jax.Array) -> jax.Array:
    """(B, 256) float byte probabilities -> (B, 255) int32 P(bit = 1) at every node, in
    1..4095: the mass of the node's upper half over its whole. In integers after one
    rounding (each byte's 16-bit share, plus one so no node is empty), so it is exact
    wherever ``probs_BV`` is."""
    q_BV = (probs_BV * 65536.0).astype(jnp.int32) + 1
    s_BV = jnp.pad(jnp.cumsum(q_BV, axis=1), ((0, 0), (1, 0)))  # (B, 257)
    lo, mid, hi = _LO, _LO + _SPAN // 2, _LO + _SPAN
    ones_BN = s_BV[:, hi] - s_BV[:, mid]
    all_BN = s_BV[:, hi] - s_BV[:, lo]
    return jnp.clip((ones_BN * 4096 + all_BN // 2) // all_BN, 1, 4095)
