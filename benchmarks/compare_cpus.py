"""Do two machines compute the same bits? Compares two ``isa_caps.json`` results.

    python benchmarks/compare_cpus.py A/isa_caps.json B/isa_caps.json [--out DIR]
                                      [--same A_LABEL=B_LABEL ...]

``isa_caps.py`` records, per preset, the range-coder payload's hash for a fixed input at
each instruction-set level. Two runs on different CPUs at the same level must give the
same hash for every preset both ran (the same probabilities at every step); this prints
and writes (``compare_cpus.md``) a table of the levels both CPUs have. ``--same`` pairs
rows whose labels differ but whose config is the same (a preset since renamed, such as
0.2.0's ``rae``, kept as ``benchmarks/baselines/rae-0.2.0.toml``); a label that names
different configs in the two files must not be compared.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def compare(a: dict, b: dict, same: dict[str, str]) -> str:
    ma, mb = a["machine"], b["machine"]
    if (ma["file"], ma["bytes"]) != (mb["file"], mb["bytes"]):
        raise SystemExit("the two results coded different inputs: nothing to compare")
    levels = [isa for isa in ma["levels"] if isa in mb["levels"]]
    rows_b = {r["preset"]: r for r in b["rows"]}

    def who(m: dict) -> str:
        return f"{m['cpu']} (family/model/stepping {m.get('cpu_family_model_stepping', '?')})"

    lines = [
        f"A: {who(ma)}, {ma['date']}. B: {who(mb)}, {mb['date']}. Input: the first "
        f"{ma['bytes']:,} bytes of {ma['file']}. A cell says whether the two payload hashes "
        "at that level are equal (equal payloads: equal probabilities at every step).",
        "",
        "| preset | " + " | ".join(levels) + " |",
        "|---|" + "---|" * len(levels),
    ]
    for row in a["rows"]:
        other = rows_b.get(same.get(row["preset"], row["preset"]))
        if other is None:
            continue
        cells = [
            "same" if row["payload_sha256"][isa] == other["payload_sha256"][isa] else "DIFFER"
            for isa in levels
        ]
        label = (
            row["preset"]
            if other["preset"] == row["preset"]
            else (f"{row['preset']} (A) = {other['preset']} (B)")
        )
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("a", type=Path)
    parser.add_argument("b", type=Path)
    parser.add_argument("--out", type=Path, help="write compare_cpus.md there")
    parser.add_argument("--same", nargs="*", default=[], help="A_LABEL=B_LABEL pairs")
    args = parser.parse_args()
    same = dict(pair.split("=", 1) for pair in args.same)
    a, b = json.loads(args.a.read_text()), json.loads(args.b.read_text())
    markdown = compare(a, b, same)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "compare_cpus.md").write_text(markdown)
    print(markdown)


if __name__ == "__main__":
    main()
