"""The Python API: bytes or streams in, bytes or streams out, with an MDL report.

``compress_stream`` / ``decompress_stream`` hold one chunk at a time (memory stays flat
for any input size); ``compress`` / ``decompress`` and their ``*_result`` forms work on
bytes in memory and go through the same chunked code.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import signal
import sys
import threading
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, BinaryIO

import numpy as np

from onlinezip import container, levels, mdl, runtime
from onlinezip.config import Config, arithmetic_family, load_preset
from onlinezip.errors import OnlinezipError

if TYPE_CHECKING:  # codec imports JAX: only the coding paths load it
    from onlinezip import codec
    from onlinezip.engine import Engine

DEFAULT_PRESET = "default"
# An input shorter than this is stored without running the model: a file with a model
# costs at least 114 bytes besides its payload (header and meta, frame, end record)
# against 35 + n for a stored-only one (under 50), so coding could never win.
MIN_MODEL_BYTES = 16


@dataclass(frozen=True)
class Result:
    output: bytes  # the .oz container (compress) or the original (decompress)
    report: dict[str, Any]  # see mdl.report
    bits: np.ndarray  # (n,) float64: code length of every original byte, in order


def _resolve(config: Config | str | None) -> tuple[Config, str]:
    if config is None:
        return load_preset(DEFAULT_PRESET), DEFAULT_PRESET
    if isinstance(config, str):
        return load_preset(config), config
    if isinstance(config, Config):
        return config, "custom"
    raise TypeError(f"config must be a Config or a preset name, not {type(config).__name__}")


def _report(
    header: container.Header, summary: container.Summary, written: int, overhead: int,
    seconds: float | None,
) -> dict[str, Any]:  # fmt: skip
    rep = mdl.report(
        config=header.config,
        preset=header.preset,
        original_bytes=summary.length,
        container_bytes=written,
        header_bytes=overhead,
        nll_bits=summary.nll_bits,
        seconds=seconds or 0.0,
        streams=header.streams,
        num_parameters=header.num_parameters,
    )
    if seconds is None:  # no work was timed
        for key in ("seconds", "bytes_per_second"):
            del rep[key]
    return rep


def _read_chunk(src: BinaryIO, size: int) -> bytes:
    """Up to ``size`` bytes: fewer only at the end of the input (pipes return short reads)."""
    parts, got = [], 0
    while got < size:
        part = src.read(size - got)
        if not part:
            break
        parts.append(part)
        got += len(part)
    return b"".join(parts)


def _load_codec():
    """``onlinezip.codec``, importing JAX the first time. A Ctrl-C during that import
    would be swallowed inside JAX (a garbage-collection callback prints it and goes on):
    SIGINT is held back until the import is over, then delivered."""
    main_thread = threading.current_thread() is threading.main_thread()
    if "onlinezip.codec" in sys.modules or not main_thread:  # (signal masks: main thread)
        from onlinezip import codec

        return codec
    held = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        from onlinezip import codec
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)
    return codec


def _chunks(src: BinaryIO, size: int) -> Iterator[tuple[bytes, bool]]:
    """(chunk, is_last) for every chunk of ``src``, reading one chunk ahead."""
    chunk = _read_chunk(src, size)
    while chunk:
        following = _read_chunk(src, size) if len(chunk) == size else b""
        yield chunk, not following
        chunk = following


def _store_whole(dst, data: bytes, cfg: Config, bits_out, start: float) -> dict[str, Any]:
    """A stored-only file: no model, no JAX; the whole input in at most one frame."""
    writer = container.Writer(dst, container.STORED_HEADER)
    if data:
        writer.frame(container.Frame(len(data), data, zlib.crc32(data), stored=True))
    summary = container.Summary(len(data), None, 8.0 * len(data), zlib.crc32(data))
    writer.finish(summary)
    if bits_out is not None:
        bits_out.append(np.full(len(data), 8.0))
    header = dataclasses.replace(container.STORED_HEADER, config=cfg)
    seconds = time.perf_counter() - start
    return _report(header, summary, writer.bytes_written, writer.overhead_bytes, seconds)


def _compress(
    src, dst, config, progress, bits_out, segments: int = 1, engine: Engine | None = None
) -> tuple[dict[str, Any], codec.Codec | None]:
    start = time.perf_counter()
    cfg, preset = _resolve(config)
    if segments < 1:
        raise OnlinezipError(f"segments must be at least 1, got {segments}")
    if segments > 1:  # -T N: the whole input first, to cut it into equal parts
        from onlinezip import segments as seg

        data = b"".join(iter(lambda: src.read(1 << 24), b""))
        count = seg.segment_count(len(data), segments, cfg.run.min_segment_bytes)
        if count > 1:
            fields, count = seg.compress(data, dst, cfg, preset, count, engine, progress,
                                         bits_out)  # fmt: skip
            rep = _report(*fields)
            rep["segments"] = count
            return rep, None
        src = io.BytesIO(data)  # one segment: the file -T 1 writes
    chunks = _chunks(src, cfg.run.chunk_bytes)
    chunk, last = next(chunks, (b"", True))
    if last and len(chunk) < MIN_MODEL_BYTES:
        return _store_whole(dst, chunk, cfg, bits_out, start), None
    if last and isinstance(config, str | None):  # a small input may go to another preset
        if (small := levels.preset_for_input(preset, len(chunk))) != preset:
            cfg, preset = _resolve(small)
    codec = _load_codec()
    coder = codec.Codec(cfg, codec.effective_streams(len(chunk), cfg.run), progress)
    environment = runtime.file_environment(arithmetic_family(cfg))
    header = container.Header(
        coder.streams, cfg, environment, preset, coder.learner.num_parameters
    )
    payload, bits = coder.encode_chunk(chunk)
    if last and container.stored_file_size(len(chunk)) <= container.coded_file_size(
        header, len(chunk), len(payload)
    ):  # one chunk that coding would grow: a stored-only file
        return _store_whole(dst, chunk, cfg, bits_out, start), coder
    writer = container.Writer(dst, header)
    sha, length, nll_bits = hashlib.sha256(), 0, 0.0
    while True:
        if container.coding_pays(len(chunk), len(payload)):
            writer.frame(container.Frame(len(chunk), payload, zlib.crc32(chunk)))
        else:  # coding this chunk would grow it: store it (the model has learnt from it)
            writer.frame(container.Frame(len(chunk), chunk, zlib.crc32(chunk), stored=True))
            bits = np.full(len(chunk), 8.0)
        sha.update(chunk)
        length, nll_bits = length + len(chunk), nll_bits + float(bits.sum())
        if bits_out is not None:
            bits_out.append(bits)
        chunk, _ = next(chunks, (b"", True))
        if not chunk:
            break
        payload, bits = coder.encode_chunk(chunk)
    summary = container.Summary(length, sha.digest(), nll_bits)
    writer.finish(summary)
    seconds = time.perf_counter() - start
    return _report(header, summary, writer.bytes_written, writer.overhead_bytes, seconds), coder


def compress_stream(
    src: BinaryIO, dst: BinaryIO, config: Config | str | None = None,
    progress: codec.Progress | None = None, *, segments: int = 1, engine: Engine | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Compress everything readable from ``src`` into ``dst``; returns the MDL report.

    ``segments`` > 1 (``-T N``): cut the input into up to that many independent segments
    (``onlinezip.segments``; the whole input is read into memory first), coded on
    ``engine`` (``onlinezip.engine``; default: one after the other in this process)."""
    return _compress(src, dst, config, progress, None, segments, engine)[0]


