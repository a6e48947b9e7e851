"""Microseconds per learner step, variants side by side: a preset with fields changed, its
tables on 2 MiB pages or not, this checkout's code or another's.

    python benchmarks/step_speed.py --variant LABEL PRESET '{"cm": {...}}' HUGE [SRC] \
        [--variant ...] [--steps N] [--rounds R] [--out DIR]

HUGE is 1 to move the learner's big tables to 2 MiB pages first (``Learner.huge_pages``;
the seconds it took are recorded), 0 to leave them (ONLINEZIP_HUGE_PAGES=off); SRC, a
``src`` folder of another checkout (a git worktree of an earlier commit) to time that
code instead. Every (variant, round) is a fresh process that builds the learner for the
preset's streams, takes 50 steps, then times ``Learner.step`` over the next N x B bytes
of alice29.txt (the compiled step and the host round trip, no compilation, no range
coder; with cm.nibbles, the low nibble's program and the step: a whole byte); the
variants take turns for R rounds; medians. Writes ``step_speed.json`` and
``step_speed.md``, with the median seconds each variant took to build its programs
(compilation: set ONLINEZIP_CACHE=off for cold builds). Pin it to one core (``taskset
-c 0``) on an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))
from run import DEFAULT_FILES, machine, write_results  # noqa: E402

_CHILD = """
import json, sys, time
import numpy as np
from onlinezip import runtime
from onlinezip.config import load_preset
from onlinezip.learner import Learner, programs
preset, overrides, huge, steps, path, options = sys.argv[1:7]
if options:  # compile_time.py: other XLA compiler options for the cm programs
    from onlinezip.models.cm import program
    program.COMPILER_OPTIONS = json.loads(options)
config = load_preset(preset).replace(**json.loads(overrides))
streams, steps = config.run.streams, int(steps)
start = time.perf_counter()
programs(config, streams)
build_s = time.perf_counter() - start
data = open(path, "rb").read()[: streams * (steps + 50)]
x_TB = np.frombuffer(data, np.uint8).astype(np.int32).reshape(steps + 50, streams)
mask_B = np.ones(streams, np.float32)
learner = Learner(config, streams)
start = time.perf_counter()
moved = learner.huge_pages() if huge == "1" and hasattr(learner, "huge_pages") else 0
moved_s = time.perf_counter() - start
nibbles = getattr(learner, "nibbles", False)  # a byte: the low nibble's program, the step
with runtime.pinned():
    for x_B in x_TB[:50]:
        if nibbles:
            learner.half(x_B >> 4)
        learner.step(x_B, mask_B)
    start = time.perf_counter()
    for x_B in x_TB[50:]:
        if nibbles:
            learner.half(x_B >> 4)
        learner.step(x_B, mask_B)
    us = (time.perf_counter() - start) / steps * 1e6
print(json.dumps({"us_per_step": us, "streams": streams, "huge_mib": moved >> 20,
                  "huge_seconds": moved_s, "build_seconds": build_s}))
"""


def time_child(preset: str, overrides: dict, huge: bool, steps: int, options: str = "",
               env: dict | None = None) -> dict:  # fmt: skip
    """One fresh process: build the learner's programs (timed), optionally move its
    tables to 2 MiB pages (timed), take 50 steps, time ``steps`` more. ``options``: XLA
    compiler options (JSON) for the cm programs, "" for the checkout's own."""
    cmd = [sys.executable, "-c", _CHILD, preset, json.dumps(overrides), "1" if huge else "0",
           str(steps), str(DEFAULT_FILES[0]), options]  # fmt: skip
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def run_once(variant: dict, steps: int) -> dict:
    env = dict(os.environ, ONLINEZIP_HUGE_PAGES="on" if variant["huge"] else "off")
    if variant["src"]:
        env["PYTHONPATH"] = variant["src"]
    return time_child(variant["preset"], variant["overrides"], variant["huge"], steps, env=env)


def to_markdown(info: dict, rows: list[dict]) -> str:
    base = rows[0]["us_per_step"] / rows[0]["streams"]  # per byte: streams may differ
    lines = [
        f"{info['cpu']} (CPU family/model/stepping {info['cpu_family_model_stepping']}), "
        f"{info['usable_cores']} usable core(s), {info['date']}: microseconds per "
        "`Learner.step` (compiled step + host round trip; no compilation, no range coder; "
        "with cm.nibbles, `Learner.half` and `Learner.step`: a byte a stream), "
        f"{rows[0]['steps']} steps a run on alice29.txt, the variants taking turns for "
        f"{rows[0]['rounds']} rounds in fresh processes; medians (min-max).",
        "",
        "| variant | preset | changed | 2 MiB pages | code | streams | us/step | us/byte "
        f"| against {rows[0]['label']} (a byte) | moving to 2 MiB pages "
        "| building the programs, s |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        runs = r["runs"]
        moved = f"{r['huge_mib']} MiB in {r['huge_seconds']:.2f} s" if r["huge_mib"] else ""
        lines.append(
            f"| {r['label']} | {r['preset']} | `{json.dumps(r['overrides'])}` | "
            f"{'yes' if r['huge'] else 'no'} | {r['src'] or 'this checkout'} | {r['streams']} | "
            f"{r['us_per_step']:.0f} ({min(runs):.0f}-{max(runs):.0f}) | "
            f"{r['us_per_step'] / r['streams']:.1f} | "
            f"x{base * r['streams'] / r['us_per_step']:.2f} | {moved} | {r['build_seconds']:.1f} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variant", nargs="+", action="append", required=True,
                        metavar="LABEL PRESET OVERRIDES HUGE [SRC]")  # fmt: skip
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "steps")
    args = parser.parse_args()
    variants = []
    for v in args.variant:
        if len(v) not in (4, 5):
            parser.error("--variant takes LABEL PRESET OVERRIDES HUGE [SRC]")
        variants.append({"label": v[0], "preset": v[1], "overrides": json.loads(v[2]),
                         "huge": v[3] == "1", "src": v[4] if len(v) == 5 else ""})  # fmt: skip
    results: dict[str, list[dict]] = {v["label"]: [] for v in variants}
    for r in range(args.rounds):
        for v in variants:
            results[v["label"]].append(run_once(v, args.steps))
            print(v["label"], r, results[v["label"]][-1], flush=True)
    rows = []
    for v in variants:
        got = results[v["label"]]
        runs, last = [x["us_per_step"] for x in got], got[-1]
        rows.append({**v, "us_per_step": statistics.median(runs), "runs": runs,
                     "streams": last["streams"], "huge_mib": last["huge_mib"],
                     "huge_seconds": statistics.median(x["huge_seconds"] for x in got),
                     "build_seconds": statistics.median(x["build_seconds"] for x in got),
                     "steps": args.steps, "rounds": args.rounds})  # fmt: skip
    info = machine()
    write_results(args.out, "step_speed", info, rows, to_markdown(info, rows))


if __name__ == "__main__":
    main()
