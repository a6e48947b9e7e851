"""What each part of the context mixer buys: the cm preset with one part taken out at a time.

    python benchmarks/ablation.py [--preset cm] [--files PATH[:BYTES] ...] [--out DIR]
                                  [--only NAME ...]

Each row runs the encoder (``codec.encode``, the same loop the CLI runs) on every file
and reports the coded payload in bits per byte (the range coder's real output, no
container) and the ideal code length (sum of -log2 p). A ``PATH:BYTES`` file uses only
its first BYTES bytes. Roundtrips are not repeated here: they are in the test suite and
in ``benchmarks/run.py``. Writes ``ablation.md`` and ``ablation.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
DEFAULT_FILES = [
    f"{DATA}/canterbury/alice29.txt",
    f"{DATA}/canterbury/kennedy.xls:262144",
    f"{DATA}/canterbury/ptt5:262144",
    f"{DATA}/large/bible.txt:262144",
]
NO_PIXELS = {"pixels": 0, "pixel_mixer": 0, "pixel_apm": 0}
# (name, what it takes out, [cm] overrides)
VARIANTS = [
    ("full", "the preset as it is", {}),
    ("no-indirect", "state maps (a second input per context, and the counter history they read)",
     {"indirect": 0, "history": 0}),
    ("no-ways", "two-way buckets (one row per slot)", {"ways": 1}),
    ("no-apm2", "the APM by the last byte (one stage left)", {"apm": 1}),
    ("no-apms", "every APM stage", {"apm": 0}),
    ("no-known", "the mixer chosen by how many contexts are known", {"known_mixer": 0}),
    ("no-records", "the record detector and its contexts (and the pixels that read it)",
     {"column": 0, **NO_PIXELS}),
    ("no-words", "word contexts", {"word": 0}),
    ("no-sparse", "sparse contexts", {"sparse": 0}),
    ("no-match", "the match model (and the records, lines, pixels, boost that read it)",
     {"match_min": 0, "column": 0, "lines": 0, "mixer_boost": 0, **NO_PIXELS}),
    ("no-order6", "the order-6 context", "orders-6"),
    ("no-order12", "the order-12 context", "orders-12"),
    ("no-lines", "line contexts (column, byte above)", {"lines": 0}),
    ("no-history", "the counters' last bits (the state map reads counts alone)",
     {"history": 0}),
    ("no-class-mixer", "the mixer chosen by the classes of the last bytes",
     {"class_mixer": 0}),
    ("no-final-classes", "the final mixer's weights by classes (by node alone)",
     {"final_classes": 0}),
    ("no-boost", "the mixers' faster start", {"mixer_boost": 0}),
    ("no-pixels", "the pixel model: templates, their mixer and APM", NO_PIXELS),
    ("no-pixel-mixer", "the mixer chosen by the small pixel template", {"pixel_mixer": 0}),
    ("no-pixel-apm", "the APM by the 16-pixel template", {"pixel_apm": 0}),
    ("no-follow", "the follow contexts (what came after the last bytes before)",
     {"follow": 0}),
    ("no-text-rate", "the mixers' own step size on text (mixer_rate everywhere)",
     {"text_rate": 0}),
    ("no-apm3", "the order-2 APM (the node and last-byte APMs left)", {"apm": 2}),
    ("no-prose", "the prose contexts (orders over case-folded text)", {"text_orders": []}),
    ("no-linear", "each counter's unstretched probability as an input", {"linear": 0}),
    ("no-byte-node", "the last byte's mixer by node (by depth again)", {"byte_mixer": 0}),
    ("no-hashed-mixers", "the mixers by the last 2, 3 bytes and the word so far",
     {"order_mixers": [], "word_mixer": 0}),
    ("no-text-mixers", "choosing the session 11 mixers by context on text only",
     {"text_mixers": 0}),
    ("no-set-boost", "young weight sets' faster steps (first layer and final)",
     {"set_boost": 0, "final_boost": 0}),
    ("small-memory", "half the table and a quarter of the match history (2**22 rows, 2**20)",
     {"table_bits": 22, "match_bits": 20}),
    ("no-neural", "the neural input (ultra: then max)", {"neural": ""}),
]  # fmt: skip


def variant_config(base, overrides):
    if isinstance(overrides, str) and overrides.startswith("orders-"):
        drop = int(overrides.removeprefix("orders-"))
        return base.replace(cm={"orders": [k for k in base.cm.orders if k != drop]})
    return base.replace(cm=overrides) if overrides else base


def measure(config, spec: str) -> dict:
    from onlinezip import codec

    path, _, limit = spec.partition(":")
    data = Path(path).read_bytes()[: int(limit) if limit else None]
    start = time.perf_counter()
    coded = codec.encode(data, config)
    seconds = time.perf_counter() - start
    payload = sum(len(p) for p in coded.payloads)
    return {
        "file": Path(path).name + (f" (first {int(limit):,} B)" if limit else ""),
        "bytes": len(data),
        "bpb": 8 * payload / len(data),
        "ideal_bpb": float(coded.bits.sum()) / len(data),
        "seconds": seconds,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="cm")
    parser.add_argument("--files", nargs="+", default=DEFAULT_FILES)
    parser.add_argument("--only", nargs="+", help="variant names to run (default: all)")
    parser.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "ablation"))
    args = parser.parse_args(argv)
    from onlinezip.config import load_preset

    base = load_preset(args.preset)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for name, what, overrides in VARIANTS:
        if args.only and name not in args.only:
            continue
        config = variant_config(base, overrides)
        results = [measure(config, spec) for spec in args.files]
        rows.append({"variant": name, "takes_out": what, "results": results})
        cells = " ".join(f"{r['bpb']:.4f}" for r in results)
        print(f"{name:10s} {cells}", file=sys.stderr, flush=True)
        # written after every variant: a long run stopped early keeps what it measured
        meta = {"preset": args.preset, "machine_load": os.getloadavg(), "rows": rows}
        (out / "ablation.json").write_text(json.dumps(meta, indent=1))
        (out / "ablation.md").write_text(render(args.preset, rows))
    return 0


def render(preset: str, rows: list[dict]) -> str:
    files = [r["file"] for r in rows[0]["results"]]
    full = {r["file"]: r["bpb"] for r in rows[0]["results"]} if rows[0]["variant"] == "full" else {}
    lines = [
        f"# Ablation of the `{preset}` preset: coded payload, bits per byte",
        "",
        "One part taken out at a time; in brackets, the change against `full` (positive:",
        "the part helps by that much). Encoder only (`codec.encode`), one run, one core.",
        "",
        "| variant | takes out | " + " | ".join(files) + " |",
        "|---|---|" + "---|" * len(files),
    ]
    for row in rows:
        cells = []
        for r in row["results"]:
            delta = ""
            if full and row["variant"] != "full":
                delta = f" ({r['bpb'] - full[r['file']]:+.3f})"
            cells.append(f"{r['bpb']:.3f}{delta}")
        lines.append(f"| {row['variant']} | {row['takes_out']} | " + " | ".join(cells) + " |")
    speed = [
        f"{row['variant']}: "
        + ", ".join(f"{r['bytes'] / r['seconds'] / 1e3:.1f}" for r in row["results"])
        for row in rows
    ]
    lines += ["", "Encoder speed, KB/s (compilation included), per file in the order above:", ""]
    lines += [f"- {s}" for s in speed]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
