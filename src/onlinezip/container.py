"""The .oz container: explicit little-endian bytes, checked before any decoding work.

    offset  size  field
    0       8     magic  b"\\x89OZIP\\r\\n\\x1a"
    8       2     format version (u16)
    10      2     flags (u16, must be 0)
    12      8     original length in bytes (u64)
    20      4     streams B (u32)
    24      32    SHA-256 of the original
    56      8     payload length in bytes (u64)
    64      4     CRC-32 of the payload (u32)
    68      4     meta length M (u32)
    72      M     meta: raw-deflated canonical UTF-8 JSON {config, environment, nll_bits, ...},
                  with ``META_DICTIONARY`` as the preset dictionary
    72+M    4     CRC-32 of bytes [0, 72+M) (u32)
    76+M    ...   payload: the range coder's 32-bit words, little-endian

A file is exactly ``76 + M + payload length`` bytes: anything shorter is truncated,
anything longer has trailing garbage; both are refused.
"""

from __future__ import annotations

import hashlib
import json
import struct
import zlib
from dataclasses import dataclass
from typing import Any

from onlinezip.config import Config, config_from_dict
from onlinezip.errors import OnlinezipError

MAGIC = b"\x89OZIP\r\n\x1a"
VERSION = 1
_FIXED = struct.Struct("<8sHHQI32sQII")  # everything before the meta
_CRC = struct.Struct("<I")
MAX_META_BYTES = 1 << 16
# Part of format version 1, never to be edited: a typical meta, given to deflate as its
# preset dictionary, so that a header's metadata costs about 150 bytes rather than 400.
META_DICTIONARY = (
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
_META_LEVEL, _META_WBITS = 9, -15  # raw deflate: no zlib header or checksum (CRCs guard)
MAX_ORIGINAL_BYTES = 1 << 40  # 1 TiB: refuse absurd lengths before allocating anything
MAX_STREAMS = 1024


@dataclass(frozen=True)
class Header:
    length: int  # original bytes
    streams: int  # B
    sha256: bytes  # of the original
    payload_bytes: int  # as parsed (pack writes the real payload's length and CRC)
    payload_crc32: int
    config: Config
    environment: dict[str, str]  # runtime.fingerprint() of the encoder
    nll_bits: float  # sum of -log2 p over the probabilities the coder was given
    preset: str  # preset name, or "custom"
    num_parameters: int  # weights in the model

    def meta(self) -> dict[str, Any]:
        return {
            "config": self.config.to_dict(),
            "environment": self.environment,
            "nll_bits": self.nll_bits,
            "preset": self.preset,
            "num_parameters": self.num_parameters,
        }


def pack(header: Header, payload: bytes) -> bytes:
    meta_json = json.dumps(header.meta(), sort_keys=True, separators=(",", ":"))
    deflate = zlib.compressobj(_META_LEVEL, zlib.DEFLATED, _META_WBITS, zdict=META_DICTIONARY)
    meta = deflate.compress(meta_json.encode()) + deflate.flush()
    fixed = _FIXED.pack(
        MAGIC, VERSION, 0, header.length, header.streams, header.sha256,
        len(payload), zlib.crc32(payload), len(meta),
    )  # fmt: skip
    head = fixed + meta
    return head + _CRC.pack(zlib.crc32(head)) + payload


def claimed_length(blob: bytes) -> int:
    """The original length a blob's header claims, unchecked (for a progress bar's total);
    0 where there is no header. ``parse`` does the checking."""
    if len(blob) < _FIXED.size or blob[: len(MAGIC)] != MAGIC:
        return 0
    return _FIXED.unpack_from(blob)[3]


def header_size(blob: bytes) -> int:
    """Bytes before the payload (after ``parse`` accepted the blob)."""
    return _FIXED.size + _meta_length(blob) + _CRC.size


def _meta_length(blob: bytes) -> int:
    return _FIXED.unpack_from(blob)[-1]


def parse(blob: bytes) -> tuple[Header, bytes]:
    """Check everything that can be checked without decoding; return header and payload."""
    if len(blob) < len(MAGIC) or blob[: len(MAGIC)] != MAGIC:
        what = "an empty file" if not blob else "not an onlinezip (.oz) file (bad magic bytes)"
        raise OnlinezipError(f"input is {what}")
    if len(blob) < _FIXED.size:
        raise OnlinezipError("file is truncated: the header is incomplete")
    _, version, flags, length, streams, sha, payload_len, payload_crc, meta_len = (
        _FIXED.unpack_from(blob)
    )
    if version != VERSION:
        raise OnlinezipError(
            f"unsupported format version {version} (this onlinezip reads version {VERSION}); "
            "use the onlinezip release that wrote the file"
        )
    if meta_len > MAX_META_BYTES:
        raise OnlinezipError(f"corrupt header: meta length {meta_len} is implausible")
    head_end = _FIXED.size + meta_len
    if len(blob) < head_end + _CRC.size:
        raise OnlinezipError("file is truncated: the header is incomplete")
    (head_crc,) = _CRC.unpack_from(blob, head_end)
    if zlib.crc32(blob[:head_end]) != head_crc:
        raise OnlinezipError("corrupt header: header checksum mismatch")
    if flags != 0:
        raise OnlinezipError(f"unsupported header flags {flags:#x}")
    if length > MAX_ORIGINAL_BYTES or not 1 <= streams <= MAX_STREAMS:
        raise OnlinezipError(f"corrupt header: length {length} / streams {streams} implausible")
    expected = head_end + _CRC.size + payload_len
    if len(blob) != expected:
        problem = "truncated" if len(blob) < expected else "followed by unexpected bytes"
        raise OnlinezipError(f"file is {problem}: expected {expected} bytes, found {len(blob)}")
    payload = blob[head_end + _CRC.size :]
    if zlib.crc32(payload) != payload_crc:
        raise OnlinezipError("corrupt payload: payload checksum mismatch")
    try:
        inflate = zlib.decompressobj(_META_WBITS, zdict=META_DICTIONARY)
        raw = inflate.decompress(blob[_FIXED.size : head_end], MAX_META_BYTES) + inflate.flush()
        meta = json.loads(raw.decode("utf-8"))
        config = config_from_dict(meta["config"])
        header = Header(
            length, streams, sha, payload_len, payload_crc, config,
            {str(k): str(v) for k, v in meta["environment"].items()},
            float(meta["nll_bits"]), str(meta["preset"]), int(meta["num_parameters"]),
        )  # fmt: skip
    except OnlinezipError as exc:
        raise OnlinezipError(f"corrupt header: bad config: {exc}") from None
    except (ValueError, KeyError, TypeError, AttributeError, zlib.error) as exc:
        raise OnlinezipError(f"corrupt header: unreadable metadata ({exc})") from None
    return header, payload


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()
