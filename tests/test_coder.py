import numpy as np
import pytest

from onlinezip.coder import Decoder, Encoder
from onlinezip.probs import code_lengths


def test_batched_encode_decodes_row_by_row():
    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.full(256, 0.3), size=2000).astype(np.float32)
    symbols = np.array([rng.choice(256, p=row / row.sum()) for row in probs], np.int32)
    enc = Encoder()
    enc.encode(symbols[:700], probs[:700])
    enc.encode(symbols[700:], probs[700:])
    payload = enc.finish()
    dec = Decoder(payload)
    out = np.concatenate([dec.decode(probs[i : i + 7]) for i in range(0, 2000, 7)])
    np.testing.assert_array_equal(out, symbols)
    ideal_bytes = code_lengths(probs, symbols).sum() / 8
    assert ideal_bytes <= len(payload) <= ideal_bytes * 1.005 + 16


def test_zero_probability_symbol_is_still_codable():
    probs = np.zeros((1, 256), np.float32)
    probs[0, 0] = 1.0
    enc = Encoder()
    enc.encode(np.array([200], np.int32), probs)
    assert Decoder(enc.finish()).decode(probs).tolist() == [200]


def test_empty_and_ragged_payload():
    assert Encoder().finish() == b""
    with pytest.raises(ValueError):
        Decoder(b"abc")
