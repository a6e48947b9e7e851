"""Mutations of valid .oz blobs, and the rule every mutated blob must obey.

Shared by ``tests/test_fuzz.py`` (a few hundred mutations) and ``benchmarks/fuzz.py``
(a larger campaign). The rule: ``api.decompress(mutated)`` either returns exactly the
original bytes of the blob the mutation started from, or raises ``OnlinezipError`` with a
one-line message. Anything else (another exception, wrong bytes, a multi-line message,
no answer within the time bound) is a failure. A header of one file followed by the rest
of another may decode to either file's original: which part carries the checksum of the
original depends on the format version.
"""

from __future__ import annotations

import re
import signal
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from onlinezip import OnlinezipError, api, container
from onlinezip.config import Config

REJECTED, EXACT, FAILED = "rejected", "decoded-exact", "failed"
TIME_LIMIT_S = 60.0  # generous: a valid decode of these samples takes about 0.1 s


@dataclass(frozen=True)
class Sample:
    name: str
    original: bytes
    blob: bytes

    @cached_property
    def header_bytes(self) -> int:
        return container.header_size(self.blob)


@dataclass(frozen=True)
class Mutation:
    kind: str
    sources: tuple[Sample, ...]  # a successful decode must give back one of their originals
    where: str  # offsets and sizes, for the failure message
    data: bytes

    def describe(self) -> str:
        return f"{self.kind} of {self.sources[0].name!r} ({self.where})"


@dataclass(frozen=True)
class Outcome:
    status: str  # REJECTED, EXACT or FAILED
    detail: str  # the error message's prefix (REJECTED) or what went wrong (FAILED)
    seconds: float


def make_samples(config: Config, text: bytes) -> list[Sample]:
    """Three small valid blobs, one of each kind of file format 3 writes: text in chunks
    of 256 bytes (a coded frame, then a short one that is stored); random bytes then text,
    in 256-byte chunks under another seed (a model file whose first frame is stored);
    random bytes alone (a stored-only file, no model). Their headers differ."""
    rng = np.random.default_rng(2024)
    chunked = config.replace(run={"chunk_bytes": 256})
    inputs = [
        ("text", text[:300], chunked),
        ("mixed", _random_bytes(rng, 256) + text[:200], chunked.replace(run={"seed": 2})),
        ("random", _random_bytes(rng, 200), config.replace(run={"seed": 1})),
    ]
    return [Sample(name, data, api.compress(data, cfg)) for name, data, cfg in inputs]


def make_header_donors(config: Config, seeds: Iterable[int]) -> list[Sample]:
    """Small files made under other seeds: headers to glue onto the samples' payloads, so
    that a payload is decoded by a model it was not coded with. (300 bytes that code well:
    a file of one byte is stored now, with no model in its header.)"""
    data = b"x" * 300
    return [
        Sample(f"seed-{seed}", data, api.compress(data, config.replace(run={"seed": seed})))
        for seed in seeds
    ]


# --- mutations ---------------------------------------------------------------------------


def _random_bytes(rng: np.random.Generator, n: int) -> bytes:
    return rng.integers(0, 256, n, dtype=np.uint8).tobytes()


def _offset(rng: np.random.Generator, sample: Sample, span: int = 1) -> int:
    """A start offset for ``span`` bytes: half the time inside the header, where the parser
    has the most to check, else anywhere in the blob."""
    end = len(sample.blob) - span + 1
    if rng.random() < 0.5:
        end = min(end, sample.header_bytes)
    return int(rng.integers(0, max(end, 1)))


def _splice(blob: bytes, start: int, stop: int, new: bytes) -> bytes:
    return blob[:start] + new + blob[stop:]


def bit_flip(rng: np.random.Generator, sample: Sample) -> tuple[bytes, str]:
    at, bit = _offset(rng, sample), int(rng.integers(8))
    flipped = bytes([sample.blob[at] ^ (1 << bit)])
    return _splice(sample.blob, at, at + 1, flipped), f"offset {at}, bit {bit}"


def overwrite(rng: np.random.Generator, sample: Sample) -> tuple[bytes, str]:
    n = int(rng.integers(2, 17))
    at = _offset(rng, sample, n)
    return _splice(sample.blob, at, at + n, _random_bytes(rng, n)), f"offset {at}, {n} bytes"


