"""The one loop that compresses and decompresses: predict, code, learn, repeat.

Both directions run ``Codec._run``: the learner predicts p_t for every stream, the *side*
codes x_t under p_t (the encoder knows x_t and encodes it; the decoder gets it from the
range decoder), then the learner takes one step on x_t. Only the side differs. A learner
that codes a byte as two nibbles (cm.nibbles) has the side code x_t's high nibble, then
its low nibble under the learner's ``half`` prediction, then steps on the whole byte.

The input is coded in chunks of ``run.chunk_bytes`` (one container frame each); each
chunk is cut into ``streams`` contiguous segments of ``steps = ceil(n / B)`` bytes
(the last ones shorter, possibly empty); at step t stream b codes byte ``b*steps + t``
if that is inside the chunk, else it is masked out of coding and of the loss.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from onlinezip import runtime
from onlinezip.coder import Decoder, Encoder
from onlinezip.config import Config, RunConfig
from onlinezip.learner import Learner
from onlinezip.probs import code_lengths

Progress = Callable[[int, float], None]  # (bytes coded so far, bits spent so far)
_FLUSH_ROWS = 8192  # encoder rows buffered before they go to the range coder
# a chunk of at least this many steps first moves the learner's big tables to 2 MiB
# pages (``runtime.huge_pages``): the move costs about 1.6 s for a 512 MiB table and
# saves about 30 us a step for max (1 stream), 1% for session 13's default in 16 streams
# (benchmarks/results/speed-13/steps): max breaks even near 55,000 steps
HUGE_PAGES_STEPS = 65536


def effective_streams(length: int, run: RunConfig) -> int:
    """B for an input whose first chunk has ``length`` bytes: ``run.streams``, fewer for
    small inputs (the streams of a chunk must not be shorter than ``run.min_stream_bytes``)."""
    return max(1, min(run.streams, math.ceil(length / run.min_stream_bytes)))


@dataclass(frozen=True)
class StreamLayout:
    length: int  # n, bytes in the input
    streams: int  # B

    @property
    def steps(self) -> int:
        return math.ceil(self.length / self.streams)

    def split(self, data: bytes) -> np.ndarray:
        """(B, steps) int32 tokens, zero-padded after the end of the input."""
        padded = np.zeros(self.streams * self.steps, np.int32)
        padded[: self.length] = np.frombuffer(data, np.uint8)
        return padded.reshape(self.streams, self.steps)

    def join(self, tokens_BT: np.ndarray) -> bytes:
        return tokens_BT.reshape(-1)[: self.length].astype(np.uint8).tobytes()

    def active(self, t: int) -> np.ndarray:
        """(B,) bool: which streams still have a byte at step t."""
        return np.arange(self.streams) * self.steps + t < self.length


@dataclass
class _EncodeSide:
    tokens_BT: np.ndarray

    def __post_init__(self) -> None:
        self.coder, self._probs, self._symbols = Encoder(), [], []

    def code(self, t: int, probs_NV: np.ndarray, active_B: np.ndarray, part=None) -> np.ndarray:
        """``probs_NV``: the rows of the active streams only. ``part``: the bytes, or
        (``_NIBBLES``) their high or low nibbles. Returns what was coded (B,)."""
        x_B = _part(self.tokens_BT[:, t], part)
        self._probs.append(probs_NV)
        self._symbols.append(x_B[active_B])
        if len(self._probs) * len(x_B) >= _FLUSH_ROWS:
            self.flush()
        return x_B

    def flush(self) -> None:
        if self._probs:
            self.coder.encode(np.concatenate(self._symbols), np.concatenate(self._probs))
        self._probs, self._symbols = [], []


@dataclass
class _DecodeSide:
    coder: Decoder
    tokens_BT: np.ndarray  # filled in as bytes are decoded

    def code(self, t: int, probs_NV: np.ndarray, active_B: np.ndarray, part=None) -> np.ndarray:
        """``probs_NV``: the rows of the active streams only. ``part``: as the encoder's;
        a high nibble is written as the byte's top bits, a low nibble added to them."""
        x_B = np.zeros(self.tokens_BT.shape[0], np.int32)
        if len(probs_NV) == len(x_B):
            x_B[:] = self.coder.decode(probs_NV)
        else:
            x_B[active_B] = self.coder.decode(probs_NV)
        if part is None:
            self.tokens_BT[:, t] = x_B
        else:
            self.tokens_BT[:, t] |= x_B << (4 if part == 0 else 0)
        return x_B


