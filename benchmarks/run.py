"""Benchmark presets against classical codecs: ratio, speed (compilation included), memory.

    python benchmarks/run.py [--presets default rae CONFIG.toml ...]
                             [--files PATH ... | --text-files] [--repeats N] [--out DIR]
                             [--rows-from EARLIER-RUN-OUTPUT]

Every onlinezip figure comes from a fresh process running the CLI (compress, then
decompress from the .oz file, then a byte comparison), timed by the ``seconds`` its
``--report`` gives (model compilation included, interpreter start-up excluded) and its
peak RSS read from ``getrusage``. The classical codecs run in this process through
Python's gzip / bz2 / lzma modules. A ``--presets`` entry ending in ``.toml`` is a config
file (a baseline such as ``benchmarks/baselines/rae-0.2.0.toml``), named by its stem;
one ending in ``@KEY=VALUE`` runs with that environment variable set (e.g.
``default@ONLINEZIP_HUGE_PAGES=off``), and is named with it.
Presets run in turn within each repeat, so a drift in the machine's speed touches all of
them alike. Writes ``results.md`` and ``results.json``.
"""

from __future__ import annotations

import argparse
import bz2
import gzip
import json
import lzma
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CANTERBURY = REPO.parent / "shared" / "data" / "canterbury"
DEFAULT_FILES = [CANTERBURY / "alice29.txt"]
TEXT_FILES = [CANTERBURY / name for name in (
    "alice29.txt", "asyoulik.txt", "lcet10.txt", "plrabn12.txt",
    "cp.html", "fields.c", "grammar.lsp", "xargs.1",
)]  # fmt: skip


def _classical() -> dict:
    """(compress, decompress) pairs; zstd, brotli and PPMd when their modules are installed
    (``pip install -e .[bench]``)."""
    codecs = {
        "gzip -9": (lambda d: gzip.compress(d, 9, mtime=0), gzip.decompress),
        "bzip2 -9": (lambda d: bz2.compress(d, 9), bz2.decompress),
        "xz -9e": (lambda d: lzma.compress(d, preset=9 | lzma.PRESET_EXTREME), lzma.decompress),
    }
    try:
        import zstandard

        codecs["zstd -19"] = (
            lambda d: zstandard.ZstdCompressor(level=19).compress(d),
            lambda b: zstandard.ZstdDecompressor().decompress(b),
        )
    except ImportError:
        pass
    try:
        import brotli

        codecs["brotli -q 11"] = (lambda d: brotli.compress(d, quality=11), brotli.decompress)
    except ImportError:
        pass
    try:
        import pyppmd

        for order in (6, 12):
            codecs[f"PPMd o{order}"] = (
                lambda d, o=order: pyppmd.compress(d, max_order=o, mem_size=256 << 20),
                lambda b, o=order: pyppmd.decompress(b, max_order=o, mem_size=256 << 20),
            )
    except ImportError:
        pass
    if shutil.which("zpaq"):  # Debian's zpaq (context mixing), through files
        codecs["zpaq -m5"] = (_zpaq_compress, _zpaq_decompress)
    return codecs


def _zpaq_compress(data: bytes) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "f").write_bytes(data)
        cmd = ["zpaq", "a", "a.zpaq", "f", "-m5"]
        subprocess.run(cmd, cwd=tmp, check=True, capture_output=True)
        return Path(tmp, "a.zpaq").read_bytes()


def _zpaq_decompress(blob: bytes) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "a.zpaq").write_bytes(blob)
        out = Path(tmp, "out")
        cmd = ["zpaq", "x", "a.zpaq", "-to", str(out)]
        subprocess.run(cmd, cwd=tmp, check=True, capture_output=True)
        return (out / "f").read_bytes()


CLASSICAL = _classical()


def _cli(*args: str, extra_env: dict[str, str] | None = None) -> tuple[float, int]:
    """Run the CLI in a child; return (wall seconds, child's peak RSS in bytes)."""
    start = time.perf_counter()
    env = {**os.environ, "ONLINEZIP_CACHE": "off"}  # every run compiles: no cached programs
    env |= extra_env or {}
    child = subprocess.Popen([sys.executable, "-m", "onlinezip.cli", *args], env=env)
    _, status, usage = os.wait4(child.pid, 0)  # this child's own resource usage
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode:
        raise SystemExit(f"onlinezip {' '.join(args)} exited {child.returncode}")
    return time.perf_counter() - start, usage.ru_maxrss * 1024  # ru_maxrss: KiB on Linux


def model_args(preset: str) -> tuple[str, list[str]]:
    """(label, CLI arguments) for a preset name or a config file (``@KEY=VALUE`` kept in
    the label, left out of the arguments: ``preset_env``)."""
    name, at, setting = preset.partition("@")
    suffix = f"@{setting}" if at else ""
    if name.endswith(".toml"):
        return Path(name).stem + suffix, ["--config", name]
    return name + suffix, ["--preset", name]


