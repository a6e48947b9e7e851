"""Counted statistics of the context mixer: squash/stretch, counters and the state map."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

from onlinezip.models.cm import counters, squash, statemap


def test_squash_and_stretch_are_monotone_inverses():
    d = np.arange(-2047, 2048)
    p = squash.squash_np(d)
    assert np.all(np.diff(p) >= 0) and p[0] >= 1 and p[-1] <= 4095
    assert np.all(np.diff(squash.STRETCH_TABLE) >= 0)
    back = squash.STRETCH_TABLE[p]
    assert np.max(np.abs(back - d)[np.abs(d) < 500]) <= 2
    assert np.max(np.abs(back - d)[np.abs(d) < 1500]) <= 20  # squash flattens out there
    exact = 4096 / (1 + np.exp(-(np.arange(33) - 16) * 128 / 256))
    assert np.max(np.abs(np.asarray(squash.SQUASH_POINTS) - exact)) <= 0.5


def test_counter_learns_the_frequency_then_keeps_adapting():
    c = jnp.asarray([counters.FRESH], jnp.uint32)
    for bit in [1, 1, 1, 0] * 50:
        c = counters.update(c, jnp.asarray([bit]), limit=30)
    p = int(counters.probability(c)[0])
    assert int(counters.count(c)[0]) == 30
    assert 2600 < p < 3500  # about 3/4
    for _ in range(40):
        c = counters.update(c, jnp.asarray([0]), limit=30)
    assert int(counters.probability(c)[0]) < 1000  # it moved on: 3/4 * (1 - 1/31.5)**40
    assert int(counters.probability(c)[0]) >= 1


def test_state_map_sorts_counters_into_states_and_learns():
    table = statemap.init(2)
    fresh, sure = counters.FRESH, counters.update(jnp.asarray([counters.FRESH]), jnp.asarray(1), 9)
    for _ in range(5):
        sure = counters.update(sure, jnp.asarray(1), 9)
    node = jnp.stack([jnp.full((1, 3), fresh), jnp.broadcast_to(sure, (1, 3))], axis=1)
    x, index = statemap.lookup(table, node.astype(jnp.uint32))  # (B=1, C=2, N=3)
    idx = np.asarray(index)
    assert np.all(idx[0, 0] == idx[0, 0, 0]) and np.all(idx[0, 1] >= statemap.STATES)
    assert int(x[0, 0, 0]) == pytest.approx(0, abs=40)  # a fresh counter: about 1/2
    index_BKC = jnp.moveaxis(index, 1, 2)[:, :1]  # the first node, both contexts
    for _ in range(300):  # 1/2 * (1 - 1/128)**300: about 0.05
        table = statemap.train(table, index_BKC, jnp.asarray([[0]]), jnp.ones(1, jnp.float32))
    x2, _ = statemap.lookup(table, node.astype(jnp.uint32))
    assert int(x2[0, 0, 0]) < -500 and int(x2[0, 1, 0]) < int(x[0, 1, 0]) - 500
    same = statemap.train(table, index_BKC, jnp.asarray([[1]]), jnp.zeros(1, jnp.float32))
    assert np.array_equal(np.asarray(same), np.asarray(table))
