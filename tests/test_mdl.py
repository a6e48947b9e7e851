import pytest

import onlinezip
from onlinezip import mdl
from onlinezip.config import load_preset

REPORT_KEYS = {
    "original_bytes", "container_bytes", "header_bytes", "payload_bytes", "nll_bits",
    "code_bytes", "description_length_bytes", "bits_per_byte", "seconds",
    "bytes_per_second", "preset", "config",
}  # fmt: skip


def test_report_is_honest(tiny, alice_slice):
    result = onlinezip.compress_result(alice_slice, tiny)
    rep = result.report
    assert REPORT_KEYS <= set(rep)
    assert rep["container_bytes"] == len(result.output)
    assert rep["header_bytes"] + rep["payload_bytes"] == rep["container_bytes"]
    assert rep["nll_bits"] == pytest.approx(float(result.bits.sum()), rel=0, abs=1e-6)
    # The coder is within 0.5 % + 16 bytes of the ideal code length it was given.
    assert abs(rep["payload_bytes"] - rep["nll_bits"] / 8) <= 0.005 * rep["nll_bits"] / 8 + 16
    assert rep["description_length_bytes"] == rep["code_bytes"] + rep["container_bytes"]
    assert rep["bits_per_byte"] == 8 * len(result.output) / len(alice_slice)
    assert rep["seconds"] > 0 and rep["preset"] == "custom"


def test_code_bytes_is_a_real_xz_size_and_does_not_depend_on_model_size():
    small, base = load_preset("tiny"), load_preset("base")
    a, b = mdl.code_bytes(small), mdl.code_bytes(base)
    assert 2_000 < a < 200_000
    assert abs(a - b) < 16  # a bigger model costs no more code: only its config differs
    assert mdl.code_bytes(small) == a  # reproducible
