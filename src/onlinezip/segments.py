"""Parallel segments (``-T N``, ``--cluster``): the input cut into independent parts, each
coded by its own fresh learner, in any process, on any machine.

A file of S segments is fixed by its header and segment table (``container``), never by
how many workers decode it: segment i is ``codec``'s ordinary one-learner loop over the
original bytes ``[bounds[i], bounds[i+1])``, from the seed, with its own streams B (as a
one-segment file of that part would have). So a segment's bytes depend only on the config
and its part of the input, and any engine (``onlinezip.engine``: in-process, local worker
processes, a Dask cluster), in any order, with any number of workers, gives the same file
and decodes any file.

How many: ``segment_count(n, N, min_segment_bytes)`` = N, fewer if a segment would hold
less than ``run.min_segment_bytes`` (1 MiB by default): an input shorter than twice that
stays one segment, written exactly as ``-T 1`` writes it. The parts are as equal as can
be (``bounds``). The price: every segment starts cold (``benchmarks/results/scaling.md``).

Workers return their coded segment with their ``runtime.fingerprint()``; a result from
a worker whose fingerprint is not the file's is refused (a Dask engine runs that segment
again on another worker), and every segment's original CRC-32 and the whole original's
SHA-256 are checked before the output is complete.

This module imports no JAX: the workers do (``encode_segment``, ``decode_segment``), the
process that splits the input and writes the file does not.
"""

from __future__ import annotations

import hashlib
import io
import time
import zlib
from dataclasses import dataclass
from typing import Any, BinaryIO

import numpy as np

from onlinezip import container, runtime
from onlinezip.config import Config, arithmetic_family
from onlinezip.engine import Engine, SerialEngine
from onlinezip.errors import OnlinezipError