def preset_env(preset: str) -> dict[str, str]:
    """The environment variable a ``PRESET@KEY=VALUE`` entry sets ({} without one)."""
    _, at, setting = preset.partition("@")
    key, _, value = setting.partition("=")
    return {key: value} if at else {}


def run_preset(path: Path, preset: str, work: Path) -> tuple[dict, dict, int, int]:
    """One compress + decompress pair in fresh processes, checked byte for byte:
    (compress report, decompress report, compress peak RSS, decompress peak RSS)."""
    label, model = model_args(preset)
    name = f"{path.name}.{label.replace('/', '_')}"  # a label may hold a path (@PYTHONPATH=)
    oz, back = work / f"{name}.oz", work / f"{name}.out"
    c_rep, d_rep = work / "c.json", work / "d.json"
    env = preset_env(preset)
    _, c_rss = _cli("compress", str(path), "-o", str(oz), *model, "-q", "--force",
                    "--report", str(c_rep), extra_env=env)  # fmt: skip
    _, d_rss = _cli("decompress", str(oz), "-o", str(back), "-q", "--force",
                    "--report", str(d_rep), extra_env=env)  # fmt: skip
    if back.read_bytes() != path.read_bytes():
        raise SystemExit(f"ROUNDTRIP FAILED: {path} with {preset}")
    return json.loads(c_rep.read_text()), json.loads(d_rep.read_text()), c_rss, d_rss


def summarize(preset: str, runs: list[tuple[dict, dict, int, int]]) -> dict:
    """One row from a preset's runs: medians of the reports' seconds."""
    c = runs[0][0]
    compress_s = statistics.median(r[0]["seconds"] for r in runs)
    decompress_s = statistics.median(r[1]["seconds"] for r in runs)
    return {
        "codec": f"onlinezip {model_args(preset)[0]}",
        "bits_per_byte": c["bits_per_byte"],
        "compressed_bytes": c["container_bytes"],
        "nll_bits_per_byte": c["nll_bits_per_byte"],
        "compress_kb_s": c["original_bytes"] / compress_s / 1000,
        "decompress_kb_s": c["original_bytes"] / decompress_s / 1000,
        "compress_seconds_runs": [r[0]["seconds"] for r in runs],
        "decompress_seconds_runs": [r[1]["seconds"] for r in runs],
        "decompress_over_compress": decompress_s / compress_s,
        "peak_rss_mib": max(max(r[2], r[3]) for r in runs) / 2**20,
        "runs": len(runs),
        "roundtrip": "ok (separate process)",
    }


def bench_presets(path: Path, presets: list[str], work: Path, repeats: int = 1) -> list[dict]:
    """``repeats`` rounds, each running every preset once in turn; a row per preset."""
    runs: dict[str, list] = {preset: [] for preset in presets}
    for _ in range(repeats):
        for preset in presets:
            runs[preset].append(run_preset(path, preset, work))
    return [summarize(preset, runs[preset]) for preset in presets]


def bench_classical(path: Path, name: str) -> dict:
    data = path.read_bytes()
    compress, decompress = CLASSICAL[name]
    start = time.perf_counter()
    blob = compress(data)
    middle = time.perf_counter()
    row = {
        "codec": name,
        "bits_per_byte": 8 * len(blob) / len(data),
        "compressed_bytes": len(blob),
        "compress_kb_s": len(data) / (middle - start) / 1000,
    }
    try:
        ok = decompress(blob) == data
    except ValueError as exc:  # pyppmd's order-12 decoder rejects some of its own output
        row["roundtrip"] = f"decoder failed: {exc}"
        return row
    if not ok:
        raise SystemExit(f"ROUNDTRIP FAILED: {path} with {name}")
    row["decompress_kb_s"] = len(data) / (time.perf_counter() - middle) / 1000
    return row


def machine() -> dict:
    """The CPU (its name, and family / model / stepping, which tell generations apart where
    a virtual machine names only "AMD EPYC"), cores, Python, platform, date."""
    cpu: dict[str, str] = {}
    try:
        first = Path("/proc/cpuinfo").read_text().split("\n\n")[0]  # the first processor
        cpu = {k.strip(): v.strip() for k, _, v in (ln.partition(":") for ln in first.splitlines())}
    except OSError:
        pass
    generation = "/".join(cpu.get(k, "?") for k in ("cpu family", "model", "stepping"))
    return {"cpu": cpu.get("model name", "unknown"), "cpu_family_model_stepping": generation,
            "usable_cores": len(os.sched_getaffinity(0)),
            "python": platform.python_version(), "platform": platform.platform(),
            "date": time.strftime("%Y-%m-%d")}  # fmt: skip


