"""The .oz container: explicit little-endian bytes, read and written as a stream.

Format version 2 (written by this release)::

    header
      0     8   magic  b"\\x89OZIP\\r\\n\\x1a"
      8     2   format version (u16) = 2
      10    2   flags (u16, must be 0)
      12    4   streams B (u32)
      16    4   meta length M (u32)
      20    M   meta: raw-deflated canonical UTF-8 JSON {config, environment, preset,
                num_parameters}, with ``META_DICTIONARY`` as the preset dictionary
      20+M  4   CRC-32 of the header's bytes so far (u32)
    frames, one per chunk of ``config.run.chunk_bytes`` original bytes (the last one may
    be shorter; an empty input has none)
      0     4   original bytes n in the chunk (u32, 1..chunk_bytes)
      4     4   payload length P (u32, a multiple of 4)
      8     4   CRC-32 of the payload (u32)
      12    4   CRC-32 of the chunk's original bytes (u32), checked before it is output
      16    P   payload: the range coder's 32-bit words for the chunk, little-endian
    end record
      0     4   0 (u32: no frame has 0 bytes, so this ends the frames)
      4     8   original length (u64) = the sum of the frames' n
      12    32  SHA-256 of the original
      44    8   NLL in bits (f64): sum of -log2 p that the coder was given
      52    4   CRC-32 of the end record's bytes so far (u32)
    then the end of the file: trailing bytes are refused.

Version 1 (one payload, whole-file fields in the header) is still read: see ``_read_v1``.

``Reader`` checks each part as it arrives (a pipe can be decoded); ``scan`` walks a
whole file first so that a damaged file is refused before any decoding work.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

from onlinezip.config import Config, config_from_dict
from onlinezip.errors import OnlinezipError

MAGIC = b"\x89OZIP\r\n\x1a"
VERSION = 2
READABLE_VERSIONS = (1, 2)
_PREFIX = struct.Struct("<8sH")  # magic, version: the same in every version
_HEAD = struct.Struct("<8sHHII")  # v2: magic, version, flags, streams, meta length
_FRAME = struct.Struct("<IIII")  # n, payload length, payload CRC, original CRC
_END = struct.Struct("<IQ32sd")  # 0, original length, SHA-256, NLL bits
_CRC = struct.Struct("<I")
MAX_META_BYTES = 1 << 16
# Part of format version 1, never to be edited: deflate's preset dictionary for the meta.
META_DICTIONARY_V1 = (
    b'"family":"transformer""family":"lstm""family":"gru""name":"sgd"'
    b'{"config":{"model":{"context":32,"embed_dim":32,"family":"hashctx","hidden_dim":32,'
    b'"mlp_ratio":4,"num_heads":4,"num_layers":1,"orders":7,"table_bits":18},"optimizer":'
    b'{"b1":0.9,"b2":0.999,"eps":1e-08,"grad_clip":0.0,"learning_rate":0.008,"momentum":0.0,'
    b'"name":"adam","row_decay":0.1,"row_learning_rate":0.3,"row_min_scale":0.02},"run":'
    b'{"min_stream_bytes":4096,"prob_floor":1e-05,"seed":0,"streams":8}},"environment":'
    b'{"backend":"cpu","constriction":"0.5.0","flax":"0.12.8","isa":"AVX2","jax":"0.10.2",'
    b'"jaxlib":"0.10.2","machine":"x86_64","numpy":"2.4.6","onlinezip":"0.1.0",'
    b'"optax":"0.2.8","threads":"1"},"nll_bits":'
)
# Part of format version 2, never to be edited: deflate's preset dictionary for the meta,
# ending with the default preset's meta as 0.2.0 writes it (deflate reaches back for
# matches, the nearest cheapest), so a header's metadata costs 20 to 60 bytes, not 700.
META_DICTIONARY = (
    b'"family":"transformer""family":"lstm""family":"gru""name":"sgd""preset":"custom"'
    b'"preset":"rae""preset":"tiny""preset":"small""preset":"base""preset":"fast"'
    b'"preset":"max""word_orders":0"direct_orders":4,"direct_bits":18'
    b'{"config":{"model":{"context":32,"direct_bits":16,"direct_orders":1,"embed_dim":32,'
    b'"family":"hashctx","hidden_dim":32,"mlp_ratio":4,"num_heads":4,"num_layers":1,'
    b'"orders":6,"table_bits":18,"word_orders":2},"optimizer":{"b1":0.9,"b2":0.999,'
    b'"eps":1e-08,"grad_clip":0.0,"learning_rate":0.008,"momentum":0.0,"name":"adam",'
    b'"row_decay":0.1,"row_learning_rate":0.3,"row_min_scale":0.02},"run":{"chunk_bytes":'
    b'1048576,"min_stream_bytes":4096,"prob_floor":1e-05,"seed":0,"streams":8}},'
    b'"environment":{"backend":"cpu","constriction":"0.5.0","flax":"0.12.8","isa":"AVX2",'
    b'"jax":"0.10.2","jaxlib":"0.10.2","machine":"x86_64","numpy":"2.4.6","onlinezip":'
    b'"0.1.0","optax":"0.2.8","threads":"1"},"num_parameters":8781312,"preset":"default"}'
)
_META_LEVEL, _META_WBITS = 9, -15  # raw deflate: no zlib header or checksum (CRCs guard)
MAX_ORIGINAL_BYTES = 1 << 40  # 1 TiB: refuse absurd lengths before allocating anything
MAX_STREAMS = 1024
MAX_V1_BYTES = 1 << 26  # version 1 wrote no file larger than the largest chunk


# Config keys added since format 2 was released, with the value that means what 0.2.0
# did. A header leaves such a key out when it has that value (loading fills it back in),
# so a config 0.2.0 knew gives the very header 0.2.0 wrote, which 0.2.0 still reads.
LATER_KEY_DEFAULTS = {("run", "step_program"): 1}


def _config_meta(config: Config) -> dict[str, Any]:
    meta = config.to_dict()
    for (section, key), value in LATER_KEY_DEFAULTS.items():
        if meta[section][key] == value:
            del meta[section][key]
    if config.model.family != "cm":
        del meta["cm"]  # the [cm] section (added in 0.4.0) only matters to the cm family
    return meta


@dataclass(frozen=True)
class Header:
    """What the decoder needs before the first byte: how to rebuild the model."""

    streams: int  # B
    config: Config
    environment: dict[str, str]  # runtime.fingerprint() of the encoder
    preset: str  # preset name, or "custom"
    num_parameters: int  # weights in the model

    def meta(self) -> dict[str, Any]:
        return {
            "config": _config_meta(self.config),
            "environment": self.environment,
            "preset": self.preset,
            "num_parameters": self.num_parameters,
        }


@dataclass(frozen=True)
class Summary:
    """What is known only at the end: the whole original's length, hash and cost."""

    length: int  # original bytes
    sha256: bytes  # of the original
    nll_bits: float  # sum of -log2 p over the probabilities the coder was given


