"""Would a shared warm-up prefix cut the ratio lost to segments? (Measured, not built.)

    python benchmarks/warm_start.py [--bytes 2097152] [--preset default]
                                    [--warm 0 65536 262144] [--out benchmarks/results]

Two segments of the first ``--bytes`` of bible.txt, as ``-T 2`` cuts them. The first is
coded by a fresh learner; the second by a learner that first learnt from the input's
first W bytes (a prefix every segment could share: coded once, at the head of the first
segment) and then codes its own half. The code lengths are the encoder's ideal ones
(-log2 p, through ``codec.Codec``, in this process), against the one-learner file's.

What such a design costs is serial time: a decoder must decode the prefix before the
other segments can start, and each of them must learn from it (or be sent the learner's
state), so -T 2 takes at best (n + W) / 2 of the one-learner time n (state sent) or
(n + 3W) / 2 (learnt again). Writes warm_start.json and warm_start.md.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))
from run import machine, write_results  # noqa: E402

BIBLE = REPO.parent / "shared" / "data" / "large" / "bible.txt"


def code_bits(cfg, prefix: bytes, data: bytes) -> float:
    """Bits of ``data`` coded by a learner that first learnt from ``prefix``."""
    from onlinezip import codec

    coder = codec.Codec(cfg, codec.effective_streams(len(data), cfg.run))
    if prefix:
        coder.encode_chunk(prefix)
    pieces = codec.chunks(data, cfg.run.chunk_bytes)
    return sum(float(coder.encode_chunk(piece)[1].sum()) for piece in pieces)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bytes", type=int, default=2 << 20)
    ap.add_argument("--preset", default="default")
    ap.add_argument("--warm", type=int, nargs="+", default=[0, 65536, 262144])
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results")
    args = ap.parse_args()
    from onlinezip.config import load_preset

    cfg = load_preset(args.preset)
    data = BIBLE.read_bytes()[: args.bytes]
    n, half = len(data), len(data) // 2
    start = time.perf_counter()
    one = code_bits(cfg, b"", data)
    first = code_bits(cfg, b"", data[:half])
    rows = []
    for w in args.warm:
        second = code_bits(cfg, data[:w], data[half:])
        bpb = (first + second) / n
        rows.append({
            "warm_bytes": w, "bpb": round(bpb, 4), "one_learner_bpb": round(one / n, 4),
            "loss_percent": round(100 * ((first + second) / one - 1), 2),
            "t2_bound_state_sent": round(2 * n / (n + w), 3),
            "t2_bound_learnt_again": round(2 * n / (n + 3 * w), 3),
        })  # fmt: skip
        print(rows[-1], flush=True)
    info = {**machine(), "input": f"bible.txt[:{n}]", "preset": args.preset,
            "seconds": round(time.perf_counter() - start, 1)}  # fmt: skip
    lines = [
        f"# A shared warm-up prefix for -T 2 ({info['input']}, preset {args.preset})",
        "",
        f"Machine: {info['cpu']}, {info['date']}. Ideal code lengths (-log2 p) from the "
        "encoder, this process. One learner: "
        f"{rows[0]['one_learner_bpb']} bpb.",
        "",
        "| warm-up prefix W | 2 segments, bpb | ratio lost | -T 2 speed-up bound, state "
        "sent | bound, prefix learnt again |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['warm_bytes']:,} | {r['bpb']} | {r['loss_percent']}% | "
            f"x{r['t2_bound_state_sent']} | x{r['t2_bound_learnt_again']} |"
        )
    write_results(args.out, "warm_start", info, rows, "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
