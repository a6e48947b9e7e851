"""A thin adapter over constriction's range coder (queue semantics, batched rows)."""

from __future__ import annotations

import constriction
import numpy as np

# perfect=False: constriction's fast, deterministic quantisation of float probabilities.
# It must be spelled out on both sides; the default differs between versions.
_FAMILY = constriction.stream.model.Categorical(perfect=False)


class Encoder:
    def __init__(self) -> None:
        self._coder = constriction.stream.queue.RangeEncoder()

    def encode(self, symbols_N: np.ndarray, probs_NV: np.ndarray) -> None:
        """Code symbol n under row n of ``probs_NV``, in order."""
        if len(symbols_N):
            self._coder.encode(symbols_N.astype(np.int32), _FAMILY, probs_NV)

    def finish(self) -> bytes:
        return self._coder.get_compressed().astype("<u4").tobytes()


class Decoder:
    def __init__(self, payload: bytes) -> None:
        if len(payload) % 4:
            raise ValueError("range-coder payload is not a whole number of 32-bit words")
        words = np.frombuffer(payload, dtype="<u4").astype(np.uint32)
        self._coder = constriction.stream.queue.RangeDecoder(words)

    def decode(self, probs_NV: np.ndarray) -> np.ndarray:
        """One symbol per row of ``probs_NV``, in the order they were encoded."""
        if not len(probs_NV):
            return np.zeros(0, np.int32)
        return np.asarray(self._coder.decode(_FAMILY, probs_NV), dtype=np.int32)
