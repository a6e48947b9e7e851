"""Step program 1 against step program 2: microseconds per learner step, same model.

    python benchmarks/step_programs.py [--presets default rae ...] [--steps N] [--rounds R]
                                       [--out DIR]

For every preset, one process builds a learner on each step program (same config, same
streams) and times ``Learner.step`` on the same bytes of alice29.txt: the compiled step
and the host round trip, without compilation. The two take turns for ``--rounds`` rounds
of ``--steps`` steps; medians. Writes ``step_programs.json`` and ``step_programs.md``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))
from run import DEFAULT_FILES, machine, model_args, write_results  # noqa: E402

from onlinezip.config import load_config, load_preset  # noqa: E402
from onlinezip.learner import Learner  # noqa: E402


def time_steps(preset: str, steps: int, rounds: int) -> dict:
    label, _ = model_args(preset)
    config = load_config(preset) if preset.endswith(".toml") else load_preset(preset)
    streams = config.run.streams
    data = DEFAULT_FILES[0].read_bytes()[: streams * steps]
    x_TB = np.frombuffer(data, np.uint8).astype(np.int32).reshape(steps, streams)
    mask_B = np.ones(streams, np.float32)
    learners = {p: Learner(config.replace(run={"step_program": p}), streams) for p in (1, 2)}
    us: dict[int, list[float]] = {1: [], 2: []}
    for _ in range(rounds):
        for program, learner in learners.items():
            start = time.perf_counter()
            for x_B in x_TB:
                if learner.nibbles:  # a byte: the low nibble's program, then the step
                    learner.half(x_B >> 4)
                learner.step(x_B, mask_B)
            us[program].append((time.perf_counter() - start) / steps * 1e6)
    one, two = statistics.median(us[1]), statistics.median(us[2])
    row = {"preset": label, "streams": streams, "us_per_step_program_1": one}
    row.update(us_per_step_program_2=two, speedup=one / two, rounds=rounds, steps=steps)
    print(row, flush=True)
    return row


def to_markdown(info: dict, rows: list[dict]) -> str:
    lines = [
        f"{info['cpu']} (CPU family/model/stepping {info['cpu_family_model_stepping']}), "
        f"{info['date']}: microseconds per `Learner.step` (compiled step + host round trip, "
        "no compilation), the same model on each step program, taking turns; medians.",
        "",
        "| preset | streams | program 1 us/step | program 2 us/step | program 2 speed-up |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['preset']} | {r['streams']} | {r['us_per_step_program_1']:.1f} | "
            f"{r['us_per_step_program_2']:.1f} | x{r['speedup']:.2f} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--presets",
        nargs="+",
        default=["default", "fast", "max", "tiny", "small", "base", "rae",
                 str(REPO / "benchmarks" / "baselines" / "rae-0.2.0.toml")],
    )  # fmt: skip
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "steps")
    args = parser.parse_args()
    rows = [time_steps(p, args.steps, args.rounds) for p in args.presets]
    info = machine()
    write_results(args.out, "step_programs", info, rows, to_markdown(info, rows))


if __name__ == "__main__":
    main()
