import dataclasses
import io
import struct
import zlib
from pathlib import Path

import pytest

from conftest import LEGACY_FLOAT_CPUS
from onlinezip import container
from onlinezip.config import Config
from onlinezip.container import Frame, Summary
from onlinezip.errors import OnlinezipError

CONFIG = Config().replace(run={"chunk_bytes": 256})
HEADER = container.Header(
    streams=1, config=CONFIG, environment={"jax": "0.10.2"}, preset="default",
    num_parameters=10,
)  # fmt: skip
DATA = bytes(range(256)) + b"tail!"
FRAMES = [
    Frame(256, b"\x01\x02\x03\x04" * 3, zlib.crc32(DATA[:256])),
    Frame(5, b"\x05\x06\x07\x08", zlib.crc32(DATA[256:])),
]
SUMMARY = Summary(len(DATA), container.sha256(DATA), 12.5)
READ_SUMMARY = dataclasses.replace(SUMMARY, sha256=SUMMARY.sha256[:8])  # v4 keeps 8 bytes


def _blob() -> bytes:
    return container.pack(HEADER, FRAMES, SUMMARY)


def test_pack_parse_roundtrip():
    header, summary, frames = container.parse(_blob())
    assert header == HEADER and summary == READ_SUMMARY and frames == FRAMES
    assert container.digest_matches(summary, container.sha256(DATA))
    assert not container.digest_matches(summary, container.sha256(b"other"))


def test_fields_are_little_endian_at_documented_offsets():
    blob = _blob()
    assert blob[:8] == container.MAGIC
    assert container.VERSION == 4
    assert struct.unpack_from("<HHBB", blob, 8) == (4, container.FLAG_MODEL, 1, blob[13])
    meta_end = 14 + blob[13]  # streams 1 and the meta's length, one LEB128 byte each
    assert struct.unpack_from("<I", blob, meta_end)[0] == zlib.crc32(blob[:meta_end])
    first = container.header_size(blob)
    assert first == meta_end + 4
    assert blob[first : first + 4] == bytes([1, 0x80, 0x02, 12])  # coded, n 256, P 12
    assert struct.unpack_from("<II", blob, first + 4) == (
        zlib.crc32(FRAMES[0].payload), FRAMES[0].data_crc32,
    )  # fmt: skip
    assert blob[first + 12 : first + 24] == FRAMES[0].payload
    end = len(blob) - 23
    assert blob[end : end + 3] == bytes([0, 0x85, 0x02])  # kind 0, length 261
    assert struct.unpack_from("<8sd", blob, end + 3) == (SUMMARY.sha256[:8], 12.5)
    assert struct.unpack_from("<I", blob, end + 19)[0] == zlib.crc32(blob[end : end + 19])


@pytest.mark.parametrize(
    "preset,streams,weights", [("default", 16, 137107924), ("max", 1, 162028544)]
)
def test_a_small_file_costs_little_container(preset, streams, weights):
    """A bundled preset's header with this machine's environment (as the pinned versions
    give it) deflates to a few bytes; with one frame and the end record, at most 73 bytes
    of container (version 3: 134 for max; max took 68 when format 4 began, 71 since its
    pixel model, 73 since session 11's mixers: the dictionary holds their keys farther
    from its end)."""
    from onlinezip import runtime
    from onlinezip.config import arithmetic_family, load_preset

    cfg = load_preset(preset)
    env = runtime.file_environment(arithmetic_family(cfg))
    header = container.Header(streams, cfg, env, preset, weights)
    blob = container.pack(header, [Frame(4227, b"\0" * 1400, 0)], Summary(4227, bytes(32), 9e3))
    assert len(container.header_bytes(header)) <= 16 + 2 + 20
    assert len(blob) - 1400 <= 73


def test_streaming_reader_hands_out_frames_in_order():
    reader = container.Reader(io.BytesIO(_blob()))
    assert reader.summary is None  # known only at the end
    assert list(reader.frames()) == FRAMES
    assert reader.summary == READ_SUMMARY and reader.bytes_read == len(_blob())


def _flip(blob: bytes, at: int) -> bytes:
    return blob[:at] + bytes([blob[at] ^ 0x40]) + blob[at + 1 :]