def compress_coded(
    data: bytes, config: Config | str | None = None, progress: codec.Progress | None = None,
    *, segments: int = 1, engine: Engine | None = None,
) -> tuple[Result, codec.Codec | None]:  # fmt: skip
    """``compress_result`` plus the coder itself (its final learner, for analysis; None
    when the input was too short to run the model on, or was coded in segments)."""
    out, bits = io.BytesIO(), []
    report, coder = _compress(
        io.BytesIO(bytes(data)), out, config, progress, bits, segments, engine
    )
    return Result(out.getvalue(), report, _concat(bits)), coder


def compress_result(
    data: bytes, config: Config | str | None = None, progress: codec.Progress | None = None,
    *, segments: int = 1, engine: Engine | None = None,
) -> Result:  # fmt: skip
    return compress_coded(data, config, progress, segments=segments, engine=engine)[0]


def read_header(src: bytes | BinaryIO) -> tuple[container.Header, container.Summary, dict]:
    """Check a whole container without decoding it: header, end record, and the report
    (without timing keys)."""
    src = io.BytesIO(src) if isinstance(src, bytes | bytearray) else src
    return read_header_from(container.Reader(src))


def read_header_from(reader: container.Reader) -> tuple[container.Header, container.Summary, dict]:
    """``read_header`` for a reader that has read no frame yet."""
    for _ in reader.frames():
        pass
    assert reader.summary is not None
    overhead = reader.bytes_read - reader.payload_bytes
    report = _report(reader.header, reader.summary, reader.bytes_read, overhead, None)
    return reader.header, reader.summary, report


