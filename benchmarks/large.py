"""Large inputs through pipes: peak memory must not grow with the input.

    python benchmarks/large.py [--sizes-mb 1 16 100] [--preset fast] [--out DIR]
    python benchmarks/large.py --files ../shared/data/large/bible.txt --preset default

For every size, a generator process writes deterministic pseudo-text (words drawn from
the bundled sample, with some random bytes) to a pipe; ``onlinezip compress - -o F`` reads
it as a stream. Then ``onlinezip decompress F -o -`` writes to a pipe that this script
hashes as it arrives: neither side ever holds the whole input. The SHA-256 of the
generator's output, computed separately, must match. Each onlinezip child's peak RSS
comes from ``wait4``. Writes ``large.json`` and ``large.md``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))
from run import machine, write_results  # noqa: E402

GENERATOR = r"""
import sys, numpy as np
size, seed = int(sys.argv[1]), 0
words = open(sys.argv[2], "rb").read().split()
rng = np.random.default_rng(seed)
out, left = sys.stdout.buffer, size
while left > 0:
    picks = rng.integers(0, len(words), 200_000)
    block = b" ".join(words[i] for i in picks)
    noise = rng.integers(0, 256, len(block) // 50, dtype=np.uint8).tobytes()
    block = (block + noise)[:left]
    out.write(block)
    left -= len(block)
"""
SAMPLE = REPO / "samples" / "alice-excerpt.txt"


def _source(size: int | None, path: Path | None) -> list[str]:
    if path is not None:
        return ["cat", str(path)]
    return [sys.executable, "-c", GENERATOR, str(size), str(SAMPLE)]


def _sha_of(cmd: list[str]) -> tuple[str, int]:
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE)
    sha, n = hashlib.sha256(), 0
    while block := proc.stdout.read(1 << 20):
        sha.update(block)
        n += len(block)
    proc.wait()
    return sha.hexdigest(), n


def _onlinezip(args: list[str], stdin=None, stdout=None) -> subprocess.Popen:
    env = {**os.environ, "ONLINEZIP_CACHE": "off"}
    cmd = [sys.executable, "-m", "onlinezip.cli", *args]
    return subprocess.Popen(cmd, stdin=stdin, stdout=stdout, env=env)


def _finish(child: subprocess.Popen) -> int:
    """Wait for ``child``; its peak RSS in bytes (ru_maxrss is in KiB on Linux)."""
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode:
        raise SystemExit(f"onlinezip {child.args[3:]} exited {child.returncode}")
    return usage.ru_maxrss * 1024


def bench(label: str, source: list[str], preset: str, work: Path) -> dict:
    want_sha, n = _sha_of(source)
    oz, c_rep, d_rep = work / "big.oz", work / "c.json", work / "d.json"
    gen = subprocess.Popen(source, stdout=subprocess.PIPE)
    comp = _onlinezip(["compress", "-", "-o", str(oz), "--preset", preset, "-q", "--force",
                       "--report", str(c_rep)], stdin=gen.stdout)  # fmt: skip
    gen.stdout.close()  # the compressor holds the only reader
    c_rss = _finish(comp)
    gen.wait()
    start = time.perf_counter()
    dec = _onlinezip(["decompress", str(oz), "-o", "-", "-q", "--report", str(d_rep)],
                     stdout=subprocess.PIPE)  # fmt: skip
    sha = hashlib.sha256()
    while block := dec.stdout.read(1 << 20):
        sha.update(block)
    d_rss = _finish(dec)
    if sha.hexdigest() != want_sha:
        raise SystemExit(f"ROUNDTRIP FAILED for {label}")
    c, d = json.loads(c_rep.read_text()), json.loads(d_rep.read_text())
    row = {
        "input": label, "bytes": n, "preset": preset,
        "bits_per_byte": c["bits_per_byte"], "container_bytes": c["container_bytes"],
        "compress_kb_s": c["bytes_per_second"] / 1000,
        "decompress_kb_s": d["bytes_per_second"] / 1000,
        "compress_peak_rss_mib": c_rss / 2**20, "decompress_peak_rss_mib": d_rss / 2**20,
        "decompress_wall_s": time.perf_counter() - start, "roundtrip": "sha256 ok",
    }  # fmt: skip
    print(json.dumps(row), flush=True)
    return row


def to_markdown(rows: list[dict], info: dict) -> str:
    lines = [
        f"Machine: {info['cpu']}, {info['usable_cores']} usable cores, {info['date']}. "
        "Input through a pipe into `compress -`, output of `decompress -o -` hashed from a "
        "pipe; compilation included; one run each.",
        "",
        "| input | MB | preset | bits/byte | compress KB/s | decompress KB/s "
        "| peak RSS MiB (compress / decompress) |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['input']} | {r['bytes'] / 1e6:.1f} | {r['preset']} | {r['bits_per_byte']:.3f} "
            f"| {r['compress_kb_s']:.1f} | {r['decompress_kb_s']:.1f} "
            f"| {r['compress_peak_rss_mib']:.0f} / {r['decompress_peak_rss_mib']:.0f} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes-mb", nargs="*", type=float, default=[1, 16, 100])
    parser.add_argument("--files", nargs="*", type=Path, default=[])
    parser.add_argument("--preset", default="fast")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "large")
    args = parser.parse_args()
    jobs = [(f"{path.name}", _source(None, path)) for path in args.files]
    if not args.files:
        jobs = [(f"generated {mb:g} MB", _source(int(mb * 1e6), None)) for mb in args.sizes_mb]
    with tempfile.TemporaryDirectory() as tmp:
        rows = [bench(label, source, args.preset, Path(tmp)) for label, source in jobs]
    info = machine()
    stem = f"large-{args.preset}" + ("-files" if args.files else "")
    write_results(args.out, stem, info, rows, to_markdown(rows, info))


if __name__ == "__main__":
    main()
