"""The byte as a tree of 255 binary decisions (models/cm/tree.py)."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

from onlinezip.models.cm import tree


def test_gather_free_node_selections_equal_indexing():
    """tree.node_values / node_slots / by_depth are the predictor's gathers by SLOT_OF,
    POS_OF and DEPTH, written as slices and broadcasts: they must select the same."""
    rng = np.random.default_rng(0)
    rows = rng.integers(0, 1 << 30, (2, 5, tree.SLOTS, 16)).astype(np.uint32)
    got = np.asarray(tree.node_values(jnp.asarray(rows)))
    np.testing.assert_array_equal(got, rows[:, :, tree.SLOT_OF, tree.POS_OF])
    valid = rng.integers(0, 2, (2, 5, tree.SLOTS)).astype(bool)
    np.testing.assert_array_equal(tree.node_slots(jnp.asarray(valid)), valid[:, :, tree.SLOT_OF])
    w = rng.integers(-99, 99, (2, 8, 7)).astype(np.int32)
    np.testing.assert_array_equal(tree.by_depth(jnp.asarray(w)), w[:, tree.DEPTH])


def test_tree_paths_and_byte_probabilities():
    x = jnp.asarray([0, 255, 0x5A], jnp.int32)
    nodes = np.asarray(tree.path_nodes(x))
    assert nodes[0].tolist() == [0, 1, 3, 7, 15, 31, 63, 127]
    assert nodes[1].tolist() == [0, 2, 6, 14, 30, 62, 126, 254]
    on = np.asarray(tree.on_path(x))
    for b in range(3):
        assert sorted(np.flatnonzero(on[b]).tolist()) == sorted(nodes[b].tolist())
    assert len(set(zip(tree.SLOT_OF.tolist(), tree.POS_OF.tolist(), strict=True))) == 255
    rng = np.random.default_rng(0)
    p1 = rng.integers(1, 4096, (3, 255)).astype(np.int32)
    probs = np.asarray(tree.byte_probs(jnp.asarray(p1)))
    assert probs.shape == (3, 256) and np.allclose(probs.sum(1), 1, atol=1e-5)
    bits = np.asarray(tree.path_bits(x))
    for b in range(3):
        q = np.where(bits[b] == 1, p1[b, nodes[b]], 4096 - p1[b, nodes[b]]) / 4096
        assert probs[b, int(x[b])] == pytest.approx(np.prod(q), rel=1e-5)


@pytest.mark.parametrize("high", [None, 0, 5, 15])
def test_a_nibbles_nodes_are_its_slots_counters_in_order(high):
    """cm.nibbles predicts 15 nodes a step: the high nibble's (slot 0), or the low
    nibble's under ``high`` (slot 1 + high); position j is the slot's counter j, at the
    node's depth, with its partial byte, as the whole tree's tables say."""
    high_B = None if high is None else jnp.asarray([high, 15 - high], jnp.int32)
    nodes = tree.nibble_nodes(2, high_B)
    node_BN = np.asarray(nodes.node_BN)
    for b, h in enumerate([None, None] if high is None else [high, 15 - high]):
        assert (tree.SLOT_OF[node_BN[b]] == (0 if h is None else 1 + h)).all()
        assert tree.POS_OF[node_BN[b]].tolist() == list(range(15))
        np.testing.assert_array_equal(tree.DEPTH[node_BN[b]], nodes.depth)
        np.testing.assert_array_equal(np.asarray(nodes.partial())[b], tree.PARTIAL[node_BN[b]])
    assert nodes.depths.tolist() == ([[0, 1, 2, 3]] if high is None else [[4, 5, 6, 7]])
    # a nibble's 16 probabilities: the products along its 4 decisions
    p1 = np.random.default_rng(0).integers(1, 4096, (2, 15)).astype(np.int32)
    probs = np.asarray(tree.byte_probs(jnp.asarray(p1)))
    p1 = p1.astype(np.float64)
    assert probs.shape == (2, 16) and np.allclose(probs.sum(1), 1, atol=1e-6)
    q = (4096 - p1[0, 0]) * p1[0, 1] * (4096 - p1[0, 4]) * p1[0, 9] / 4096**4  # nodes 1, 2, 5, 10
    assert probs[0, 0b0101] == pytest.approx(q, rel=1e-6)