def _first_frame(blob: bytes) -> int:
    return container.header_size(blob)


@pytest.mark.parametrize(
    "mutate,message",
    [
        (lambda b: b"", "empty file"),
        (lambda b: b"PK\x03\x04" + b[4:], "bad magic"),
        (lambda b: b[:9], "header is incomplete"),
        (lambda b: b[:30], "truncated"),
        (lambda b: b[:-1], "truncated"),
        (lambda b: b[: _first_frame(b) + 20], "truncated: the payload of frame 0"),
        (lambda b: b + b"\x00", "unexpected bytes"),
        (lambda b: _flip(b, 14), "header checksum"),
        (lambda b: _flip(b, _first_frame(b) - 6), "header checksum"),
        (lambda b: _flip(b, _first_frame(b) + 17), "frame 0's checksum"),
        (lambda b: _flip(b, _first_frame(b) + 1), "implausible sizes"),
        (lambda b: _flip(b, len(b) - 10), "end record: checksum"),
        (lambda b: b[:8] + struct.pack("<H", 9) + b[10:], "unsupported format version 9"),
    ],
)
def test_bad_containers_are_refused_with_a_clear_message(mutate, message):
    with pytest.raises(OnlinezipError, match=message):
        container.parse(mutate(_blob()))


def test_short_frame_before_the_last_is_refused():
    frames = [FRAMES[1], FRAMES[0]]  # a 5-byte frame, then another
    with pytest.raises(OnlinezipError, match="implausible sizes"):
        container.parse(container.pack(HEADER, frames, SUMMARY))


def test_end_record_must_match_the_frames():
    wrong = dataclasses.replace(SUMMARY, length=2**40)  # an absurd claim, CRC-valid
    with pytest.raises(OnlinezipError, match="length 1099511627776 but frames hold 261"):
        container.parse(container.pack(HEADER, FRAMES, wrong))
    longer = dataclasses.replace(SUMMARY, length=2**60)  # no file holds 2**42 bytes
    with pytest.raises(OnlinezipError, match="end record: a length field is too long"):
        container.parse(container.pack(HEADER, FRAMES, longer))


def test_absurd_streams_or_chunk_size_are_refused_before_any_work():
    blob = container.pack(dataclasses.replace(HEADER, streams=10**6), FRAMES, SUMMARY)
    with pytest.raises(OnlinezipError, match="streams is implausible"):
        container.parse(blob)
    huge = bytearray(_blob())  # a coded frame claiming more than a chunk: refused unread
    first = container.header_size(bytes(huge))
    huge[first + 1 : first + 3] = b"\x81\x02"  # n = 257 > chunk_bytes
    with pytest.raises(OnlinezipError, match="implausible sizes"):
        container.parse(bytes(huge))


@pytest.mark.parametrize(
    "field,message",
    [(b"\x80\x80\x80\x80\x80\x01", "too long"), (b"\x85\x00", "not minimal")],
)
def test_variable_length_fields_are_minimal_and_bounded(field, message):
    blob = _blob()
    first = container.header_size(blob)
    bad = blob[: first + 1] + field + blob[first + 3 :]  # in place of frame 0's n
    with pytest.raises(OnlinezipError, match=message):
        container.parse(bad)


def test_frame_payload_bound_stops_huge_reads():
    frame = Frame(256, b"\0" * (container.max_payload_bytes(256) + 4), 0)
    with pytest.raises(OnlinezipError, match="implausible sizes"):
        container.parse(container.pack(HEADER, [frame], SUMMARY))


def _with_meta(meta_json: bytes) -> bytes:
    """A CRC-valid empty v2 container whose meta inflates to ``meta_json``."""
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15, zdict=container.META_DICTIONARY)
    meta = deflate.compress(meta_json) + deflate.flush()
    head = struct.pack("<8sHHII", container.MAGIC, 2, 0, 1, len(meta)) + meta
    end = struct.pack("<IQ32sd", 0, 0, container.sha256(b""), 0.0)
    return head + struct.pack("<I", zlib.crc32(head)) + end + struct.pack("<I", zlib.crc32(end))


