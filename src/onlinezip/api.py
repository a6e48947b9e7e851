"""The Python API: bytes in, bytes out, with an MDL report on the side."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from onlinezip import codec, container, mdl, runtime
from onlinezip.config import Config, load_preset
from onlinezip.errors import OnlinezipError

DEFAULT_PRESET = "default"


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


def _report(header: container.Header, blob: bytes, seconds: float) -> dict[str, Any]:
    return mdl.report(
        config=header.config,
        preset=header.preset,
        original_bytes=header.length,
        container_bytes=len(blob),
        header_bytes=container.header_size(blob),
        nll_bits=header.nll_bits,
        seconds=seconds,
        streams=header.streams,
        num_parameters=header.num_parameters,
    )


def compress_result(
    data: bytes, config: Config | str | None = None, progress: codec.Progress | None = None
) -> Result:
    return compress_coded(data, config, progress)[0]


def compress_coded(
    data: bytes, config: Config | str | None = None, progress: codec.Progress | None = None
) -> tuple[Result, codec.Coded]:
    """``compress_result`` plus the coder's own record (final learner included)."""
    start = time.perf_counter()
    cfg, preset = _resolve(config)
    coded = codec.encode(bytes(data), cfg, progress)
    header = container.Header(
        length=len(data),
        streams=coded.streams,
        sha256=container.sha256(data),
        payload_bytes=len(coded.payload),
        payload_crc32=0,  # filled in by pack
        config=cfg,
        environment=runtime.fingerprint(),
        nll_bits=float(coded.bits.sum()),
        preset=preset,
        num_parameters=coded.num_parameters,
    )
    blob = container.pack(header, coded.payload)
    result = Result(blob, _report(header, blob, time.perf_counter() - start), coded.bits)
    return result, coded


def read_header(blob: bytes) -> tuple[container.Header, dict[str, Any]]:
    """Parse and check a container without decoding it; the report has no timing keys."""
    header, _ = container.parse(blob)
    rep = _report(header, blob, 0.0)
    for key in ("seconds", "bytes_per_second"):
        del rep[key]
    return header, rep


def decompress_result(
    blob: bytes, *, ignore_environment: bool = False, progress: codec.Progress | None = None
) -> Result:
    start = time.perf_counter()
    header, payload = container.parse(bytes(blob))
    if not ignore_environment:
        runtime.check_fingerprint(header.environment)
    try:
        coded = codec.decode(payload, header.length, header.streams, header.config, progress)
    except (ValueError, RuntimeError) as exc:
        raise OnlinezipError(f"corrupt payload: the range decoder failed ({exc})") from None
    if container.sha256(coded.data) != header.sha256:
        raise OnlinezipError(
            "decoded data does not match the original's SHA-256: the file is corrupt or was "
            "made in an environment that does not replay exactly; nothing was written"
        )
    return Result(coded.data, _report(header, blob, time.perf_counter() - start), coded.bits)


def compress(data: bytes, config: Config | str | None = None) -> bytes:
    """Compress ``data`` with a preset name or a ``Config`` (default preset: "default")."""
    return compress_result(data, config).output


def decompress(blob: bytes, *, ignore_environment: bool = False) -> bytes:
    """Decompress a .oz container made by ``compress``; raises OnlinezipError if bad."""
    return decompress_result(blob, ignore_environment=ignore_environment).output
