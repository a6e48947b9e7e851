"""The context-mixing learner (onlinezip.models.cm) whole: roundtrips, goldens, replay in
another process. Its parts: test_cm_counters, test_cm_tree, test_cm_mixer, test_cm_match,
test_cm_lines, test_cm_history, test_cm_neural."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import GOLDEN
from onlinezip import api
from onlinezip.config import Config, load_preset

# Small tables: quick to compile, and collisions happen.
CM_SMALL = Config().replace(
    model={"family": "cm"},
    run={"streams": 2, "min_stream_bytes": 512},
    cm={"table_bits": 12, "match_bits": 12, "orders": [1, 2, 3, 4], "column": 1},
)

# Every optional part on: state maps, the fourth mixer, the order-2 APM, the record model,
# two-way buckets, four word contexts, the line contexts, counters with a history, the
# class mixer, the final mixer by classes, the pixel model (templates, mixer, APM), the
# follow contexts, the text rate; session 11's prose contexts, unstretched inputs, the
# byte mixer by node, the hashed mixers (on text only) and the young-set boost.
CM_ALL = CM_SMALL.replace(
    cm={
        "indirect": 1, "known_mixer": 1, "apm": 3, "column": 3, "ways": 2, "word": 4, "lines": 3,
        "counter_limit": 60, "history": 3, "class_mixer": 4, "final_classes": 2, "mixer_boost": 1,
        "pixels": 3, "pixel_mixer": 1, "pixel_apm": 1, "follow": 2, "text_rate": 16,
        "text_orders": [3, 5], "linear": 1, "byte_mixer": 1, "order_mixers": [2, 3],
        "word_mixer": 1, "mixer_bits": 10, "text_mixers": 1, "set_boost": 32, "set_boost_x": 32,
        "final_boost": 1,
    }
)  # fmt: skip

# Every optional part, a byte coded as two nibbles.
CM_NIBBLES = CM_ALL.replace(cm={"nibbles": 1})

# The default preset (levels -4..-6) with short streams: 3,000 bytes give 12 streams in
# lockstep, updating the same tables (and often the same slots) at the same step.
DEFAULT_STREAMS = load_preset("default").replace(run={"min_stream_bytes": 250})


@pytest.mark.parametrize(
    "config", [CM_SMALL, CM_ALL, CM_NIBBLES], ids=["small", "all-parts", "nibbles"]
)
@pytest.mark.parametrize(
    "data",
    [b"", b"\x00", b"z", bytes(range(256)), np.random.default_rng(1).bytes(3000)],
    ids=["empty", "zero", "one", "all256", "random"],
)
def test_roundtrip_edge_cases(data, config):
    blob = api.compress(data, config)
    assert api.decompress(blob) == data


@pytest.mark.parametrize(
    "base", [CM_SMALL, CM_ALL, CM_NIBBLES], ids=["small", "all-parts", "nibbles"]
)
def test_roundtrip_text_with_streams_and_chunks(alice_slice, base):
    config = base.replace(run={"chunk_bytes": 1000})
    data = alice_slice + alice_slice[:777]  # several chunks, masked last steps
    blob = api.compress(data, config)
    assert api.decompress(blob) == data
    assert len(blob) < len(data) * 0.6


def test_default_preset_roundtrips_in_many_streams(alice_slice):
    blob = api.compress(alice_slice, DEFAULT_STREAMS)
    assert api.read_header(blob)[0].streams == 12
    assert api.decompress(blob) == alice_slice
    assert len(blob) < len(alice_slice) * 0.5


@pytest.mark.parametrize(
    "config", [CM_NIBBLES, DEFAULT_STREAMS], ids=["all-parts", "default-streams"]
)
def test_nibbles_code_the_same_model(alice_slice, config):
    """cm.nibbles computes each node's probability as the whole tree does (the same
    inputs, mixers, APMs, training): each byte's code length is the same up to the
    float rounding of the products along its path (1e-4 bits), in many streams; only the
    coder's symbols differ (two nibbles a byte). Two chunks, the first's last steps
    carried into the second, and streams that end a step early (masked)."""
    from onlinezip import codec

    config = config.replace(run={"chunk_bytes": 1501})
    data = alice_slice[:2999]  # 1,501 + 1,498 bytes: neither fills its streams evenly
    whole = codec.encode(data, config.replace(cm={"nibbles": 0})).bits
    halves = codec.encode(data, config.replace(cm={"nibbles": 1})).bits
    assert len(whole) == len(halves) == len(data)
    np.testing.assert_allclose(halves, whole, rtol=0, atol=1e-4)
    assert whole.sum() / 8 < 0.6 * len(data)  # and it learns


def test_repeats_cost_almost_nothing():
    data = np.random.default_rng(2).bytes(2000) * 4
    blob = api.compress(data, CM_SMALL.replace(run={"streams": 1}))
    assert len(blob) < 2000 + 1000  # the three repeats: about 0.7 bits a byte (measured)


@pytest.mark.parametrize(
    "name",
    [
        "sample.cm.oz", "sample.cm-all.oz", "sample.max-column2.oz", "sample.max-column3.oz",
        "sample.max-lines3.oz", "sample.max-history3.oz", "sample.max-boost1.oz",
        "sample.max-follow2.oz", "sample.max-order12.oz", "sample.max.oz",
        "sample.default.oz", "sample.default-streams.oz", "sample.default-block.oz",
        "sample.default-block-streams.oz", "sample.default-nibbles.oz",
        "sample.default-nibbles-streams.oz",
    ],
)  # fmt: skip
def test_golden_cm_files_still_decode(name):
    """0.4's first cm file (CM_SMALL); every optional part (CM_ALL, column 2 then);
    the max preset before (record contexts of column 2; of column 3, two word contexts
    and no line contexts; word 4 and lines 3, no counter history or class mixers;
    history and class mixers, no mixer boost; the mixer boost, no pixel model; the pixel
    model and follow contexts, no order 12 or text rate; order 12 and the text rate, no
    hashed mixers or young-set boost) and now; session 12's default preset (levels
    -4..-6) on the sample in one stream (the CLI now hands an input this small to max),
    and with 64-byte streams (10); session 13's (its slots in consecutive rows), the
    same two ways; session 14's (a byte as two nibbles, up to 32 streams), the same."""
    blob = (GOLDEN / name).read_bytes()
    assert api.decompress(blob) == (GOLDEN / "sample.txt").read_bytes()


