"""The coding thread on XLA's core (``runtime.pinned``) against 0.3's placement
(ONLINEZIP_PIN=off): whole CLI commands, both settings in turn, medians.

    python benchmarks/pinning.py [--file PATH] [--bytes 50000] [--presets fast default cm max]
                                 [--runs 3] [--out benchmarks/results]

For each preset: compress the first ``--bytes`` of ``--file`` (alice29.txt) to a file,
decompress it, compare with the input; ``--runs`` rounds, the two settings alternating
(off, on, off, on, ...) so that the machine's drift touches both alike. Wall seconds of
the whole process (start-up and compilation included, the persistent compilation cache
warmed first), user CPU seconds of the process and its children, and whether the two
settings wrote the same bytes (they must: pinning moves no bit). Writes pinning.json and
pinning.md.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))
from run import machine, write_results  # noqa: E402
from scaling import load  # noqa: E402

ALICE = REPO.parent / "shared" / "data" / "canterbury" / "alice29.txt"
CLI = [sys.executable, "-m", "onlinezip.cli"]


def timed(args: list[str], pin: str) -> tuple[float, float]:
    """(wall s, user+sys CPU s of the children) of one CLI command."""
    env = {**os.environ, "ONLINEZIP_PIN": pin}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(CLI + args, check=True, env=env, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--file", type=Path, default=ALICE)
    ap.add_argument("--bytes", type=int, default=50_000)
    ap.add_argument("--presets", nargs="+", default=["fast", "default", "cm", "max"])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results")
    args = ap.parse_args()
    data = args.file.read_bytes()[: args.bytes]
    rows, info = [], {**machine(), "load_at_start": load()}
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "input"
        src.write_bytes(data)
        for preset in args.presets:
            oz = {pin: Path(tmp) / f"{preset}.{pin}.oz" for pin in ("off", "on")}
            for pin in ("off", "on"):  # warm the compilation cache, once each
                timed(["-f", "-q", "--preset", preset, "-o", str(oz[pin]), str(src)], pin)
            same = oz["off"].read_bytes() == oz["on"].read_bytes()
            runs: dict[tuple[str, str], list[tuple[float, float]]] = {}
            for _ in range(args.runs):
                for pin in ("off", "on"):
                    out = Path(tmp) / "back"
                    c = ["-f", "-q", "--preset", preset, "-o", str(oz[pin]), str(src)]
                    runs.setdefault(("compress", pin), []).append(timed(c, pin))
                    d = ["-d", "-f", "-q", "-o", str(out), str(oz[pin])]
                    runs.setdefault(("decompress", pin), []).append(timed(d, pin))
                    if out.read_bytes() != data:
                        raise SystemExit(f"{preset} pin={pin}: the output differs from the input")
            for way in ("compress", "decompress"):
                off = statistics.median(w for w, _ in runs[(way, "off")])
                on = statistics.median(w for w, _ in runs[(way, "on")])
                rows.append({
                    "preset": preset, "way": way, "bytes": len(data), "same_bytes": same,
                    "wall_s_off": [round(w, 2) for w, _ in runs[(way, "off")]],
                    "wall_s_on": [round(w, 2) for w, _ in runs[(way, "on")]],
                    "cpu_s_off": round(statistics.median(c for _, c in runs[(way, "off")]), 2),
                    "cpu_s_on": round(statistics.median(c for _, c in runs[(way, "on")]), 2),
                    "median_off": round(off, 2), "median_on": round(on, 2),
                    "speedup": round(off / on, 2),
                })  # fmt: skip
                print(rows[-1], flush=True)
    info["load_at_end"] = load()
    write_results(args.out, "pinning", info, rows, markdown(rows, info, args))


def markdown(rows: list[dict], info: dict, args) -> str:
    lines = [
        f"# The coding thread on XLA's core, against 0.3's placement ({args.file.name}"
        f"[:{args.bytes}], medians of {args.runs} rounds taken in turn)",
        "",
        f"Machine: {info['cpu']}, {info['usable_cores']} usable cores, {info['date']}. "
        f"Load at start {info['load_at_start']['loadavg_1min']}, at end "
        f"{info['load_at_end']['loadavg_1min']}; busy processes at start: "
        f"{', '.join(info['load_at_start']['busy_processes']) or 'none'}.",
        "",
        "Whole CLI processes (start-up and compilation included). `off`: ONLINEZIP_PIN=off,"
        " the thread that steps the learner runs wherever the kernel puts it while XLA's "
        "thread stays on the lowest core; `on`: it runs on XLA's core.",
        "",
        "| preset | way | wall s off (median) | wall s on (median) | speed-up | CPU s off | "
        "CPU s on | same bytes |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['preset']} | {r['way']} | {r['median_off']} | {r['median_on']} | "
            f"x{r['speedup']} | {r['cpu_s_off']} | {r['cpu_s_on']} | {r['same_bytes']} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