def write_results(
    out: Path, stem: str, info: dict, rows: list[dict], markdown: str, echo: bool = True
) -> None:
    """``STEM.json`` (machine description + rows) and ``STEM.md`` in ``out``; prints the md
    (``echo``)."""
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{stem}.json").write_text(json.dumps({"machine": info, "rows": rows}, indent=2))
    (out / f"{stem}.md").write_text(markdown)
    if echo:
        print(markdown)


def rows_from_log(log: Path) -> list[dict]:
    """The onlinezip rows an earlier run printed (a JSON object a line, as it went)."""
    rows = []
    for line in log.read_text().splitlines():
        if line.startswith("{"):
            row = json.loads(line)
            if row.get("codec", "").startswith("onlinezip "):
                rows.append(row)
    return rows


def add_ratios(rows: list[dict], baseline: str) -> None:
    """Each onlinezip row's compress and decompress speed over the baseline's, same file
    (medians of runs taken in turn: the ratio the machine's drift disturbs least)."""
    base = {r["file"]: r for r in rows if r["codec"] == baseline}
    for r in rows:
        if r["codec"].startswith("onlinezip ") and r["codec"] != baseline and r["file"] in base:
            for way in ("compress", "decompress"):
                r[f"{way}_vs_baseline"] = r[f"{way}_kb_s"] / base[r["file"]][f"{way}_kb_s"]


def to_markdown(rows: list[dict], info: dict, note: str = "") -> str:
    lines = [
        f"Machine: {info['cpu']} (CPU family/model/stepping "
        f"{info.get('cpu_family_model_stepping', '?')}), {info['usable_cores']} usable cores, "
        f"{info['date']}.",
        "onlinezip speeds are whole compress / decompress calls with model compilation "
        "included (persistent compilation cache off), the median of the runs given; "
        "decompression ran in a separate process from the .oz file and was checked byte "
        "for byte." + (f" {note}" if note else ""),
        "",
        "| file | codec | bits/byte | bytes | compress KB/s | decompress KB/s | peak RSS MiB "
        "| runs |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        dec = f"{r['decompress_kb_s']:.2f}" if "decompress_kb_s" in r else ""
        rss = f"{r['peak_rss_mib']:.0f}" if "peak_rss_mib" in r else ""
        if "decoder failed" in r.get("roundtrip", ""):
            dec = "decoder failed"
        lines.append(
            f"| {r['file']} | {r['codec']} | {r['bits_per_byte']:.3f} | "
            f"{r['compressed_bytes']:,} | {r['compress_kb_s']:.2f} | {dec} | {rss} "
            f"| {r.get('runs', '')} |"
        )
    ratios = [r for r in rows if "compress_vs_baseline" in r]
    if ratios:
        lines.append("")
        lines.append(
            "Speed over the baseline's, same file, same run: "
            + "; ".join(
                f"{r['codec']} on {r['file']}: compress x{r['compress_vs_baseline']:.2f}, "
                f"decompress x{r['decompress_vs_baseline']:.2f}"
                for r in ratios
            )
            + "."
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--presets", nargs="+", default=["default", "fast", "max", "rae", "tiny", "small", "base"]
    )
    parser.add_argument("--files", nargs="+", type=Path, default=DEFAULT_FILES)
    parser.add_argument(
        "--text-files",
        action="store_true",
        help="all eight Canterbury text files instead of --files",
    )
    parser.add_argument("--repeats", type=int, default=1, help="runs per preset (medians)")
    parser.add_argument(
        "--baseline", help="a --presets entry to give every other one's speed ratio against"
    )
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results")
    parser.add_argument(
        "--rows-from",
        type=Path,
        help="take the onlinezip rows of each file from the lines an earlier run printed "
        "(its output, saved; a run stopped before its end) instead of running the presets; "
        "the classical codecs are measured now",
    )
    args = parser.parse_args()
    files = TEXT_FILES if args.text_files else args.files
    earlier = rows_from_log(args.rows_from) if args.rows_from else None
    note = (
        f"The onlinezip rows are those an earlier run on this machine printed as it went "
        f"({args.rows_from.name}; it was stopped before its end); the other codecs were "
        f"measured in this run."
        if earlier is not None
        else ""
    )
    rows, info = [], machine()
    with tempfile.TemporaryDirectory() as tmp:
        for path in files:
            for name in CLASSICAL:
                rows.append({"file": path.name, **bench_classical(path, name)})
            if earlier is not None:
                found = [r for r in earlier if r["file"] == path.name]
            else:
                found = bench_presets(path, args.presets, Path(tmp), args.repeats)
            for row in found:
                row = {"file": path.name, **row}
                print(json.dumps(row), flush=True)
                rows.append(row)
            # the table so far, so that a run stopped early still leaves its results
            write_results(args.out, "results", info, rows, to_markdown(rows, info, note), False)
    if args.baseline:
        add_ratios(rows, f"onlinezip {model_args(args.baseline)[0]}")
    write_results(args.out, "results", info, rows, to_markdown(rows, info, note))


if __name__ == "__main__":
    main()