def segment_count(length: int, requested: int, min_segment_bytes: int) -> int:
    """How many segments ``-T requested`` cuts ``length`` bytes into: at most ``requested``,
    each of at least ``min_segment_bytes`` (so 1 below twice that)."""
    return max(1, min(requested, length // min_segment_bytes, container.MAX_SEGMENTS))


def bounds(length: int, count: int) -> list[int]:
    """Where the segments start, and the end: parts as equal as can be (differing by at
    most one byte)."""
    return [length * i // count for i in range(count + 1)]


def differences(recorded: dict[str, str], here: dict[str, str], family: str) -> str | None:
    """None if two fingerprints agree for a model of ``family``, else what differs (as
    ``runtime.check_fingerprint``)."""
    diffs = runtime.environment_differences(recorded, here, family, where="worker")
    return "; ".join(diffs) if diffs else None


# --------------------------------------------------------------------------- in the workers


@dataclass(frozen=True)
class EncodeJob:
    config: Config
    data: bytes  # the segment's original bytes
    want_bits: bool = False  # return every byte's code length (for the Python API)


@dataclass(frozen=True)
class EncodedSegment:
    frames: bytes  # the segment's frames as the file holds them
    payload_bytes: int  # of which payload (range-coder words, stored bytes)
    length: int
    streams: int
    data_crc32: int
    nll_bits: float
    num_parameters: int
    fingerprint: dict[str, str]  # of the worker that coded it
    bits: np.ndarray | None


def _codec():
    from onlinezip import api

    return api._load_codec()


def encode_segment(job: EncodeJob) -> EncodedSegment:
    """One segment, coded by a fresh learner: its chunks as frames (a chunk whose coded
    frame would be larger is stored, as in a one-segment file)."""
    codec = _codec()
    cfg, data = job.config, job.data
    chunk_bytes = cfg.run.chunk_bytes
    coder = codec.Codec(cfg, codec.effective_streams(min(len(data), chunk_bytes), cfg.run))
    out, payload_bytes, nll_bits, all_bits = io.BytesIO(), 0, 0.0, []
    for chunk in codec.chunks(data, chunk_bytes):
        payload, bits = coder.encode_chunk(chunk)
        crc = zlib.crc32(chunk)
        if container.coding_pays(len(chunk), len(payload)):
            frame = container.Frame(len(chunk), payload, crc)
        else:  # coding this chunk would grow it: store it (the model has learnt from it)
            frame = container.Frame(len(chunk), chunk, crc, stored=True)
            bits = np.full(len(chunk), 8.0)
        out.write(container.frame_bytes(frame))
        payload_bytes += len(frame.payload)
        nll_bits += float(bits.sum())
        if job.want_bits:
            all_bits.append(bits)
    return EncodedSegment(
        out.getvalue(), payload_bytes, len(data), coder.streams, zlib.crc32(data), nll_bits,
        coder.learner.num_parameters, runtime.fingerprint(),
        np.concatenate(all_bits) if job.want_bits else None,
    )  # fmt: skip


@dataclass(frozen=True)
class DecodeJob:
    config: Config
    streams: int
    frames: list  # container.Frame, checked against the table by the reader
    want_bits: bool = False


@dataclass(frozen=True)
class DecodedSegment:
    data: bytes
    error: str | None  # the range decoder failed (a corrupt payload): what it said
    nll_bits: float
    fingerprint: dict[str, str]  # of the worker that decoded it
    bits: np.ndarray | None


def decode_segment(job: DecodeJob) -> DecodedSegment:
    """One segment, decoded by a fresh learner. The bytes are checked by the caller
    (against the table's CRC-32), after it has accepted this worker's fingerprint."""
    codec = _codec()
    coder = codec.Codec(job.config, job.streams)
    parts, all_bits, nll_bits = [], [], 0.0
    for index, frame in enumerate(job.frames):
        if frame.stored:
            data, bits = frame.payload, np.full(frame.length, 8.0)
            coder.encode_chunk(data)  # the encoder's model learnt from these bytes: so must ours
        else:
            try:
                data, bits = coder.decode_chunk(frame.length, frame.payload)
            except (ValueError, RuntimeError, AssertionError) as exc:  # constriction's errors
                error = f"the range decoder failed in its chunk {index} ({exc})"
                return DecodedSegment(b"", error, 0.0, runtime.fingerprint(), None)
        parts.append(data)
        nll_bits += float(bits.sum())
        if job.want_bits:
            all_bits.append(bits)
    bits = np.concatenate(all_bits) if job.want_bits and all_bits else None
    return DecodedSegment(b"".join(parts), None, nll_bits, runtime.fingerprint(), bits)


# --------------------------------------------------------------------------- in the caller


def _fingerprint_check(expected: dict[str, str], family: str):
    def check(result) -> str | None:
        diff = differences(expected, result.fingerprint, family)
        return None if diff is None else f"the worker's environment is not the file's: {diff}"

    return check


def compress(
    data: bytes, dst: BinaryIO, cfg: Config, preset: str, count: int, engine: Engine | None,
    progress=None, bits_out: list | None = None,
) -> tuple[dict[str, Any], int]:  # fmt: skip
    """Write ``data`` as a file of ``count`` >= 2 segments, coded on ``engine``; returns
    the MDL report's inputs: (fields for ``api._report``, segments)."""
    engine = engine or SerialEngine()
    start = time.perf_counter()
    cuts = bounds(len(data), count)
    parts = [data[a:b] for a, b in zip(cuts, cuts[1:], strict=False)]
    jobs = [EncodeJob(cfg, part, bits_out is not None) for part in parts]
    fingerprint = runtime.fingerprint()
    check = _fingerprint_check(fingerprint, arithmetic_family(cfg))
    results: list[EncodedSegment] = []
    done, bits_so_far = 0, 0.0
    for part, result in zip(parts, engine.imap(encode_segment, jobs, check=check), strict=True):
        if result.length != len(part) or result.data_crc32 != zlib.crc32(part):
            raise OnlinezipError("a worker returned a segment of other bytes than it was sent")
        results.append(result)
        done, bits_so_far = done + result.length, bits_so_far + result.nll_bits
        if progress is not None:
            progress(done, bits_so_far)
    first = results[0]
    environment = runtime.file_environment(arithmetic_family(cfg))
    header = container.Header(first.streams, cfg, environment, preset, first.num_parameters)
    table = [
        container.Segment(len(r.frames), r.length, r.streams, r.data_crc32, zlib.crc32(r.frames))
        for r in results
    ]
    writer = container.Writer(dst, header, table)
    for result in results:
        writer.segment(result.frames, result.payload_bytes)
        if bits_out is not None:
            bits_out.append(result.bits)
    summary = container.Summary(
        len(data), hashlib.sha256(data).digest(), sum(r.nll_bits for r in results)
    )
    writer.finish(summary)
    seconds = time.perf_counter() - start
    return (header, summary, writer.bytes_written, writer.overhead_bytes, seconds), count


def decompress(
    reader: container.Reader, dst: BinaryIO, engine: Engine | None, *,
    ignore_environment: bool = False, progress=None, bits_out: list | None = None,
) -> tuple:  # fmt: skip
    """Decode a segmented file from ``reader`` (nothing read past its segment table yet)
    into ``dst``, segments on ``engine``, written in order as they are done; returns the
    fields for ``api._report``."""
    engine = engine or SerialEngine()
    start = time.perf_counter()
    header, table = reader.header, reader.segments
    assert table is not None
    check = None
    if not ignore_environment:
        family = arithmetic_family(header.config)
        if not getattr(engine, "remote", False):  # the workers are this installation
            runtime.check_fingerprint(header.environment, family)
        check = _fingerprint_check(header.environment, family)
    want_bits = bits_out is not None
    jobs = (
        DecodeJob(header.config, seg.streams, frames, want_bits)
        for _, seg, frames in reader.segment_frames()
    )
    sha, done, nll_bits = hashlib.sha256(), 0, 0.0
    for index, result in enumerate(engine.imap(decode_segment, jobs, check=check)):
        if result.error is not None:
            raise OnlinezipError(f"corrupt payload: segment {index}: {result.error}")
        seg = table[index]
        if len(result.data) != seg.length or zlib.crc32(result.data) != seg.data_crc32:
            from onlinezip.api import _mismatch

            raise _mismatch(f"segment {index} does not match its CRC-32")
        sha.update(result.data)
        dst.write(result.data)
        done, nll_bits = done + len(result.data), nll_bits + result.nll_bits
        if progress is not None:
            progress(done, nll_bits)
        if bits_out is not None:
            bits_out.append(result.bits)
    summary = reader.summary
    assert summary is not None
    if not container.digest_matches(summary, sha.digest()):
        from onlinezip.api import _mismatch

        raise _mismatch("the output does not match the original's SHA-256")
    seconds = time.perf_counter() - start
    overhead = reader.bytes_read - reader.payload_bytes
    return header, summary, reader.bytes_read, overhead, seconds