@dataclass(frozen=True)
class Frame:
    length: int  # original bytes in the chunk
    payload: bytes  # the range coder's words
    data_crc32: int | None  # CRC-32 of the chunk's original bytes (None in version 1)


def max_payload_bytes(length: int) -> int:
    """An upper bound on a chunk's payload: every byte costs under 32 bits (prob_floor)."""
    return 4 * length + 64


# --------------------------------------------------------------------------- writing


class Writer:
    """Writes a version-2 container to ``out`` piece by piece; counts what it wrote."""

    def __init__(self, out: BinaryIO, header: Header):
        self._out, self.bytes_written, self.payload_bytes = out, 0, 0
        meta_json = json.dumps(header.meta(), sort_keys=True, separators=(",", ":"))
        deflate = zlib.compressobj(_META_LEVEL, zlib.DEFLATED, _META_WBITS, zdict=META_DICTIONARY)
        meta = deflate.compress(meta_json.encode()) + deflate.flush()
        head = _HEAD.pack(MAGIC, VERSION, 0, header.streams, len(meta)) + meta
        self._write(head + _CRC.pack(zlib.crc32(head)))

    def frame(self, frame: Frame) -> None:
        crc = frame.data_crc32 or 0
        fixed = _FRAME.pack(frame.length, len(frame.payload), zlib.crc32(frame.payload), crc)
        self._write(fixed + frame.payload)
        self.payload_bytes += len(frame.payload)

    def finish(self, summary: Summary) -> None:
        end = _END.pack(0, summary.length, summary.sha256, summary.nll_bits)
        self._write(end + _CRC.pack(zlib.crc32(end)))

    @property
    def overhead_bytes(self) -> int:
        """Everything written that is not range-coder payload."""
        return self.bytes_written - self.payload_bytes

    def _write(self, data: bytes) -> None:
        self._out.write(data)
        self.bytes_written += len(data)


def pack(header: Header, frames: list[Frame], summary: Summary) -> bytes:
    """A whole container in memory."""
    out = io.BytesIO()
    writer = Writer(out, header)
    for frame in frames:
        writer.frame(frame)
    writer.finish(summary)
    return out.getvalue()


# --------------------------------------------------------------------------- reading


