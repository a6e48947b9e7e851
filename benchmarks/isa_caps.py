"""Does the instruction-set cap change the bits? (Why onlinezip pins it.)

    python benchmarks/isa_caps.py [--presets default max rae CONFIG.toml] [--file PATH]
                                  [--bytes N] [--out DIR]

Compresses the same bytes with each preset under every ``ONLINEZIP_ISA`` level this CPU
supports, each in a fresh process, and compares the range-coder payloads: identical
payloads mean identical probabilities at every step. Then decodes the AVX2 file in a
process at each other level with ``--ignore-environment``, which shows what a decoder
without the pin would do. Writes ``isa_caps.json`` and ``isa_caps.md``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))
from run import machine, model_args, write_results  # noqa: E402

LEVELS = {"SSE4_2": "sse4_2", "AVX": "avx", "AVX2": "avx2", "AVX512": "avx512f"}
ALICE = REPO.parent / "shared" / "data" / "canterbury" / "alice29.txt"


def _cli(args: list[str], isa: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}  # set by our import
    env.update(ONLINEZIP_ISA=isa, ONLINEZIP_CACHE="off")
    cmd = [sys.executable, "-m", "onlinezip.cli", *args]
    return subprocess.run(cmd, env=env, capture_output=True)


def payload_sha(oz: Path) -> str:
    from onlinezip import container

    _, _, frames = container.parse(oz.read_bytes())
    return hashlib.sha256(b"".join(f.payload for f in frames)).hexdigest()[:16]


def run(preset: str, data_path: Path, levels: list[str], work: Path) -> dict:
    label, model = model_args(preset)  # a preset name or a config file
    row: dict = {"preset": label, "payload_sha256": {}, "decode_avx2_file_at": {}}
    for isa in levels:
        oz = work / f"{label}.{isa}.oz"
        proc = _cli(["compress", str(data_path), "-o", str(oz), *model, "-q", "--force"], isa)
        if proc.returncode:
            raise SystemExit(proc.stderr.decode())
        row["payload_sha256"][isa] = payload_sha(oz)
    for isa in levels:
        out = work / "back"
        proc = _cli(["decompress", str(work / f"{label}.AVX2.oz"), "-o", str(out), "--force",
                     "-q", "--ignore-environment"], isa)  # fmt: skip
        ok = proc.returncode == 0 and out.read_bytes() == data_path.read_bytes()
        row["decode_avx2_file_at"][isa] = "exact" if ok else proc.stderr.decode().strip()[-120:]
    print(json.dumps(row), flush=True)
    return row


def _outcome(text: str) -> str:
    if text == "exact":
        return "exact"
    return "fails (range decoder)" if "range decoder" in text else "fails (chunk CRC-32)"


def to_markdown(info: dict, rows: list[dict]) -> str:
    levels = info["levels"]
    lines = [
        f"{info['cpu']} (CPU family/model/stepping {info.get('cpu_family_model_stepping', '?')}), "
        f"{info['date']}: the first {info['bytes']:,} bytes of {info['file']}, "
        "compressed in a fresh process per level (`ONLINEZIP_ISA`); payload hashes, and "
        "whether the AVX2 file decodes at each level (`--ignore-environment`).",
        "",
        "| preset | " + " | ".join(levels) + " |",
        "|---|" + "---|" * len(levels),
    ]
    for r in rows:
        payloads = " | ".join(r["payload_sha256"][i] for i in levels)
        decodes = " | ".join(_outcome(r["decode_avx2_file_at"][i]) for i in levels)
        lines.append(f"| {r['preset']} payload | {payloads} |")
        lines.append(f"| {r['preset']}: AVX2 file decodes | {decodes} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", nargs="+", default=["default", "max", "rae", "small"])
    parser.add_argument("--file", type=Path, default=ALICE)
    parser.add_argument("--bytes", type=int, default=20_000, help="prefix of the file to use")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results")
    parser.add_argument("--render", action="store_true", help="only rewrite the .md from .json")
    args = parser.parse_args()
    if args.render:
        saved = json.loads((args.out / "isa_caps.json").read_text())
        (args.out / "isa_caps.md").write_text(to_markdown(saved["machine"], saved["rows"]))
        return
    flags = Path("/proc/cpuinfo").read_text()
    levels = [isa for isa, flag in LEVELS.items() if f" {flag}" in flags]
    with tempfile.TemporaryDirectory() as tmp:
        data_path = Path(tmp) / "input"
        data_path.write_bytes(args.file.read_bytes()[: args.bytes])
        rows = [run(p, data_path, levels, Path(tmp)) for p in args.presets]
    info = {**machine(), "file": args.file.name, "bytes": args.bytes, "levels": levels}
    write_results(args.out, "isa_caps", info, rows, to_markdown(info, rows))


if __name__ == "__main__":
    main()
