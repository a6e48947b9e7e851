import dataclasses
import io
import struct
import zlib
from pathlib import Path

import pytest

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


def _blob() -> bytes:
    return container.pack(HEADER, FRAMES, SUMMARY)


def test_pack_parse_roundtrip():
    header, summary, frames = container.parse(_blob())
    assert header == HEADER and summary == SUMMARY and frames == FRAMES


def test_fields_are_little_endian_at_documented_offsets():
    blob = _blob()
    assert blob[:8] == container.MAGIC
    assert struct.unpack_from("<HHII", blob, 8)[:3] == (container.VERSION, 0, 1)
    first = container.header_size(blob)
    assert struct.unpack_from("<IIII", blob, first) == (
        256, 12, zlib.crc32(FRAMES[0].payload), FRAMES[0].data_crc32,
    )  # fmt: skip
    end = len(blob) - 56
    assert struct.unpack_from("<IQ32sd", blob, end) == (0, 261, SUMMARY.sha256, 12.5)


def test_streaming_reader_hands_out_frames_in_order():
    reader = container.Reader(io.BytesIO(_blob()))
    assert reader.summary is None  # known only at the end
    assert list(reader.frames()) == FRAMES
    assert reader.summary == SUMMARY and reader.bytes_read == len(_blob())


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
        (lambda b: _flip(b, len(b) - 30), "end record: checksum"),
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
    wrong = dataclasses.replace(SUMMARY, length=2**60)  # an absurd claim, CRC-valid
    with pytest.raises(OnlinezipError, match="length 1152921504606846976 but frames hold 261"):
        container.parse(container.pack(HEADER, FRAMES, wrong))


def test_absurd_streams_or_chunk_size_are_refused_before_any_work():
    blob = bytearray(_blob())
    struct.pack_into("<I", blob, 12, 10**6)  # streams
    head_end = container.header_size(bytes(_blob())) - 4
    struct.pack_into("<I", blob, head_end, zlib.crc32(bytes(blob[:head_end])))
    with pytest.raises(OnlinezipError, match="streams is implausible"):
        container.parse(bytes(blob))


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