_NIBBLES = (0, 1)  # a byte's parts with cm.nibbles: its high nibble, then its low


def _part(x_B: np.ndarray, part) -> np.ndarray:
    """The bytes ``x_B`` (part None), their high nibbles (0) or low nibbles (1)."""
    return x_B if part is None else (x_B >> 4 if part == 0 else x_B & 15)


class Codec:
    """One learner coding a sequence of chunks, in either direction.

    Each chunk is cut into B streams (``StreamLayout``) and coded by the shared loop
    ``_run``. The learner carries over from chunk to chunk: the step on a chunk's last
    bytes is taken when the next chunk starts, so neither side needs to know in advance
    whether another chunk follows."""

    def __init__(self, config: Config, streams: int, progress: Progress | None = None):
        self.learner = Learner(config, streams)
        self.streams = streams
        self._progress = progress
        self._pending: tuple[np.ndarray, np.ndarray] | None = None  # last (x_B, mask_B)
        self._huge_pages = False  # the tables moved to 2 MiB pages already
        self.done, self.bits = 0, 0.0  # bytes coded and bits spent so far

    def encode_chunk(self, data: bytes) -> tuple[bytes, np.ndarray]:
        """(payload, (n,) bits) for one chunk of original bytes."""
        layout = StreamLayout(len(data), self.streams)
        side = _EncodeSide(layout.split(data))
        bits = self._run(layout, side)
        side.flush()
        return side.coder.finish(), bits

    def decode_chunk(self, length: int, payload: bytes) -> tuple[bytes, np.ndarray]:
        """(original bytes, (n,) bits) of one chunk of ``length`` bytes."""
        layout = StreamLayout(length, self.streams)
        side = _DecodeSide(Decoder(payload), np.zeros((self.streams, layout.steps), np.int32))
        bits = self._run(layout, side)
        return layout.join(side.tokens_BT), bits

    def frozen_bits(self, data: bytes) -> float:
        """-log2 p of ``data`` under the current weights, frozen, from a fresh context in
        every chunk (for analysis: the "send the weights" side of the MDL comparison)."""
        total = 0.0
        for chunk in chunks(data, self.learner.programs.config.run.chunk_bytes):
            layout = StreamLayout(len(chunk), self.streams)
            active_BT = np.stack([layout.active(t) for t in range(layout.steps)], axis=1)
            with runtime.pinned():
                total += self.learner.frozen_bits(layout.split(chunk), active_BT)
        return total

    def _run(self, layout: StreamLayout, side) -> np.ndarray:
        """The shared loop, on XLA's core (``runtime.pinned``: speed only). Returns the
        code length in bits of every byte, in order."""
        if not self._huge_pages and layout.steps >= HUGE_PAGES_STEPS:
            self._huge_pages = True
            self.learner.huge_pages()
        with runtime.pinned():
            return self._loop(layout, side)

    def _loop(self, layout: StreamLayout, side) -> np.ndarray:
        ledger = _Ledger(np.zeros((layout.streams, layout.steps), np.float64))
        all_active_B = np.ones(layout.streams, bool)
        all_mask_B = all_active_B.astype(np.float32)
        full_steps = layout.length - (layout.streams - 1) * layout.steps  # all B active
        if self._pending is None:
            probs_BV = self.learner.first_probs()
        else:  # learn from the previous chunk's last bytes
            probs_BV = self.learner.step(*self._pending)
        nibbles = self.learner.nibbles
        for t in range(layout.steps):
            full = t < full_steps
            active_B = all_active_B if full else layout.active(t)
            coded = []  # (probs_NV, symbols_N): the byte's, or its two nibbles'
            for part in _NIBBLES if nibbles else (None,):
                if part == 1:  # the low nibble, predicted under the coded high nibble
                    probs_BV = self.learner.half(coded[0][2])
                probs_NV = probs_BV if full else probs_BV[active_B]  # the rows coded at t
                x_B = side.code(t, probs_NV, active_B, part)
                coded.append((probs_NV, x_B if full else x_B[active_B], x_B))
            if nibbles:
                x_B = coded[0][2] << 4 | coded[1][2]
            ledger.add(t, [c[:2] for c in coded], active_B)
            mask_B = all_mask_B if full else active_B.astype(np.float32)
            if t + 1 < layout.steps:
                probs_BV = self.learner.step(x_B, mask_B)
            else:  # taken only if another chunk follows
                self._pending = (x_B.copy(), mask_B)
            if t % 256 == 255 or t + 1 == layout.steps:
                done, bits = ledger.flush()
                self.done, self.bits = self.done + done, self.bits + bits
                if self._progress is not None:
                    self._progress(self.done, self.bits)
        return ledger.bits_BT.reshape(-1)[: layout.length]


