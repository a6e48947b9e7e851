"""The context-mixing learner (onlinezip.models.cm): each part, then roundtrips."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

from conftest import GOLDEN
from onlinezip import api
from onlinezip.config import Config
from onlinezip.models.cm import apm, counters, match, mixer, records, squash, statemap, tree

# Small tables: quick to compile, and collisions happen.
CM_SMALL = Config().replace(
    model={"family": "cm"},
    run={"streams": 2, "min_stream_bytes": 512},
    cm={"table_bits": 12, "match_bits": 12, "orders": [1, 2, 3, 4], "column": 1},
)

# Every optional part on: state maps, the fourth mixer, the order-2 APM, the record model,
# two-way buckets, four word contexts, the line contexts, counters with a history, the
# class mixer and the final mixer by classes.
CM_ALL = CM_SMALL.replace(
    cm={
        "indirect": 1, "known_mixer": 1, "apm": 3, "column": 3, "ways": 2, "word": 4, "lines": 3,
        "counter_limit": 60, "history": 3, "class_mixer": 4, "final_classes": 2,
    }
)  # fmt: skip


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


def test_mixer_step_lowers_the_coding_cost():
    w = mixer.init(4, 3, 0.2)
    x = jnp.asarray([[[800, -300, 256]]], jnp.int32)  # (B=1, K=1, N=3)
    sel = jnp.asarray([[2]], jnp.int32)
    before = int(mixer.predict(w, x, sel)[1][0, 0])
    for _ in range(20):
        _, p = mixer.predict(w, x, sel)
        w = mixer.train(w, x, sel, p, jnp.asarray([[1]]), 6, jnp.ones(1, jnp.float32))
    after = int(mixer.predict(w, x, sel)[1][0, 0])
    assert after > before + 80
    assert np.all(np.asarray(w)[[0, 1, 3]] == np.asarray(mixer.init(4, 3, 0.2))[[0, 1, 3]])
    masked = mixer.train(w, x, sel, p, jnp.asarray([[1]]), 6, jnp.zeros(1, jnp.float32))
    assert np.array_equal(np.asarray(masked), np.asarray(w))


def test_apm_starts_as_the_identity_and_learns():
    t = apm.init(2)
    p = jnp.asarray([[100, 2048, 4000]], jnp.int32)
    ctx = jnp.zeros((1, 3), jnp.int32)
    out, idx = apm.refine(t, p, ctx)
    assert np.max(np.abs(np.asarray(out) - np.asarray(p))) <= 40
    for _ in range(30):
        _, idx = apm.refine(t, p[:, 1:2], ctx[:, :1])
        t = apm.train(t, idx, jnp.asarray([[1]]), 5, jnp.ones(1, jnp.float32))
    assert int(apm.refine(t, p[:, 1:2], ctx[:, :1])[0][0, 0]) > 3000


def test_match_model_finds_and_follows_a_repeat():
    from onlinezip.models.cm import contexts

    data = (b"the quick brown fox jumps over the lazy dog. " * 3)[:120]
    size = 1 << 10
    hist, last = jnp.zeros(size, jnp.int32), jnp.zeros(size, jnp.int32)
    window = jnp.zeros((1, contexts.WINDOW), jnp.int32)
    pos = ptr = length = jnp.zeros(1, jnp.int32)
    following = jnp.full(1, -1, jnp.int32)
    mask = jnp.ones(1, jnp.float32)
    hits = 0
    for i, byte in enumerate(data):
        x = jnp.asarray([byte], jnp.int32)
        hits += i > 60 and int(following[0]) == byte
        window = jnp.concatenate([window[:, 1:], x[:, None]], axis=1)
        hist, pos, ptr, length, following, last = match.advance(
            hist, pos, ptr, length, following, last, window, x, 6, mask
        )
    assert hits == len(data) - 61  # once found, every byte of the repeat is predicted
    assert int(length[0]) > 50


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


def test_record_detector_finds_the_row_length():
    rng = np.random.default_rng(3)
    row = bytes([7, 0, 14]) + bytes(15)  # an 18-byte record: a type, a length, fields
    rows = [bytearray(row) for _ in range(40)]
    for i, r in enumerate(rows):
        r[3:5], r[9:17] = i.to_bytes(2, "little"), rng.bytes(8)
    data = b"".join(rows)
    state, mask = records.init(1), jnp.ones(1, jnp.float32)
    lengths = []
    for pos, byte in enumerate(data):
        state = records.advance(state, jnp.asarray([byte]), jnp.asarray([pos]), 4096, mask)
        lengths.append(int(state["rec"][0, 0]))
    assert lengths[-1] == 18 and lengths[17] == 0  # not before a few rows were seen
    state, noise = records.init(1), rng.bytes(720)
    for pos, byte in enumerate(noise):
        state = records.advance(state, jnp.asarray([byte]), jnp.asarray([pos]), 4096, mask)
    assert int(state["rec"][0, 0]) == 0


@pytest.mark.parametrize("config", [CM_SMALL, CM_ALL], ids=["small", "all-parts"])
@pytest.mark.parametrize(
    "data",
    [b"", b"\x00", b"z", bytes(range(256)), np.random.default_rng(1).bytes(3000)],
    ids=["empty", "zero", "one", "all256", "random"],
)
def test_roundtrip_edge_cases(data, config):
    blob = api.compress(data, config)
    assert api.decompress(blob) == data


@pytest.mark.parametrize("base", [CM_SMALL, CM_ALL], ids=["small", "all-parts"])
def test_roundtrip_text_with_streams_and_chunks(alice_slice, base):
    config = base.replace(run={"chunk_bytes": 1000})
    data = alice_slice + alice_slice[:777]  # several chunks, masked last steps
    blob = api.compress(data, config)
    assert api.decompress(blob) == data
    assert len(blob) < len(data) * 0.6


def test_repeats_cost_almost_nothing():
    data = np.random.default_rng(2).bytes(2000) * 4
    blob = api.compress(data, CM_SMALL.replace(run={"streams": 1}))
    assert len(blob) < 2000 + 1000  # the three repeats: about 0.7 bits a byte (measured)


@pytest.mark.parametrize(
    "name",
    [
        "sample.cm.oz", "sample.cm-all.oz", "sample.max-column2.oz", "sample.max-column3.oz",
        "sample.max-lines3.oz", "sample.max.oz",
    ],
)  # fmt: skip
def test_golden_cm_files_still_decode(name):
    """0.4's first cm file (CM_SMALL); every optional part (CM_ALL, column 2 then);
    the max preset before (record contexts of column 2; of column 3, two word contexts
    and no line contexts; word 4 and lines 3, no counter history or class mixers) and
    now."""
    blob = (GOLDEN / name).read_bytes()
    assert api.decompress(blob) == (GOLDEN / "sample.txt").read_bytes()


@pytest.mark.parametrize("name", ["CM_SMALL", "CM_ALL"])
def test_same_file_on_one_core_in_another_process(tmp_path, alice_slice, name):
    """Integer arithmetic: the bytes do not depend on the process or the cores."""
    import os
    import subprocess
    import sys

    (tmp_path / "in.txt").write_bytes(alice_slice)
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); import test_cm; "
        "from onlinezip import api; d = open(sys.argv[2], 'rb').read(); "
        f"open(sys.argv[3], 'wb').write(api.compress(d, test_cm.{name}))"
    )
    here = os.path.dirname(__file__)
    out = tmp_path / "one-core.oz"
    cmd = [sys.executable, "-c", code, here, str(tmp_path / "in.txt"), str(out)]
    if hasattr(os, "sched_setaffinity"):
        cmd = ["taskset", "-c", "0", *cmd]
    subprocess.run(cmd, check=True, timeout=300)
    assert out.read_bytes() == api.compress(alice_slice, globals()[name])