def truncate(rng: np.random.Generator, sample: Sample) -> tuple[bytes, str]:
    keep = int(rng.integers(0, len(sample.blob)))  # always shorter than the blob
    return sample.blob[:keep], f"kept {keep} of {len(sample.blob)} bytes"


def insert(rng: np.random.Generator, sample: Sample) -> tuple[bytes, str]:
    n = int(rng.integers(1, 9))
    at = _offset(rng, sample, 0)
    return _splice(sample.blob, at, at, _random_bytes(rng, n)), f"offset {at}, {n} bytes"


def delete(rng: np.random.Generator, sample: Sample) -> tuple[bytes, str]:
    n = int(rng.integers(1, 9))
    at = _offset(rng, sample, n)
    return _splice(sample.blob, at, at + n, b""), f"offset {at}, {n} bytes"


def append(rng: np.random.Generator, sample: Sample) -> tuple[bytes, str]:
    n = int(rng.integers(1, 65))
    return sample.blob + _random_bytes(rng, n), f"{n} bytes after offset {len(sample.blob)}"


SINGLE: dict[str, Callable[[np.random.Generator, Sample], tuple[bytes, str]]] = {
    "bit-flip": bit_flip,
    "overwrite": overwrite,
    "truncate": truncate,
    "insert": insert,
    "delete": delete,
    "append": append,
}
SWAP = "swap-header"
KINDS = [*SINGLE, SWAP]


def swap_header(head: Sample, body: Sample) -> Mutation:
    """The header of ``head`` followed by everything after the header of ``body``."""
    data = head.blob[: head.header_bytes] + body.blob[body.header_bytes :]
    where = f"header of {head.name!r}, payload of {body.name!r}"
    return Mutation(SWAP, (head, body), where, data)


def mutate(
    rng: np.random.Generator, kind: str, samples: list[Sample], donors: Sequence[Sample] = ()
) -> Mutation:
    """One mutation of ``kind`` applied to a sample picked at random. A header swap takes
    the header of another sample or of one of ``donors``."""
    if kind == SWAP:
        body = samples[int(rng.integers(len(samples)))]
        heads = [s for s in [*samples, *donors] if s is not body]
        return swap_header(heads[int(rng.integers(len(heads)))], body)
    sample = samples[int(rng.integers(len(samples)))]
    data, where = SINGLE[kind](rng, sample)
    return Mutation(kind, (sample,), where, data)


# --- the rule ----------------------------------------------------------------------------


class NoAnswer(BaseException):
    """Raised by the time bound; a BaseException so that no ``except Exception`` in the
    code under test can swallow it."""


@contextmanager
def time_bound(seconds: float) -> Iterator[None]:
    """Interrupt the block after ``seconds`` (main thread on Unix only; elsewhere a no-op).
    A diagnostic against hangs, so that a stuck decode is reported rather than waited on."""
    usable = hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    if not usable:
        yield
        return

    def expire(signum, frame):
        raise NoAnswer

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def message_prefix(message: str) -> str:
    """An error message with its specifics removed, to count messages by kind: numbers
    become N (not those of names like CRC-32), and parenthesised details, advice after
    a '; ' and everything after a second ': ' go."""
    text = re.sub(r"(?<![A-Z]-)\b\d+\b", "N", message).split(" (")[0].split("; ")[0]
    return ": ".join(text.split(": ")[:2])


def check(mutation: Mutation, limit_s: float = TIME_LIMIT_S) -> Outcome:
    """Decompress a mutated blob and judge the result against the rule."""
    start = time.perf_counter()
    try:
        with time_bound(limit_s):
            output = api.decompress(mutation.data)
    except OnlinezipError as exc:
        status, detail = _judge_error(str(exc))
    except NoAnswer:
        status, detail = FAILED, f"no answer within {limit_s:g} s"
    except Exception as exc:
        status, detail = FAILED, f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}"
    else:
        status, detail = _judge_output(output, [s.original for s in mutation.sources])
    return Outcome(status, detail, time.perf_counter() - start)


def _judge_error(message: str) -> tuple[str, str]:
    if not message.strip() or "\n" in message or "\r" in message:
        return FAILED, f"OnlinezipError message is not one line: {message!r}"
    return REJECTED, message_prefix(message)


def _judge_output(output: bytes, originals: list[bytes]) -> tuple[str, str]:
    if output in originals:
        return EXACT, ""
    sizes = " or ".join(str(len(original)) for original in originals)
    return FAILED, f"wrong bytes: {len(output)} decoded, the original has {sizes}"
