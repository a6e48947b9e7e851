"""The one loop that compresses and decompresses: predict, code, learn, repeat.

Both directions run ``_run``: the learner predicts p_t for every stream, the *side*
codes x_t under p_t (the encoder knows x_t and encodes it; the decoder gets it from the
range decoder), then the learner takes one step on x_t. Only the side differs.

The input is cut into ``streams`` contiguous segments of ``steps = ceil(n / B)`` bytes
(the last ones shorter, possibly empty); at step t stream b codes byte ``b*steps + t``
if that is inside the input, else it is masked out of coding and of the loss.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from onlinezip.coder import Decoder, Encoder
from onlinezip.config import Config, RunConfig
from onlinezip.learner import Learner
from onlinezip.probs import code_lengths

Progress = Callable[[int, float], None]  # (bytes coded so far, bits spent so far)
_FLUSH_ROWS = 8192  # encoder rows buffered before they go to the range coder


def effective_streams(length: int, run: RunConfig) -> int:
    """B for an input of ``length`` bytes: ``run.streams``, fewer for small inputs."""
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

    def code(self, t: int, probs_BV: np.ndarray, active_B: np.ndarray) -> np.ndarray:
        x_B = self.tokens_BT[:, t]
        self._probs.append(probs_BV[active_B])
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

    def code(self, t: int, probs_BV: np.ndarray, active_B: np.ndarray) -> np.ndarray:
        x_B = self.tokens_BT[:, t]
        x_B[active_B] = self.coder.decode(probs_BV[active_B])
        return x_B


def _run(learner: Learner, layout: StreamLayout, side, progress: Progress | None) -> np.ndarray:
    """The shared loop. Returns the code length in bits of every input byte, in order."""
    bits_BT = np.zeros((layout.streams, layout.steps), np.float64)
    all_active_B = np.ones(layout.streams, bool)
    full_steps = layout.length - (layout.streams - 1) * layout.steps  # steps with all B active
    probs_BV = learner.first_probs() if layout.length else None
    done, bits = 0, 0.0
    for t in range(layout.steps):
        active_B = all_active_B if t < full_steps else layout.active(t)
        x_B = side.code(t, probs_BV, active_B)
        step_bits = code_lengths(probs_BV[active_B], x_B[active_B])
        bits_BT[active_B, t] = step_bits
        done, bits = done + len(step_bits), bits + float(step_bits.sum())
        if t + 1 < layout.steps:  # no byte follows the last step: nothing to learn for
            probs_BV = learner.step(x_B, active_B.astype(np.float32))
        if progress is not None and (t % 256 == 255 or t + 1 == layout.steps):
            progress(done, bits)
    return bits_BT.reshape(-1)[: layout.length]


@dataclass(frozen=True)
class Coded:
    data: bytes  # the original bytes
    payload: bytes  # the range coder's words, little-endian
    streams: int  # B actually used
    bits: np.ndarray  # (n,) float64: -log2 p of each byte as the coder was given it
    num_parameters: int
    learner: Learner  # final state (trained up to the last step that a byte followed)

    def frozen_bits(self) -> float:
        """-log2 p of the whole input under the final weights, frozen (for analysis)."""
        layout = StreamLayout(len(self.data), self.streams)
        steps = np.arange(layout.steps)
        active_BT = np.stack([layout.active(t) for t in steps], axis=1)
        return self.learner.frozen_bits(layout.split(self.data), active_BT)


def encode(data: bytes, config: Config, progress: Progress | None = None) -> Coded:
    layout = StreamLayout(len(data), effective_streams(len(data), config.run))
    learner = Learner(config, layout.streams)
    side = _EncodeSide(layout.split(data))
    bits = _run(learner, layout, side, progress)
    side.flush()
    return Coded(data, side.coder.finish(), layout.streams, bits, learner.num_parameters, learner)


def decode(
    payload: bytes, length: int, streams: int, config: Config, progress: Progress | None = None
) -> Coded:
    layout = StreamLayout(length, streams)
    learner = Learner(config, streams)
    side = _DecodeSide(Decoder(payload), np.zeros((streams, layout.steps), np.int32))
    bits = _run(learner, layout, side, progress)
    data = layout.join(side.tokens_BT)
    return Coded(data, payload, streams, bits, learner.num_parameters, learner)