def _inflate_meta(raw_meta: bytes, dictionary: bytes = META_DICTIONARY) -> str:
    """The meta's JSON text; at most ``MAX_META_BYTES`` of it, else the header is corrupt."""
    inflate = zlib.decompressobj(_META_WBITS, zdict=dictionary)
    raw = inflate.decompress(raw_meta, MAX_META_BYTES)
    if inflate.unconsumed_tail or not inflate.eof:
        raise ValueError("metadata is incomplete or inflates beyond 64 KiB")
    return raw.decode("utf-8")


def _parse_meta(raw_meta: bytes, streams: int, dictionary: bytes = META_DICTIONARY) -> Header:
    try:
        meta = json.loads(_inflate_meta(raw_meta, dictionary))
        header = Header(
            streams,
            config_from_dict(meta["config"]),
            {str(k): str(v) for k, v in meta["environment"].items()},
            str(meta["preset"]),
            int(meta["num_parameters"]),
        )
    except OnlinezipError as exc:
        raise OnlinezipError(
            f"corrupt header, or one from a newer onlinezip: bad config: {exc}"
        ) from None
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError, zlib.error) as exc:
        raise OnlinezipError(f"corrupt header: unreadable metadata ({exc})") from None
    if not 1 <= streams <= MAX_STREAMS:
        raise OnlinezipError(f"corrupt header: {streams} streams is implausible")
    return header


class Reader:
    """Reads a container from ``src``, checking each part before handing it out.

    ``header`` is read on construction; iterate ``frames()`` once, then ``summary`` holds
    the end record (checked against the frames' lengths, and for trailing bytes)."""

    def __init__(self, src: BinaryIO):
        self._src = src
        self.bytes_read = 0  # container bytes consumed so far
        self.payload_bytes = 0  # of which range-coder payload
        prefix = self._read(_PREFIX.size)
        if len(prefix) < len(MAGIC) or prefix[: len(MAGIC)] != MAGIC:
            what = "not an onlinezip (.oz) file (bad magic bytes)" if prefix else "an empty file"
            raise OnlinezipError(f"input is {what}")
        if len(prefix) < _PREFIX.size:
            raise OnlinezipError("file is truncated: the header is incomplete")
        self.version = _PREFIX.unpack(prefix)[1]
        if self.version not in READABLE_VERSIONS:
            raise OnlinezipError(
                f"unsupported format version {self.version} (this onlinezip reads versions "
                f"{', '.join(map(str, READABLE_VERSIONS))}); use the release that wrote the file"
            )
        self.summary: Summary | None = None
        if self.version == 1:
            self.header, self._v1_frame, self.summary = _read_v1(prefix + self._read(-1))
            self.payload_bytes = len(self._v1_frame.payload)
        else:
            self.header = self._read_header(prefix)

    def _read(self, size: int) -> bytes:
        data = self._src.read(size)
        self.bytes_read += len(data)
        return data

    def _read_exactly(self, size: int, what: str) -> bytes:
        data = self._read(size)
        if len(data) != size:
            raise OnlinezipError(f"file is truncated: the {what} is incomplete")
        return data

    def _read_header(self, prefix: bytes) -> Header:
        rest = self._read_exactly(_HEAD.size - len(prefix), "header")
        _, _, flags, streams, meta_len = _HEAD.unpack(prefix + rest)
        if meta_len > MAX_META_BYTES:
            raise OnlinezipError(f"corrupt header: meta length {meta_len} is implausible")
        meta = self._read_exactly(meta_len, "header")
        (crc,) = _CRC.unpack(self._read_exactly(_CRC.size, "header"))
        if zlib.crc32(prefix + rest + meta) != crc:
            raise OnlinezipError("corrupt header: header checksum mismatch")
        if flags != 0:
            raise OnlinezipError(f"unsupported header flags {flags:#x}")
        return _parse_meta(meta, streams)

    def frames(self) -> Iterator[Frame]:
        if self.version == 1:
            if self._v1_frame.length:
                yield self._v1_frame
            return
        chunk_bytes, total, index, short_seen = self.header.config.run.chunk_bytes, 0, 0, False
        while True:
            (first,) = _CRC.unpack(self._read_exactly(4, "frame list"))
            if first == 0:
                self.summary = self._read_end(total)
                return
            fixed = first.to_bytes(4, "little") + self._read_exactly(12, "frame header")
            n, size, payload_crc, data_crc = _FRAME.unpack(fixed)
            if short_seen or n > chunk_bytes or size % 4 or size > max_payload_bytes(n):
                raise OnlinezipError(f"corrupt frame {index}: implausible sizes ({n}, {size})")
            payload = self._read_exactly(size, f"payload of frame {index}")
            if zlib.crc32(payload) != payload_crc:
                raise OnlinezipError(f"corrupt payload: frame {index}'s checksum mismatch")
            total, self.payload_bytes = total + n, self.payload_bytes + size
            if total > MAX_ORIGINAL_BYTES:
                raise OnlinezipError("corrupt frames: the original would exceed 1 TiB")
            short_seen, index = n < chunk_bytes, index + 1
            yield Frame(n, payload, data_crc)

    def _read_end(self, total: int) -> Summary:
        rest = self._read_exactly(_END.size - 4 + _CRC.size, "end record")
        body = b"\0\0\0\0" + rest[: -_CRC.size]
        if zlib.crc32(body) != _CRC.unpack(rest[-_CRC.size :])[0]:
            raise OnlinezipError("corrupt end record: checksum mismatch")
        _, length, sha, nll_bits = _END.unpack(body)
        if length != total:
            raise OnlinezipError(f"corrupt end record: length {length} but frames hold {total}")
        if self._read(1):
            raise OnlinezipError("file is followed by unexpected bytes after its end record")
        return Summary(length, sha, nll_bits)


