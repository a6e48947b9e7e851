"""Seconds to build a cm learner's programs (trace, lower, compile), with XLA's default
compiler options against other ones (``models.cm.program.COMPILER_OPTIONS``), and the
step time each gives.

    python benchmarks/compile_time.py [--presets default max] [--options JSON]
                                      [--rounds R] [--out DIR]

Every (preset, options, round) is a fresh process with the persistent compilation cache
off: ``step_speed.time_child`` builds the programs (``learner.programs``, timed), takes
50 steps, then times the next 300 over alice29.txt. The two option sets take turns;
medians. Writes ``compile_time.json`` and ``compile_time.md``. Pin it to one core.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))
from run import machine, write_results  # noqa: E402
from step_speed import time_child  # noqa: E402

# one code-generation module and LLVM's -O1: the options session 13 measured
SHORTER = {"xla_cpu_parallel_codegen_split_count": 1, "xla_backend_optimization_level": 1}

def run_once(preset: str, xla_defaults: bool, options: str) -> dict:
    env = dict(os.environ, ONLINEZIP_CACHE="off")
    return time_child(preset, {}, False, 300, "" if xla_defaults else options, env=env)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", nargs="+", default=["default", "max"])
    parser.add_argument("--options", default=json.dumps(SHORTER))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "steps")
    args = parser.parse_args()

    rows = []
    for preset in args.presets:
        got: dict[bool, list[dict]] = {True: [], False: []}
        for r in range(args.rounds):
            for xla_defaults in (True, False):
                got[xla_defaults].append(run_once(preset, xla_defaults, args.options))
                print(preset, xla_defaults, r, got[xla_defaults][-1], flush=True)
        for xla_defaults in (True, False):
            builds = [x["build_seconds"] for x in got[xla_defaults]]
            steps = [x["us_per_step"] for x in got[xla_defaults]]
            rows.append({"preset": preset, "options": "XLA's defaults" if xla_defaults
                         else args.options, "build_seconds": builds,
                         "us_per_step": steps, "rounds": args.rounds})  # fmt: skip
    info = machine()
    lines = [
        f"{info['cpu']} (CPU family/model/stepping {info['cpu_family_model_stepping']}), "
        f"{info['usable_cores']} usable core(s), {info['date']}: seconds to trace, lower and "
        "compile a cm learner's programs (persistent cache off) and microseconds per step "
        f"after, fresh processes taking turns, {args.rounds} rounds; medians (min-max).",
        "",
        "| preset | compiler options | build s | us/step |",
        "|---|---|---|---|",
    ]
    for r in rows:
        b, s = r["build_seconds"], r["us_per_step"]
        build = f"{statistics.median(b):.2f} ({min(b):.2f}-{max(b):.2f})"
        step = f"{statistics.median(s):.0f} ({min(s):.0f}-{max(s):.0f})"
        lines.append(f"| {r['preset']} | `{r['options']}` | {build} | {step} |")
    write_results(args.out, "compile_time", info, rows, "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