def decompress_stream(
    src: BinaryIO, dst: BinaryIO, *, ignore_environment: bool = False,
    progress: codec.Progress | None = None, bits_out: list | None = None,
    engine: Engine | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Decompress a container from ``src`` into ``dst``; returns the MDL report.

    A seekable ``src`` is checked whole (every checksum) before any decoding; a pipe is
    checked frame by frame. Every chunk is checked against its CRC-32 before it is
    written, and the whole against the SHA-256 at the end. A file of several segments
    (``-T N``) has them decoded on ``engine`` (default: one after the other in this
    process), and written in order."""
    start = time.perf_counter()
    if src.seekable():
        origin = src.tell()
        container.scan(src)
        src.seek(origin)
    reader = container.Reader(src)
    header = reader.header
    if reader.segments is not None:
        from onlinezip import segments

        fields = segments.decompress(
            reader, dst, engine, ignore_environment=ignore_environment, progress=progress,
            bits_out=bits_out,
        )  # fmt: skip
        rep = _report(*fields)
        rep["segments"] = len(reader.segments)
        return rep
    coder = None
    if header.model:  # a stored-only file needs no model, and no JAX
        codec = _load_codec()
        if not ignore_environment:
            runtime.check_fingerprint(header.environment, arithmetic_family(header.config))
        coder = codec.Codec(header.config, header.streams, progress)
    sha, crc = hashlib.sha256(), 0
    for index, frame in enumerate(reader.frames()):
        if frame.stored:
            data, bits = frame.payload, np.full(frame.length, 8.0)
            if coder is not None:  # the encoder's model learnt from these bytes: so must ours
                coder.encode_chunk(data)
        else:
            try:
                data, bits = coder.decode_chunk(frame.length, frame.payload)
            except (ValueError, RuntimeError, AssertionError) as exc:  # constriction's errors
                raise OnlinezipError(
                    f"corrupt payload: the range decoder failed in chunk {index} ({exc})"
                ) from None
        if frame.data_crc32 is not None and zlib.crc32(data) != frame.data_crc32:
            raise _mismatch(f"chunk {index} does not match its CRC-32")
        sha.update(data)
        crc = zlib.crc32(data, crc)
        dst.write(data)
        if bits_out is not None:
            bits_out.append(bits)
    summary = reader.summary
    assert summary is not None
    if summary.sha256 is not None and not container.digest_matches(summary, sha.digest()):
        raise _mismatch("the output does not match the original's SHA-256")
    if summary.crc32 is not None and crc != summary.crc32:
        raise _mismatch("the output does not match the original's CRC-32")
    seconds = time.perf_counter() - start
    overhead = reader.bytes_read - reader.payload_bytes
    return _report(header, summary, reader.bytes_read, overhead, seconds)


def _mismatch(what: str) -> OnlinezipError:
    return OnlinezipError(
        f"decoded data is wrong: {what}; the file is corrupt or was made in an environment "
        "that does not replay exactly"
    )


def _concat(bits: list[np.ndarray]) -> np.ndarray:
    return np.concatenate(bits) if bits else np.zeros(0, np.float64)


def decompress_result(
    blob: bytes, *, ignore_environment: bool = False, progress: codec.Progress | None = None,
    engine: Engine | None = None,
) -> Result:  # fmt: skip
    out, bits = io.BytesIO(), []
    report = decompress_stream(
        io.BytesIO(bytes(blob)), out, ignore_environment=ignore_environment,
        progress=progress, bits_out=bits, engine=engine,
    )  # fmt: skip
    return Result(out.getvalue(), report, _concat(bits))


def compress(
    data: bytes, config: Config | str | None = None, *, segments: int = 1,
    engine: Engine | None = None,
) -> bytes:  # fmt: skip
    """Compress ``data`` with a preset name or a ``Config`` (default preset: "default";
    a one-chunk input under 32 KB asked of it is coded by "max",
    ``levels.SMALL_INPUT_PRESETS``); ``segments`` > 1: in up to that many independent
    segments, on ``engine``."""
    return compress_result(data, config, segments=segments, engine=engine).output


def decompress(
    blob: bytes, *, ignore_environment: bool = False, engine: Engine | None = None
) -> bytes:
    """Decompress a .oz container made by ``compress``; raises OnlinezipError if bad."""
    return decompress_result(blob, ignore_environment=ignore_environment, engine=engine).output
