"""One row per file from a ``run.py`` results.json: a preset against every other codec.

    python benchmarks/compare.py RESULTS_DIR [--preset max] [--against "zpaq -m5" ...]

Writes ``compare.md`` beside the results: bits per byte of the preset and of each other
codec measured in the same run, the best of the others, and whether the preset beats
it; the published cmix v19 figure where one exists (its author's, for alice29.txt).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

CMIX_V19 = {"alice29.txt": 1.645}  # published (see ../shared/notes/measured-facts.md)
DEFAULT_AGAINST = ["gzip -9", "bzip2 -9", "xz -9e", "zstd -19", "PPMd o12", "zpaq -m5"]


def _cell(value: float, best: float) -> str:
    return f"**{value:.3f}**" if value == best else f"{value:.3f}"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path)
    parser.add_argument("--preset", default="max")
    parser.add_argument("--against", nargs="+", default=DEFAULT_AGAINST)
    args = parser.parse_args(argv)
    data = json.loads((args.results / "results.json").read_text())
    rows = data["rows"] if isinstance(data, dict) else data
    by_file: dict[str, dict[str, float]] = {}
    for row in rows:
        if isinstance(row.get("bits_per_byte"), float):
            by_file.setdefault(row["file"], {})[row["codec"]] = row["bits_per_byte"]
    mine = f"onlinezip {args.preset}"
    others = [c for c in args.against if any(c in codecs for codecs in by_file.values())]
    lines = [
        f"# `{args.preset}` against the other codecs, bits per byte (same run)",
        "",
        f"From `{args.results.name}/results.json`; **bold**: the best of the row. The last",
        "columns: the best other codec, and the preset's margin against it (negative:",
        "the preset is smaller).",
        "",
        "| file | " + " | ".join([args.preset, *others, "cmix v19 (published)"])
        + " | best other | margin |",
        "|---|" + "---|" * (len(others) + 4),
    ]  # fmt: skip
    wins = 0
    for name, codecs in by_file.items():
        if mine not in codecs:
            continue
        values = {c: codecs[c] for c in others if c in codecs}
        best_other = min(values, key=values.get)
        best = min(codecs[mine], *values.values())
        margin = codecs[mine] - values[best_other]
        wins += margin < 0
        cmix = f"{CMIX_V19[name]:.3f}" if name in CMIX_V19 else ""
        cells = [_cell(codecs[mine], best)]
        cells += [_cell(values[c], best) if c in values else "" for c in others]
        lines.append(
            f"| {name} | " + " | ".join(cells) + f" | {cmix} | {best_other} | {margin:+.3f} |"
        )
    lines += ["", f"`{args.preset}` is the smallest on {wins} of {len(lines) - 8} files."]
    (args.results / "compare.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