@pytest.mark.parametrize(
    "meta_json",
    [b"[" * 100_000, b'{"x": "' + b"a" * 200_000 + b'"}', b"{not json"],
    ids=["deeply nested", "inflates past 64 KiB", "not json"],
)
def test_hostile_metadata_is_refused_in_one_line(meta_json):
    with pytest.raises(OnlinezipError, match="unreadable metadata"):
        container.parse(_with_meta(meta_json))


def test_version_1_claiming_an_absurd_length_is_refused_before_any_work():
    v1 = (Path(__file__).parent / "golden" / "sample.v1.oz").read_bytes()
    blob = bytearray(v1)
    struct.pack_into("<Q", blob, 12, 2**33)
    meta_end = 72 + struct.unpack_from("<I", blob, 68)[0]
    struct.pack_into("<I", blob, meta_end, zlib.crc32(bytes(blob[:meta_end])))
    with pytest.raises(OnlinezipError, match="length 8589934592 is implausible"):
        container.parse(bytes(blob))


# --------------------------------------------------------------------------- format 3

GOLDEN = Path(__file__).parent / "golden"
# 256 bytes no model can shrink, the same forever (the first chunk of sample.v3.oz)
RANDOM = b"".join(
    __import__("hashlib").sha256(b"onlinezip golden %d" % i).digest() for i in range(8)
)


def _stored_blob(data: bytes) -> bytes:
    frames = [Frame(len(data), data, zlib.crc32(data), stored=True)] if data else []
    summary = Summary(len(data), None, 8.0 * len(data), zlib.crc32(data))
    return container.pack(container.STORED_HEADER, frames, summary)


def test_stored_only_layout_is_compact_and_as_documented():
    empty = _stored_blob(b"")
    assert len(empty) == 26 == container.stored_file_size(0)
    assert struct.unpack_from("<8sHH", empty) == (container.MAGIC, 4, 0)  # no MODEL flag
    assert struct.unpack_from("<I", empty, 12)[0] == zlib.crc32(empty[:12])
    assert empty[16:22] == b"\0\0" + struct.pack("<I", 0)  # kind 0, LEB128 length 0, CRC
    blob = _stored_blob(b"hello")
    assert blob[16] == container.KIND_STORED
    assert blob[17] == 5 and struct.unpack_from("<I", blob, 18)[0] == zlib.crc32(b"hello")
    assert blob[22:27] == b"hello"
    assert len(blob) == container.stored_file_size(5) == 16 + 6 + 5 + 10
    header, summary, frames = container.parse(blob)
    assert not header.model and summary.crc32 == zlib.crc32(b"hello")
    assert frames == [Frame(5, b"hello", zlib.crc32(b"hello"), stored=True)]
    big = _stored_blob(bytes(100_000))
    assert len(big) - 100_000 == 36  # 16 header + 8 frame + 12 end (3-byte lengths)


@pytest.mark.parametrize(
    "mutate,message",
    [
        (lambda b: b[:-1], "truncated"),
        (lambda b: b + b"\0", "unexpected bytes"),
        (lambda b: _flip(b, 11), "header checksum"),
        (lambda b: _flip(b, 24), "frame 0's checksum"),  # a stored byte
        (lambda b: _flip(b, 21), "frame 0's checksum"),  # its CRC
        (lambda b: _flip(b, len(b) - 7), "end record: checksum"),
        (lambda b: b[:16] + b"\x07" + b[17:], "unknown frame kind 7"),
        (lambda b: b[:16] + b"\x01" + b[17:], "a coded frame in a stored-only file"),
    ],
)
def test_damaged_stored_files_are_refused(mutate, message):
    with pytest.raises(OnlinezipError, match=message):
        container.parse(mutate(_stored_blob(b"hello")))


def test_the_end_record_checks_the_whole_original():
    blob = bytearray(_stored_blob(b"hello"))
    end = len(blob) - 10
    struct.pack_into("<I", blob, end + 2, zlib.crc32(b"other"))
    struct.pack_into("<I", blob, end + 6, zlib.crc32(bytes(blob[end : end + 6])))
    _, summary, _ = container.parse(bytes(blob))  # the container itself is consistent...
    with pytest.raises(OnlinezipError, match="original's CRC-32"):  # ...the data is not
        __import__("onlinezip").decompress(bytes(blob))


