"""The floor of a per-bit loop: what one minimal compiled call per bit costs here.

    python benchmarks/per_bit_floor.py [--contexts 17] [--table-bits 22] [--calls 3000]
                                       [--out benchmarks/results]

Issue 10 names two designs: every node of the byte tree predicted in one call per byte
(what ``models/cm`` does), or a loop of 8 calls per byte, one per bit, each predicting
and updating only the nodes on the path. The second computes 255/8 times fewer node
predictions but makes 8 host round trips per byte, because the range coder must decode
bit k before bit k + 1's prediction can be asked for (constriction codes on the host).

This measures the cheapest call a per-bit step could be: the table donated and updated
in place, one row read per context (a gather), a few integer ops, a logistic mix of the
contexts' stretched probabilities, and a write of the rows back (a scatter), returning
one probability. No match model, state maps, APMs or mixer training: a lower bound.
Against it, ``max``'s whole per-byte step (``CMPrograms.step``), on the same core. Both
run on the core XLA's thread was created on (``runtime.pinned``). Writes
per_bit_floor.json and per_bit_floor.md.
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
from run import machine, write_results  # noqa: E402


def minimal_bit_step(contexts: int, table_bits: int):
    import jax
    import jax.numpy as jnp

    from onlinezip.models.cm import counters, squash

    def step(table, weights, h_C, bit):
        rows_C = (h_C >> (32 - table_bits)).astype(jnp.int32)  # (C,)
        c_C = table[rows_C, 0]
        x_C = squash.stretch(counters.probability(c_C))
        p = squash.squash(jnp.sum((x_C * weights) >> 16))
        table = table.at[rows_C, 0].set(counters.update(c_C, bit, 255))
        weights = weights + ((x_C * ((bit << 12) - p)) >> 10)
        return table, weights, p

    table = jnp.full((2**table_bits, 16), counters.FRESH, jnp.uint32)
    weights = jnp.full((contexts,), 1 << 14, jnp.int32)
    return jax.jit(step, donate_argnums=(0, 1)), table, weights


def time_calls(call, calls: int) -> float:
    """Median microseconds of one call (after 200 warm-up calls)."""
    times = []
    for i in range(calls + 200):
        start = time.perf_counter()
        call(i)
        if i >= 200:
            times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e6


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--contexts", type=int, default=17)
    ap.add_argument("--table-bits", type=int, default=22)
    ap.add_argument("--calls", type=int, default=3000)
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results")
    args = ap.parse_args()
    import jax

    from onlinezip import runtime
    from onlinezip.config import load_preset
    from onlinezip.models.cm.program import CMPrograms

    jax.devices("cpu")
    rng = np.random.default_rng(0)
    hashes = rng.integers(0, 2**32, (args.calls + 200, args.contexts), dtype=np.uint32)
    step, table, weights = minimal_bit_step(args.contexts, args.table_bits)
    state = {"table": table, "weights": weights}

    def bit_call(i):
        state["table"], state["weights"], p = step(
            state["table"], state["weights"], hashes[i], np.int32(i & 1)
        )
        int(p)  # the coder needs the probability on the host before the next bit

    cfg = load_preset("max")
    programs = CMPrograms(cfg, 1)
    buffers = {"b": programs.init(programs.init_key)[0]}
    text = np.frombuffer((REPO / "samples" / "alice-excerpt.txt").read_bytes(), np.uint8)
    mask = np.ones(1, np.float32)

    def byte_call(i):
        buffers["b"], probs = programs.step(
            buffers["b"], text[i % len(text)][None].astype(np.int32), mask
        )
        np.asarray(probs)

    with runtime.pinned():
        bit_us = time_calls(bit_call, args.calls)
        byte_us = time_calls(byte_call, args.calls)
    row = {
        "contexts": args.contexts,
        "table_bits": args.table_bits,
        "calls": args.calls,
        "minimal_bit_call_us": round(bit_us, 1),
        "per_bit_loop_floor_us_per_byte": round(8 * bit_us, 1),
        "max_byte_step_us": round(byte_us, 1),
    }
    info = machine()
    what = f"one minimal per-bit call ({args.contexts} contexts, 2**{args.table_bits} table)"
    lines = [
        "# The floor of a per-bit loop against max's one step per byte",
        "",
        f"Machine: {info['cpu']}, {info['date']}; medians of {args.calls} calls, on XLA's core.",
        "",
        "| what | us |",
        "|---|---|",
        f"| {what} | {row['minimal_bit_call_us']} |",
        f"| a per-bit loop's floor per byte (8 calls) | {8 * row['minimal_bit_call_us']:.1f} |",
        f"| `max`'s whole step per byte (every node, all learnt) | {row['max_byte_step_us']} |",
    ]
    md = "\n".join(lines) + "\n"
    write_results(args.out, "per_bit_floor", info, [row], md)


if __name__ == "__main__":
    main()