class _Ledger:
    """Code lengths of coded bytes, computed a batch of steps at a time (one numpy call
    per batch instead of one per step): the same numbers, for less time per byte."""

    def __init__(self, bits_BT: np.ndarray):
        self.bits_BT = bits_BT  # (B, steps) float64, filled in as batches are flushed
        self._parts, self._where = [], []

    def add(self, t: int, parts: list, active_B: np.ndarray) -> None:
        """``parts``: (probs_NV, symbols_N) of each symbol coded for the bytes of step t
        (one, or two nibbles), for the active streams."""
        self._parts.append(parts)
        self._where.append((t, active_B))

    def flush(self) -> tuple[int, float]:
        """Fill in the buffered steps; (bytes, bits) they account for."""
        if not self._parts:
            return 0, 0.0
        lengths_N = sum(
            code_lengths(np.concatenate([p[k][0] for p in self._parts]),
                         np.concatenate([p[k][1] for p in self._parts]))
            for k in range(len(self._parts[0]))
        )  # fmt: skip
        first, last = self._where[0][0], self._where[-1][0] + 1
        if len(lengths_N) == self.bits_BT.shape[0] * (last - first):  # every stream active
            self.bits_BT[:, first:last] = lengths_N.reshape(last - first, -1).T
        else:
            start = 0
            for t, active_B in self._where:
                n = int(active_B.sum())
                self.bits_BT[active_B, t] = lengths_N[start : start + n]
                start += n
        self._parts, self._where = [], []
        return len(lengths_N), float(lengths_N.sum())


def chunks(data: bytes, chunk_bytes: int) -> list[bytes]:
    return [data[i : i + chunk_bytes] for i in range(0, len(data), chunk_bytes)]


@dataclass(frozen=True)
class Coded:
    """An in-memory coding of a whole input (the streaming path never builds one)."""

    data: bytes  # the original bytes
    payloads: list[bytes]  # the range coder's words, one payload per chunk
    streams: int  # B actually used
    bits: np.ndarray  # (n,) float64: -log2 p of each byte as the coder was given it
    num_parameters: int
    codec: Codec  # final state (trained up to the last step that a byte followed)


def encode(data: bytes, config: Config, progress: Progress | None = None) -> Coded:
    pieces = chunks(data, config.run.chunk_bytes)
    codec = Codec(config, effective_streams(len(pieces[0]) if pieces else 0, config.run), progress)
    coded = [codec.encode_chunk(piece) for piece in pieces]
    return _coded(data, [payload for payload, _ in coded], codec, [b for _, b in coded])


def decode(
    payloads: list[bytes],
    lengths: list[int],
    streams: int,
    config: Config,
    progress: Progress | None = None,
) -> Coded:
    codec = Codec(config, streams, progress)
    decoded = [codec.decode_chunk(n, p) for n, p in zip(lengths, payloads, strict=True)]
    return _coded(b"".join(d for d, _ in decoded), payloads, codec, [b for _, b in decoded])


def _coded(data: bytes, payloads: list[bytes], codec: Codec, bits: list[np.ndarray]) -> Coded:
    all_bits = np.concatenate(bits) if bits else np.zeros(0, np.float64)
    return Coded(data, payloads, codec.streams, all_bits, codec.learner.num_parameters, codec)