def test_unknown_flags_are_refused_reserved_for_segments():
    for version in (3, 4):
        head = struct.pack("<8sHH", container.MAGIC, version, container.FLAG_SEGMENTS)
        blob = head + struct.pack("<I", zlib.crc32(head)) + _stored_blob(b"")[16:]
        with pytest.raises(OnlinezipError, match="unsupported header flags 0x2"):
            container.parse(blob)


def test_writer_refuses_a_coded_frame_in_a_stored_only_file():
    with pytest.raises(ValueError, match="no coded frames"):
        container.pack(container.STORED_HEADER, FRAMES, Summary(0, None, 0.0, 0))


def test_mixed_frames_roundtrip_in_a_model_file():
    frames = [Frame(256, DATA[:256], zlib.crc32(DATA[:256]), stored=True), FRAMES[1]]
    blob = container.pack(HEADER, frames, SUMMARY)
    assert container.parse(blob)[2] == frames
    assert blob[container.header_size(blob)] == container.KIND_STORED


@pytest.mark.parametrize("name", ["empty.v3.oz", "stored.v3.oz", "empty.v4.oz", "stored.v4.oz"])
def test_golden_stored_files(name):
    blob = (GOLDEN / name).read_bytes()
    original = b"" if name.startswith("empty") else RANDOM
    header, summary, frames = container.parse(blob)
    assert container.Reader(io.BytesIO(blob)).version == int(name[-4]) and not header.model
    assert summary.length == len(original) and summary.crc32 == zlib.crc32(original)
    assert b"".join(f.payload for f in frames) == original
    if name.endswith(".v4.oz"):
        assert blob == _stored_blob(original)  # this release writes them byte for byte


def test_golden_v3_model_file_with_a_stored_chunk_decodes():
    """sample.v3.oz (0.3, the default preset's network): RANDOM then sample.txt in 256-byte
    chunks; the first is stored, the others coded by a model that learnt from the stored
    bytes too (decoding must replay that, or the coded chunks fail their checks). Its
    float bits replay on LEGACY_FLOAT_CPUS; elsewhere it is refused in one line."""
    import onlinezip
    from onlinezip import runtime

    blob = (GOLDEN / "sample.v3.oz").read_bytes()
    original = RANDOM + (GOLDEN / "sample.txt").read_bytes()
    header, _, frames = container.parse(blob)
    assert header.model and [f.stored for f in frames] == [True, False, False, False]
    if runtime.cpu_model() in LEGACY_FLOAT_CPUS:
        assert onlinezip.decompress(blob) == original
    else:
        with pytest.raises(OnlinezipError, match="decoded data is wrong: chunk 1 does not"):
            onlinezip.decompress(blob)


def test_golden_v4_model_file_with_a_stored_chunk(monkeypatch):
    """sample.v4.oz: the same input in format 4, coded by max with small tables (integer
    arithmetic: it decodes on any CPU model). Re-encoded under the environment it
    records, the same header, frames and end record come out (the frames byte for byte;
    the meta's deflated bytes may differ, since format 4's dictionary grows at its front,
    session 10)."""
    import onlinezip
    from onlinezip import runtime

    blob = (GOLDEN / "sample.v4.oz").read_bytes()
    original = RANDOM + (GOLDEN / "sample.txt").read_bytes()
    header, summary, frames = container.parse(blob)
    assert container.Reader(io.BytesIO(blob)).version == 4 and header.preset == "custom"
    assert [f.stored for f in frames] == [True, False, False, False]
    assert summary.length == len(original) and len(summary.sha256) == 8
    assert onlinezip.decompress(blob) == original
    monkeypatch.setattr(runtime, "fingerprint", lambda: dict(header.environment, cpu="any"))
    again = container.parse(onlinezip.compress(original, header.config))
    assert again == (header, summary, frames)


def test_format_2_and_1_golden_files_are_still_read():
    for name in ("sample.v1.oz", "sample.v2.oz"):
        blob = (GOLDEN / name).read_bytes()
        reader = container.Reader(io.BytesIO(blob))
        assert reader.version == int(name[-4]) and reader.header.model
        assert container.scan(io.BytesIO(blob))[1].length == 600