def header_size(blob: bytes) -> int:
    """Bytes before the first frame (version 2) or the payload (version 1)."""
    reader = Reader(io.BytesIO(blob))
    if reader.version == 1:
        return len(blob) - reader.payload_bytes
    return reader.bytes_read


def scan(src: BinaryIO) -> tuple[Header, Summary]:
    """Walk a whole container, checking every checksum and size, without decoding."""
    reader = Reader(src)
    for _ in reader.frames():
        pass
    assert reader.summary is not None
    return reader.header, reader.summary


def parse(blob: bytes) -> tuple[Header, Summary, list[Frame]]:
    """A whole in-memory container, checked."""
    reader = Reader(io.BytesIO(blob))
    frames = list(reader.frames())
    assert reader.summary is not None
    return reader.header, reader.summary, frames


# --------------------------------------------------------------------------- version 1

_V1_FIXED = struct.Struct("<8sHHQI32sQII")
# v1: magic, version, flags, length, streams, SHA-256, payload length, payload CRC, meta
# length; then meta (with nll_bits), CRC-32 of all that, then the payload; nothing after.


def _read_v1(blob: bytes) -> tuple[Header, Frame, Summary]:
    if len(blob) < _V1_FIXED.size:
        raise OnlinezipError("file is truncated: the header is incomplete")
    _, _, flags, length, streams, sha, payload_len, payload_crc, meta_len = (  # fmt: skip
        _V1_FIXED.unpack_from(blob)
    )
    if meta_len > MAX_META_BYTES:
        raise OnlinezipError(f"corrupt header: meta length {meta_len} is implausible")
    head_end = _V1_FIXED.size + meta_len
    if len(blob) < head_end + _CRC.size:
        raise OnlinezipError("file is truncated: the header is incomplete")
    if zlib.crc32(blob[:head_end]) != _CRC.unpack_from(blob, head_end)[0]:
        raise OnlinezipError("corrupt header: header checksum mismatch")
    if flags != 0:
        raise OnlinezipError(f"unsupported header flags {flags:#x}")
    if length > MAX_V1_BYTES:  # version 1 decoded a whole file in memory, as one chunk
        raise OnlinezipError(f"corrupt header: length {length} is implausible")
    expected = head_end + _CRC.size + payload_len
    if len(blob) != expected:
        problem = "truncated" if len(blob) < expected else "followed by unexpected bytes"
        raise OnlinezipError(f"file is {problem}: expected {expected} bytes, found {len(blob)}")
    payload = blob[head_end + _CRC.size :]
    if zlib.crc32(payload) != payload_crc:
        raise OnlinezipError("corrupt payload: payload checksum mismatch")
    raw_meta = blob[_V1_FIXED.size : head_end]
    header = _parse_meta(raw_meta, streams, META_DICTIONARY_V1)
    try:
        nll_bits = float(json.loads(_inflate_meta(raw_meta, META_DICTIONARY_V1))["nll_bits"])
    except (ValueError, KeyError, TypeError, RecursionError, zlib.error) as exc:
        raise OnlinezipError(f"corrupt header: unreadable metadata ({exc})") from None
    # A v1 file is one chunk, whatever its size: decode it as such.
    run = dataclasses.replace(header.config.run, chunk_bytes=max(length, 1))
    header = dataclasses.replace(header, config=dataclasses.replace(header.config, run=run))
    return header, Frame(length, payload, None), Summary(length, sha, nll_bits)


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()
