"""Pixels: a bitmap of one bit per pixel, each pixel predicted from its neighbours.

Fax pages and other 1-bit images (Canterbury's ptt5) are rows of r bytes, 8 pixels a
byte, the leftmost in the top bit; the record length ``records`` detects is then r. A
pixel depends on the pixels around it far more than on any byte context, so, as JBIG
does, templates of neighbours already coded give it contexts of its own: some pixels to
its left in its row and some centred above it in the rows above. Each node of the byte
tree is one pixel (depth j: the pixel in column j of the byte, the partial byte its left
neighbours in the byte), so all 255 nodes' templates come from the last byte and the
three bytes around the one above (two above, three above).

``TEMPLATES`` has the shapes, best first (``cm.pixels`` = how many are used): a 16-pixel
one, a small 8-pixel one that learns fast, a wide 22-pixel one that tells more apart.
Each indexes a table of counters directly (no hash, nothing to collide); the mixer gets
every template's stretched probability (0 where no record length is known, or the
template has never been seen). The coded byte's 8 pixels learn one after the other (two
of them may share a template, as in a blank area: each then sees the other's update).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from onlinezip.models.cm import counters, match, tree
from onlinezip.models.cm.squash import stretch

# (pixels to the left, half-widths of the rows 1, 2, 3 above: -1 none, 0 the one above)
TEMPLATES = ((4, 3, 2, -1), (2, 2, 0, -1), (5, 4, 3, 0))


def template_bits(shape) -> int:
    left, *rows = shape
    return left + sum(2 * d + 1 for d in rows if d >= 0)


def init(n: int) -> list[jax.Array]:
    """The tables of the first ``n`` templates, every counter fresh."""
    return [jnp.full((1 << template_bits(t),), counters.FRESH, jnp.uint32) for t in TEMPLATES[:n]]


def templates(n: int, rec_B3, hist_H, pos_B, last_B, nodes: tree.Nodes) -> jax.Array:
    """(B, N, n) int32 templates of the ``nodes``' pixels, -1 where no record length is
    known."""
    length_B = rec_B3[:, 0]

    def around(k_B):  # the byte k_B back with its left and right neighbours: 24 bits
        back = lambda d_B: match.byte_back(hist_H, pos_B, d_B)  # noqa: E731
        return back(k_B + 1) << 16 | back(k_B) << 8 | back(k_B - 1)

    rows_B = [around(k * length_B) for k in (1, 2, 3)]
    j_N = jnp.asarray(nodes.depth)[None, :]  # the pixel's column in the byte
    row0_BN = last_B.astype(jnp.int32)[:, None] << 8 | nodes.partial() << (8 - j_N)
    out = []
    for left, *halves in TEMPLATES[:n]:
        t_BN = (row0_BN >> (8 - j_N)) & ((1 << left) - 1)  # columns j - left .. j - 1
        for row_B, d in zip(rows_B, halves, strict=True):
            if d >= 0:  # columns j - d .. j + d: bit 15 - j of ``around`` is column j
                t_BN = t_BN << (2 * d + 1) | (row_B[:, None] >> (15 - d - j_N)) & (
                    (1 << (2 * d + 1)) - 1
                )
        out.append(t_BN)
    t_BNT = jnp.stack(out, axis=2)
    return jnp.where(length_B[:, None, None] > 0, t_BNT, -1)


def predict(
    n: int, tables, rec_B3, hist_H, pos_B, last_B, nodes: tree.Nodes
) -> tuple[jax.Array, jax.Array]:
    """(templates, inputs) of every node, as ``templates`` and ``inputs`` give them; where
    no stream knows a record length (text, most binaries) they are -1 and 0 without
    being computed (``lax.cond``: the same values, at no cost)."""

    def on():
        t_BNT = templates(n, rec_B3, hist_H, pos_B, last_B, nodes)
        return t_BNT, inputs(tables, t_BNT)

    shapes = jax.eval_shape(on)
    off = lambda: (  # noqa: E731
        jnp.full(shapes[0].shape, -1, shapes[0].dtype),
        jnp.zeros(shapes[1].shape, shapes[1].dtype),
    )
    return jax.lax.cond(jnp.any(rec_B3[:, 0] > 0), on, off)


def inputs(tables, t_BNT) -> jax.Array:
    """(B, N, n) int32 stretched probabilities of a 1 bit (0: nothing known)."""
    out = []
    for k, table_T in enumerate(tables):
        t_BN = t_BNT[..., k]
        c_BN = table_T[jnp.maximum(t_BN, 0)]
        known_BN = (t_BN >= 0) & (counters.count(c_BN) > 0)
        out.append(jnp.where(known_BN, stretch(counters.probability(c_BN)), 0))
    return jnp.stack(out, axis=2)


def train(tables, t_BKT, bit_BK, mask_B, limit: int) -> list[jax.Array]:
    """The templates of the coded byte's 8 pixels (B, 8, n) learn their bits, in order
    (skipped, ``lax.cond``, where none is known: nothing would change)."""
    learn = lambda: _train(tables, t_BKT, bit_BK, mask_B, limit)  # noqa: E731
    return jax.lax.cond(jnp.any(t_BKT >= 0), learn, lambda: list(tables))


def _train(tables, t_BKT, bit_BK, mask_B, limit: int) -> list[jax.Array]:
    out = []
    for j, table_T in enumerate(tables):
        size = table_T.shape[0]
        for k in range(t_BKT.shape[1]):
            t_B = t_BKT[:, k, j]
            new_B = counters.update(table_T[jnp.maximum(t_B, 0)], bit_BK[:, k], limit)
            where_B = jnp.where((t_B >= 0) & (mask_B > 0), t_B, size)  # dropped
            table_T = table_T.at[where_B].set(new_B, mode="drop")
        out.append(table_T)
    return out
