import struct
import zlib

import pytest

from onlinezip import container
from onlinezip.config import Config
from onlinezip.errors import OnlinezipError

HEADER = container.Header(
    length=5, streams=1, sha256=container.sha256(b"hello"), payload_bytes=8, payload_crc32=0,
    config=Config(), environment={"jax": "0.10.2"}, nll_bits=12.5, preset="default",
    num_parameters=10,
)  # fmt: skip
PAYLOAD = b"\x01\x02\x03\x04\x05\x06\x07\x08"


def test_pack_parse_roundtrip():
    blob = container.pack(HEADER, PAYLOAD)
    header, payload = container.parse(blob)
    assert payload == PAYLOAD
    assert header.config == HEADER.config and header.length == 5 and header.nll_bits == 12.5
    assert header.payload_crc32 == zlib.crc32(PAYLOAD)
    assert container.header_size(blob) == len(blob) - len(PAYLOAD)


def test_fields_are_little_endian_at_documented_offsets():
    blob = container.pack(HEADER, PAYLOAD)
    assert blob[:8] == container.MAGIC
    assert struct.unpack_from("<H", blob, 8)[0] == container.VERSION
    assert struct.unpack_from("<Q", blob, 12)[0] == 5
    assert blob[24:56] == container.sha256(b"hello")


def _flip(blob: bytes, at: int) -> bytes:
    return blob[:at] + bytes([blob[at] ^ 0x40]) + blob[at + 1 :]


@pytest.mark.parametrize(
    "mutate,message",
    [
        (lambda b: b"", "empty file"),
        (lambda b: b"PK\x03\x04" + b[4:], "bad magic"),
        (lambda b: b[:30], "truncated"),
        (lambda b: b[:-1], "truncated"),
        (lambda b: b + b"\x00", "unexpected bytes"),
        (lambda b: _flip(b, 80), "header checksum"),
        (lambda b: _flip(b, 14), "header checksum"),
        (lambda b: _flip(b, len(b) - 2), "payload checksum"),
        (lambda b: b[:8] + struct.pack("<H", 9) + b[10:], "unsupported format version 9"),
    ],
)
def test_bad_containers_are_refused_with_a_clear_message(mutate, message):
    with pytest.raises(OnlinezipError, match=message):
        container.parse(mutate(container.pack(HEADER, PAYLOAD)))


def test_absurd_length_is_refused_before_any_work():
    blob = bytearray(container.pack(HEADER, PAYLOAD))
    struct.pack_into("<Q", blob, 12, 2**60)
    meta_end = len(blob) - len(PAYLOAD) - 4
    struct.pack_into("<I", blob, meta_end, zlib.crc32(bytes(blob[:meta_end])))
    with pytest.raises(OnlinezipError, match="implausible"):
        container.parse(bytes(blob))


def test_claimed_length_reads_the_header_without_checks():
    blob = container.pack(HEADER, PAYLOAD)
    assert container.claimed_length(blob) == 5
    assert container.claimed_length(b"") == container.claimed_length(b"junk" * 30) == 0
