"""A neural model as one more input of the context mixer (cm.neural)."""

from __future__ import annotations

from pathlib import Path

import jax.numpy as jnp
import numpy as np
import pytest

from onlinezip import api
from onlinezip.config import arithmetic_family, load_preset
from onlinezip.errors import OnlinezipError
from onlinezip.models.cm import tree

GOLDEN = Path(__file__).parent / "golden"

CM_NET = load_preset("max").replace(
    model={"hidden_dim": 16, "embed_dim": 16, "table_bits": 12, "direct_bits": 10},
    cm={"table_bits": 14, "match_bits": 12, "neural": "hashctx"},
    run={"streams": 1},
)


def test_bit_probabilities_follow_the_byte_distribution():
    probs = np.full((2, 256), 1e-6, np.float32)
    probs[0, 0x41] = 1.0  # certain of "A" = 0b01000001
    probs[1] = 1 / 256
    p_BN = np.asarray(tree.bit_probabilities(jnp.asarray(probs)))
    path = tree.path_nodes(jnp.asarray([0x41, 0x41]))[0]  # the 8 nodes "A" takes
    bits = [(0x41 >> (7 - k)) & 1 for k in range(8)]
    on_path = p_BN[0, np.asarray(path)]
    assert all((p > 4000) if b else (p < 96) for p, b in zip(on_path, bits, strict=True))
    assert np.all(np.abs(p_BN[1] - 2048) <= 1)  # uniform: a coin at every node


def test_neural_input_roundtrips_and_binds_the_file_to_the_cpu(alice_slice):
    data = alice_slice[:2000]
    blob = api.compress(data, CM_NET)
    assert api.decompress(blob) == data
    plain = api.compress(data, CM_NET.replace(cm={"neural": ""}))
    assert blob != plain  # the input is read
    assert arithmetic_family(CM_NET) == "hashctx"
    header = api.read_header(blob)[0]
    assert "cpu" in header.environment and "cpu" not in api.read_header(plain)[0].environment


def test_neural_must_be_a_neural_family():
    with pytest.raises(OnlinezipError, match="cm.neural must be"):
        load_preset("max").replace(cm={"neural": "cm"})


# The ultra preset's files: float bits, so one per CPU model. Session 6's ultra (session
# 6's max with the input) made on an Intel 6/167; session 15's (max's whole context mixer
# of session 11 with the input) on the AMD EPYC 25/1.
ULTRA_GOLDENS = ["sample.ultra.GenuineIntel-6-167.oz", "sample.ultra.AuthenticAMD-25-1.oz"]


@pytest.mark.parametrize("name", ULTRA_GOLDENS)
def test_ultra_golden_decodes_on_its_cpu_and_is_refused_elsewhere(name):
    """The ultra preset (max with a hashctx input): float bits, so a file per CPU model."""
    from onlinezip import container, runtime

    golden = (GOLDEN / name).read_bytes()
    header = container.parse(golden)[0]
    made_on = header.environment["cpu"]
    if name == ULTRA_GOLDENS[-1]:  # the newest is today's preset
        assert header.preset == "ultra" and header.config == load_preset("ultra")
    assert name.endswith(made_on.replace(" ", "-").replace("/", "-") + ".oz")
    if made_on == runtime.cpu_model():
        assert api.decompress(golden) == (GOLDEN / "sample.txt").read_bytes()
    else:
        with pytest.raises(OnlinezipError, match="cpu"):
            api.decompress(golden)
