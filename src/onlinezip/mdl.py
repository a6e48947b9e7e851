"""Minimum description length accounting: the code that decodes, plus what it decodes.

description length = |decoder's code| + |container|
                   ~ code_bytes + header_bytes + sum_t -log2 p_t(x_t) / 8
"""

from __future__ import annotations

import functools
import io
import lzma
import tarfile
from pathlib import Path
from typing import Any

from onlinezip.config import Config

PACKAGE_DIR = Path(__file__).resolve().parent


@functools.lru_cache(maxsize=1)
def _package_sources() -> tuple[tuple[str, bytes], ...]:
    return tuple(
        (path.relative_to(PACKAGE_DIR.parent).as_posix(), path.read_bytes())
        for path in sorted(PACKAGE_DIR.rglob("*.py"))
    )


def code_bytes(config: Config) -> int:
    """Size of the decoder's own source: the package's .py files plus the config as JSON,
    in a reproducible tar, compressed with xz -9e."""
    files = [*_package_sources(), ("onlinezip/config.json", config.canonical_json().encode())]
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for name, content in files:
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(content), 0, 0o644
            tar.addfile(info, io.BytesIO(content))
    return len(lzma.compress(buffer.getvalue(), preset=9 | lzma.PRESET_EXTREME))


def report(
    *,
    config: Config,
    preset: str,
    original_bytes: int,
    container_bytes: int,
    header_bytes: int,
    nll_bits: float,
    seconds: float,
    streams: int,
    num_parameters: int,
) -> dict[str, Any]:
    """The MDL report: every size is what was written, the NLL what the coder was given."""
    code = code_bytes(config)
    return {
        "original_bytes": original_bytes,
        "container_bytes": container_bytes,
        "header_bytes": header_bytes,
        "payload_bytes": container_bytes - header_bytes,
        "nll_bits": nll_bits,
        "code_bytes": code,
        "description_length_bytes": code + container_bytes,
        "bits_per_byte": 8 * container_bytes / original_bytes if original_bytes else 0.0,
        "nll_bits_per_byte": nll_bits / original_bytes if original_bytes else 0.0,
        "seconds": seconds,
        "bytes_per_second": original_bytes / seconds if seconds > 0 else 0.0,
        "streams": streams,
        "num_parameters": num_parameters,
        "preset": preset,
        "config": config.to_dict(),
    }


def format_report(rep: dict[str, Any]) -> str:
    """A few human lines for stderr / ``info``."""
    lines = [
        f"original          {rep['original_bytes']:>12,} bytes",
        f"container (.oz)   {rep['container_bytes']:>12,} bytes"
        f"  = header {rep['header_bytes']:,} + payload {rep['payload_bytes']:,}"
        f"  ({rep['bits_per_byte']:.3f} bits/byte)",
        f"NLL term          {rep['nll_bits'] / 8:>12,.1f} bytes"
        f"  ({rep['nll_bits_per_byte']:.3f} bits/byte, what the coder was given)",
        f"code term         {rep['code_bytes']:>12,} bytes  (xz of the decoder's source + config)",
        f"description length {rep['description_length_bytes']:>11,} bytes  = code + container",
    ]
    if "seconds" in rep:
        lines.append(
            f"time              {rep['seconds']:>12.2f} s"
            f"  ({rep['bytes_per_second'] / 1000:.1f} KB/s, compilation included)"
        )
    if rep["preset"] == "stored":
        lines.append("model             none: stored (coding would have grown the input)")
    else:
        lines.append(
            f"model             {rep['preset']}: {rep['config']['model']['family']}, "
            f"{rep['num_parameters']:,} parameters, {rep['streams']} stream(s)"
        )
    return "\n".join(lines)
