import dataclasses
import io

import pytest

import onlinezip
from conftest import GOLDEN, LEGACY_FLOAT_CPUS
from onlinezip import api, container, runtime


@pytest.fixture(scope="module")
def blob(tiny, alice_slice):
    return onlinezip.compress(alice_slice[:800], tiny)


def _repack(blob: bytes, summary=None, **changes) -> bytes:
    header, old_summary, frames = container.parse(blob)
    header = dataclasses.replace(header, **changes)
    return container.pack(header, frames, summary or old_summary)


def test_api_roundtrip_and_presets(blob, alice_slice):
    assert onlinezip.decompress(blob) == alice_slice[:800]
    header, summary, rep = onlinezip.read_header(blob)
    assert header.preset == "custom" and rep["container_bytes"] == len(blob)
    assert summary.length == 800 and rep["nll_bits"] == summary.nll_bits


def test_default_preset_roundtrip():
    data = b"abracadabra " * 20
    assert onlinezip.decompress(onlinezip.compress(data)) == data


def test_other_environment_is_refused_naming_the_difference(blob, alice_slice):
    header, _, _ = container.parse(blob)
    other = _repack(blob, environment={**header.environment, "jaxlib": "0.0.1"})
    with pytest.raises(onlinezip.OnlinezipError, match=r"jaxlib 0\.0\.1 \(file\)"):
        onlinezip.decompress(other)
    # The override is risky but never silent: the checksum still guards the bytes.
    assert onlinezip.decompress(other, ignore_environment=True) == alice_slice[:800]


def test_a_float_model_file_from_another_cpu_is_refused_before_decoding(blob, alice_slice):
    """The float models' bits depend on the CPU model (an Intel and an AMD CPU at the same
    ISA cap disagreed), so a file made on another CPU model is refused up front."""
    header, _, _ = container.parse(blob)
    assert header.environment["cpu"] == runtime.cpu_model()
    other = _repack(blob, environment={**header.environment, "cpu": "OtherVendor 1/2"})
    with pytest.raises(onlinezip.OnlinezipError, match=r"cpu OtherVendor 1/2 \(file\) vs"):
        onlinezip.decompress(other)
    assert onlinezip.decompress(other, ignore_environment=True) == alice_slice[:800]
    # files of 0.3 record no CPU: decoded, their checksums guarding the bytes
    older = {k: v for k, v in header.environment.items() if k != "cpu"}
    assert onlinezip.decompress(_repack(blob, environment=older)) == alice_slice[:800]


def test_a_cm_file_from_another_cpu_decodes():
    """The cm family's arithmetic is integer: its files record no CPU model (24 bytes
    saved) and decode on any x86-64 CPU, even one a file claims to be from."""
    data = b"context mixing is integer arithmetic. " * 8
    cm = {"orders": [1, 2], "table_bits": 12}
    cfg = onlinezip.Config().replace(model={"family": "cm"}, cm=cm)
    blob = onlinezip.compress(data, cfg)
    header, _, _ = container.parse(blob)
    assert "cpu" not in header.environment
    other = _repack(blob, environment={**header.environment, "cpu": "OtherVendor 1/2"})
    assert onlinezip.decompress(other) == data


def test_checksum_mismatch_after_decoding_is_an_error(blob):
    _, summary, _ = container.parse(blob)
    wrong = _repack(blob, dataclasses.replace(summary, sha256=container.sha256(b"other")))
    with pytest.raises(onlinezip.OnlinezipError, match="SHA-256"):
        onlinezip.decompress(wrong)


def test_wrong_config_in_header_fails_the_checksum(blob, tiny):
    wrong = _repack(blob, config=tiny.replace(run={"seed": 12345}))
    with pytest.raises(onlinezip.OnlinezipError, match="does not match"):
        onlinezip.decompress(wrong)


def test_bad_config_type_is_a_type_error():
    with pytest.raises(TypeError):
        onlinezip.compress(b"x", config=3)  # type: ignore[arg-type]


def test_streaming_api_matches_bytes_api_and_counts_what_it_wrote(tmp_path, tiny, alice_slice):
    cfg = tiny.replace(run={"chunk_bytes": 1024})  # three frames
    src, blob_path = tmp_path / "in", tmp_path / "in.oz"
    src.write_bytes(alice_slice)
    with open(src, "rb") as fin, open(blob_path, "wb") as fout:
        rep = onlinezip.compress_stream(fin, fout, cfg)
    blob = blob_path.read_bytes()
    assert blob == onlinezip.compress(alice_slice, cfg)
    assert rep["container_bytes"] == len(blob) and rep["original_bytes"] == len(alice_slice)
    assert len(container.parse(blob)[2]) == 3
    out = io.BytesIO()
    with open(blob_path, "rb") as fin:
        back = onlinezip.decompress_stream(fin, out)
    assert out.getvalue() == alice_slice
    assert back["container_bytes"] == len(blob) and back["nll_bits"] == rep["nll_bits"]


def test_jax_started_before_onlinezip_is_refused_loudly():
    import subprocess
    import sys

    code = (
        "import jax; jax.devices()\n"
        "import onlinezip\n"
        "try:\n    onlinezip.compress(b'abc' * 20)  # 16+ bytes: the model runs\n"
        "except onlinezip.OnlinezipError as e:\n    print('refused:', e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert "refused: JAX was initialised before onlinezip" in out.stdout, out.stderr


@pytest.mark.parametrize(
    "data", [b"", b"\x00", bytes(range(256)), b"q" * 10_000, bytes(range(256))[::-3] * 9]
)
def test_edge_case_roundtrip_through_api(tiny, data):
    assert onlinezip.decompress(onlinezip.compress(data, tiny)) == data


def test_a_config_that_0_2_0_knew_is_written_as_0_2_0_wrote_it():
    """Keys added since (``run.step_program``) stay out of the header at their default:
    re-encoding the golden format-2 sample under its own header's config gives that
    file's config, payloads and end record (made by 0.2.0, on another machine); its
    environment gains only the CPU model (recorded since 0.4), and the format-3 framing
    around them differs (format 4: a flag, kind bytes, shorter fields and digest). The
    payloads are the same on the CPU models 0.2's float bits replay on."""
    golden = (GOLDEN / "sample.v2.oz").read_bytes()
    header, summary, frames = container.parse(golden)
    assert header.config.run.step_program == 1
    again = api.compress((GOLDEN / "sample.txt").read_bytes(), header.config)
    assert container.Reader(io.BytesIO(again)).version == 4
    new_header, new_summary, new_frames = container.parse(again)
    assert new_summary.length == summary.length
    assert new_summary.sha256 == summary.sha256[: container.DIGEST_BYTES]
    if runtime.cpu_model() in LEGACY_FLOAT_CPUS:
        assert new_frames == frames and new_summary.nll_bits == summary.nll_bits
    assert new_header.environment.pop("cpu") == runtime.cpu_model()
    assert new_header == header
    assert container.parse(container.pack(new_header, frames, summary))[0] == header
