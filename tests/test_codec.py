import numpy as np
import pytest

from onlinezip import codec, runtime
from onlinezip.codec import StreamLayout, effective_streams


def _roundtrip(data: bytes, cfg) -> codec.Coded:
    enc = codec.encode(data, cfg)
    lengths = [len(c) for c in codec.chunks(data, cfg.run.chunk_bytes)]
    dec = codec.decode(enc.payloads, lengths, enc.streams, cfg)
    assert dec.data == data
    np.testing.assert_array_equal(dec.bits, enc.bits)  # the decoder saw the same p_t
    return enc


EDGE_CASES = [
    ("empty", b""),
    ("one byte", b"\x00"),
    ("all 256 values", bytes(range(256))),
    ("10 kB of one byte", b"z" * 10_000),
    ("3001 bytes: 4 streams, the last step part-masked", b"z" * 3001),
    ("random", np.random.default_rng(1).bytes(2000)),
]


@pytest.mark.parametrize("name,data", EDGE_CASES)
def test_roundtrip_edge_cases(tiny, name, data):
    enc = _roundtrip(data, tiny)
    assert len(enc.bits) == len(data)


def test_roundtrip_real_text_with_streams(tiny, alice_slice):
    enc = _roundtrip(alice_slice, tiny)
    assert enc.streams == 4  # 3000 bytes / 512 per stream, capped at 4
    assert enc.bits.sum() / len(alice_slice) < 6.0


def test_repeated_byte_compresses_well(tiny):
    enc = codec.encode(b"z" * 10_000, tiny)
    assert len(enc.payloads[0]) < 200


@pytest.mark.parametrize("family", ["hashctx", "gru", "transformer"])
def test_other_families_roundtrip(tiny, family, alice_slice):
    cfg = tiny.replace(model={"family": family, "context": 8, "num_heads": 2, "table_bits": 12})
    _roundtrip(alice_slice[:600], cfg)


@pytest.mark.parametrize("extra", [0, 1, 255])
def test_chunked_roundtrip_carries_the_learner_across_chunks(tiny, alice_slice, extra):
    cfg = tiny.replace(run={"chunk_bytes": 1024})
    data = alice_slice[: 2048 + extra]  # 2 full chunks (+ a short third)
    enc = _roundtrip(data, cfg)
    assert len(enc.payloads) == 2 + (extra > 0)
    # the model keeps learning across chunk boundaries: close to one-chunk coding,
    # far better than restarting from a fresh model in every chunk
    whole = codec.encode(data, tiny).bits.sum()
    fresh = sum(codec.encode(c, tiny).bits.sum() for c in codec.chunks(data, 1024))
    assert enc.bits.sum() < whole + 0.25 * (fresh - whole)


def test_hashctx_word_and_direct_contexts_roundtrip(tiny, alice_slice):
    model = {"family": "hashctx", "orders": 4, "table_bits": 12, "word_orders": 2,
             "direct_orders": 3, "direct_bits": 10}  # fmt: skip
    _roundtrip(alice_slice[:1500], tiny.replace(model=model))


def test_stream_layout_covers_every_byte_once():
    data = bytes(range(250)) * 4 + b"tail"
    for streams in (1, 3, 7, 1004, 2000):
        layout = StreamLayout(len(data), streams)
        tokens = layout.split(data)
        assert layout.join(tokens) == data
        coded = sum(int(layout.active(t).sum()) for t in range(layout.steps))
        assert coded == len(data)


def test_effective_streams(tiny):
    assert effective_streams(0, tiny.run) == 1
    assert effective_streams(512, tiny.run) == 1
    assert effective_streams(513, tiny.run) == 2
    assert effective_streams(10**6, tiny.run) == 4


@pytest.fixture(scope="module")
def program_2(tiny):
    """A small transformer on step program 2 (the rae preset's kind, much smaller)."""
    model = {"family": "transformer", "hidden_dim": 16, "context": 8, "num_heads": 2}
    return tiny.replace(model=model, run={"step_program": 2})


@pytest.mark.parametrize("name,data", EDGE_CASES)
def test_step_program_2_roundtrips(program_2, name, data):
    assert len(_roundtrip(data, program_2).bits) == len(data)


@pytest.mark.parametrize("family", ["lstm", "hashctx"])
def test_step_program_2_carries_its_saved_pass_across_chunks(tiny, family, alice_slice):
    model = {"family": family, "table_bits": 12}
    cfg = tiny.replace(model=model, run={"step_program": 2, "chunk_bytes": 1024})
    enc = _roundtrip(alice_slice[:2049], cfg)
    assert len(enc.payloads) == 3


# A transformer's float bits depend on the CPU model (runtime.cpu_model); an LSTM's
# did not differ between these four.
PROGRAM_2_BITS = {
    "AuthenticAMD 26/2": 960.725, "GenuineIntel 6/167": 960.726, "AuthenticAMD 23/1": 960.725,
    "AuthenticAMD 25/1": 960.725,
}  # fmt: skip


@pytest.mark.parametrize(
    "config,payload_bytes,nll_bits",
    [
        ("tiny", 124, 973.944),  # step program 1 (an LSTM)
        ("program_2", 124, PROGRAM_2_BITS),  # step program 2 (a transformer)
    ],
)
def test_exact_bits_for_a_tiny_seeded_input(request, config, payload_bytes, nll_bits):
    """Pins the numerics of each step program: any change to the model, learner or coder
    shows up here."""
    if isinstance(nll_bits, dict):
        if runtime.cpu_model() not in nll_bits:
            pytest.skip(f"no pinned figure for the CPU {runtime.cpu_model()}: add one")
        nll_bits = nll_bits[runtime.cpu_model()]
    cfg = request.getfixturevalue(config)
    enc = codec.encode(b"onlinezip: send the training code, not the weights. " * 4, cfg)
    assert len(enc.payloads[0]) == payload_bytes
    assert round(float(enc.bits.sum()), 3) == nll_bits
