"""How much slower one process runs while another runs beside it on the other core.

    python benchmarks/contention.py [--bytes 262144] [--preset default] [--runs 3]
                                    [--out benchmarks/results]

-T 2 can be no faster than the machine lets two independent processes be: where the two
cores share caches, memory bandwidth or a physical core (virtual CPUs), each process
slows down while the other runs. This runs ``onlinezip compress`` of the first
``--bytes`` of bible.txt alone, then two copies at once (each on its own input file),
``--runs`` rounds taken in turn, and reports the wall and user seconds: the ratio of a
pair's to the lone process's time bounds -T 2's speed-up at 2 / ratio. Writes
contention.json and contention.md.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))
from run import machine, write_results  # noqa: E402

BIBLE = REPO.parent / "shared" / "data" / "large" / "bible.txt"
CLI = [sys.executable, "-m", "onlinezip.cli", "compress", "-q", "-f"]


def run_together(inputs: list[Path], preset: str) -> list[float]:
    """Wall seconds of each of ``len(inputs)`` compressions started at once."""
    procs = []
    for path in inputs:
        cmd = [*CLI, "--preset", preset, str(path), "-o", f"{path}.oz"]
        procs.append((time.perf_counter(), subprocess.Popen(cmd)))
    walls = []
    for start, proc in procs:
        if proc.wait() != 0:
            raise SystemExit(f"{proc.args} failed")
        walls.append(time.perf_counter() - start)
    return walls


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bytes", type=int, default=256 << 10)
    ap.add_argument("--preset", default="default")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results")
    args = ap.parse_args()
    data = BIBLE.read_bytes()[: args.bytes]
    with tempfile.TemporaryDirectory() as tmp:
        inputs = [Path(tmp) / f"in{i}" for i in range(2)]
        for path in inputs:
            path.write_bytes(data)
        run_together(inputs[:1], args.preset)  # warm the compilation cache
        alone, pair = [], []
        for _ in range(args.runs):
            alone += run_together(inputs[:1], args.preset)
            pair += run_together(inputs, args.preset)
    ratio = statistics.median(pair) / statistics.median(alone)
    row = {
        "alone_s": [round(t, 2) for t in alone], "pair_s": [round(t, 2) for t in pair],
        "alone_median_s": round(statistics.median(alone), 2),
        "pair_median_s": round(statistics.median(pair), 2),
        "slowdown": round(ratio, 3), "t2_bound": round(2 / ratio, 3),
    }  # fmt: skip
    print(row)
    info = machine() | {"input": f"bible.txt[:{len(data)}]", "preset": args.preset}
    md = [
        f"# Two processes at once ({info['input']}, preset {args.preset})",
        "",
        f"Machine: {info['cpu']}, {info['date']}. Wall seconds of `onlinezip compress`, "
        f"alone and two copies started together, {args.runs} rounds taken in turn.",
        "",
        "| | runs, s | median s |",
        "|---|---|---|",
        f"| alone | {', '.join(map(str, row['alone_s']))} | {row['alone_median_s']} |",
        f"| two at once (each) | {', '.join(map(str, row['pair_s']))} | "
        f"{row['pair_median_s']} |",
        "",
        f"Each of two processes runs x{row['slowdown']} slower than one alone, so two "
        f"independent processes (-T 2) can be at most x{row['t2_bound']} faster than one "
        "on this machine, start-up included.",
    ]
    write_results(args.out, "contention", info, [row], "\n".join(md) + "\n")


if __name__ == "__main__":
    main()