@pytest.mark.parametrize(
    "module,name",
    [
        ("test_cm", "CM_SMALL"), ("test_cm", "CM_ALL"), ("test_cm", "DEFAULT_STREAMS"),
        ("test_cm_neural", "CM_NET"),
    ],
)  # fmt: skip
def test_same_file_on_one_core_in_another_process(tmp_path, alice_slice, module, name):
    """Integer arithmetic (and, for CM_NET, the neural input's floats on this CPU): the
    bytes do not depend on the process or the cores (DEFAULT_STREAMS: two nibbles a
    byte, in 12 streams)."""
    import importlib
    import os
    import subprocess
    import sys

    (tmp_path / "in.txt").write_bytes(alice_slice)
    code = (
        f"import sys; sys.path.insert(0, sys.argv[1]); import {module}; "
        "from onlinezip import api; d = open(sys.argv[2], 'rb').read(); "
        f"open(sys.argv[3], 'wb').write(api.compress(d, {module}.{name}))"
    )
    here = os.path.dirname(__file__)
    out = tmp_path / "one-core.oz"
    cmd = [sys.executable, "-c", code, here, str(tmp_path / "in.txt"), str(out)]
    if hasattr(os, "sched_setaffinity"):
        cmd = ["taskset", "-c", "0", *cmd]
    subprocess.run(cmd, check=True, timeout=300)
    config = getattr(importlib.import_module(module), name)
    assert out.read_bytes() == api.compress(alice_slice, config)


@pytest.mark.parametrize("config", [CM_ALL, CM_NIBBLES], ids=["all-parts", "nibbles"])
def test_the_masked_first_step_gives_the_fresh_state_and_its_prediction(config):
    """Without a neural input, ``CMPrograms.init`` takes the first prediction from a step
    with every stream masked out; that step must train nothing and move nothing: its
    buffers and probabilities equal the fresh state's and its prediction's, computed
    directly (every optional part on; with cm.nibbles, the high nibble's prediction, and
    after the state's buffers the low nibble's saved fields, which init makes zeros)."""
    import jax

    from onlinezip.learner import programs

    prog = programs(config, 2)  # the roundtrips' programs (compiled once per run)
    buffers, probs_BV = prog.init(prog.init_key)
    state, expected_BV = jax.jit(prog._initial_state)()
    expected = prog.packer.pack(state)
    if config.cm.nibbles:
        expected += tuple(np.zeros(a.shape, a.dtype) for a in prog.low_leaves)
    assert len(buffers) == len(expected)
    for got, want in zip(buffers, expected, strict=True):
        assert np.array_equal(np.asarray(got), np.asarray(want))
    assert np.array_equal(np.asarray(probs_BV), np.asarray(expected_BV))
