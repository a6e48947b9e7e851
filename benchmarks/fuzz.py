"""A mutation-fuzzing campaign over valid .oz files, with the rules of tests/test_fuzz.py.

    python benchmarks/fuzz.py [--mutations N] [--seed S] [--out DIR] [--limit SECONDS]

Makes three small valid .oz blobs with the tiny LSTM config of the tests
(``tests/cli_tiny.toml``): 300 bytes of text, one byte and 200 random bytes, each under its
own seed so that their headers differ. Then applies N mutations (default 20000), spread
evenly over the kinds: single bit flips, multi-byte overwrites, truncations, insertions,
deletions, appended garbage, and the header of one file followed by the rest of another
(the header taken from another sample or from one of 32 300-byte files made under seeds
3..34, so that payloads meet models they were not coded with). Offsets fall in the
header half of the time. Each mutated blob goes through
``onlinezip.api.decompress``, which must either return exactly the original bytes (after a
header swap, those of either file) or raise ``OnlinezipError`` with a one-line message.
Anything else is a FAILURE: another exception, wrong bytes, a multi-line message, or no
answer within ``--limit`` seconds (a diagnostic against hangs; default 60).

Writes ``DIR/fuzz.json`` (every count, the error messages with their numbers masked, and
each failure with its mutated blob in hex) and ``DIR/fuzz.md`` (the table), DIR being
``benchmarks/results`` unless ``--out`` says otherwise. Exits 1 if any mutation failed.
The same seed gives the same mutations (for the same onlinezip and container format).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))  # the mutations and the rule, shared with the tests

import numpy as np  # noqa: E402
from run import machine  # noqa: E402

import onlinezip  # noqa: E402
from mutations import (  # noqa: E402
    EXACT,
    FAILED,
    KINDS,
    REJECTED,
    Mutation,
    Outcome,
    check,
    make_header_donors,
    make_samples,
    mutate,
)
from onlinezip import container  # noqa: E402

CONFIG = REPO / "tests" / "cli_tiny.toml"  # the same model as the tests' TINY
TEXT = REPO / "samples" / "alice-excerpt.txt"
DONOR_SEEDS = range(3, 35)  # the samples use seeds 0, 1 and 2
MAX_RECORDED_FAILURES = 100  # in fuzz.json; all of them are counted


@dataclass
class Tally:
    """What happened to the mutations of one kind."""

    tried: int = 0
    outcomes: Counter = field(default_factory=Counter)  # REJECTED / EXACT / FAILED
    messages: Counter = field(default_factory=Counter)  # error-message prefixes

    def add(self, status: str, detail: str) -> None:
        self.tried += 1
        self.outcomes[status] += 1
        if status == REJECTED:
            self.messages[detail] += 1

    def row(self) -> dict:
        return {
            "tried": self.tried,
            "rejected": self.outcomes[REJECTED],
            "decoded_exact": self.outcomes[EXACT],
            "failed": self.outcomes[FAILED],
            "messages": dict(self.messages.most_common()),
        }


def _source_revision() -> str:
    """The commit the campaign ran on, marked "+changes" if src/ differs from it."""

    def git(*args: str) -> str:
        run = subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True)
        return run.stdout.strip() if run.returncode == 0 else ""

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    return commit + (" +changes" if git("status", "--porcelain", "src") else "")


def _failure_record(index: int, mutation: Mutation, detail: str) -> dict:
    return {
        "index": index,
        "kind": mutation.kind,
        "sample": mutation.sources[0].name,
        "where": mutation.where,
        "detail": detail,
        "blob_hex": mutation.data.hex(),
    }


def campaign(n: int, seed: int, limit_s: float) -> dict:
    """Run ``n`` mutations; return everything fuzz.json records."""
    config = onlinezip.load_config(CONFIG)
    samples = make_samples(config, TEXT.read_bytes())
    donors = make_header_donors(config, DONOR_SEEDS)
    rng = np.random.default_rng(seed)
    tallies = {kind: Tally() for kind in KINDS}
    failures: list[dict] = []
    seen: dict[bytes, Outcome] = {}  # decoding is deterministic: header swaps repeat
    slowest = 0.0
    start = time.perf_counter()
    for index in range(n):
        mutation = mutate(rng, KINDS[index % len(KINDS)], samples, donors)
        outcome = seen.get(mutation.data) or check(mutation, limit_s)
        seen[mutation.data] = outcome
        tallies[mutation.kind].add(outcome.status, outcome.detail)
        slowest = max(slowest, outcome.seconds)
        if outcome.status == FAILED:
            failures.append(_failure_record(index, mutation, outcome.detail))
            first_line = outcome.detail.splitlines()[0]  # the traceback is in fuzz.json
            print(f"FAILURE #{index}: {mutation.describe()}: {first_line}", file=sys.stderr)
        if (index + 1) % max(n // 10, 1) == 0:
            print(f"{index + 1}/{n} mutations, {len(failures)} failures", file=sys.stderr)
    return {
        "machine": machine(),
        "date_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "onlinezip": onlinezip.__version__,
        "revision": _source_revision(),
        "container_version": getattr(container, "VERSION", None),
        "seed": seed,
        "mutations": n,
        "seconds": round(time.perf_counter() - start, 2),
        "slowest_call_seconds": round(slowest, 4),
        "time_limit_seconds": limit_s,
        "distinct_blobs": len(seen),
        "header_donor_seeds": [DONOR_SEEDS.start, DONOR_SEEDS.stop - 1],
        "samples": [
            {
                "name": s.name,
                "original_bytes": len(s.original),
                "oz_bytes": len(s.blob),
                "header_bytes": s.header_bytes,
            }
            for s in samples
        ],
        "kinds": {kind: tally.row() for kind, tally in tallies.items()},
        "failures_total": len(failures),
        "failures": failures[:MAX_RECORDED_FAILURES],
    }


def _table(header: list[str], rows: list[list]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]


def to_markdown(res: dict) -> str:
    m = res["machine"]
    kinds = res["kinds"]
    columns = ["tried", "rejected", "decoded_exact", "failed"]
    rows = [[kind] + [k[c] for c in columns] for kind, k in kinds.items()]
    rows.append(["**all**"] + [sum(k[c] for k in kinds.values()) for c in columns])
    messages: Counter = Counter()
    for k in kinds.values():
        messages.update(k["messages"])
    lines = [
        "# Mutation fuzzing of .oz files (`benchmarks/fuzz.py`)",
        "",
        f"{res['mutations']} mutations, seed {res['seed']}, {res['date_utc']}; "
        f"onlinezip {res['onlinezip']} ({res['revision']}), "
        f"container format {res['container_version']}; "
        f"{m['cpu']}, {m['usable_cores']} usable cores, Python {m['python']}. "
        f"{res['seconds']} s in all, slowest call {res['slowest_call_seconds']} s; "
        f"{res['distinct_blobs']} distinct mutated files (repeats are not decoded again).",
        "",
        *_table(
            ["sample", "original bytes", ".oz bytes", "header bytes"],
            [list(s.values()) for s in res["samples"]],
        ),
        "",
        *_table(["kind", "tried", "rejected", "decoded-exact", "failed"], rows),
        "",
        "Error messages of the rejections (numbers shown as N):",
        "",
        *_table(["message", "count"], [[f"`{msg}`", c] for msg, c in messages.most_common()]),
        "",
    ]
    if res["failures_total"]:
        lines.append(f"**{res['failures_total']} FAILURES** (the first in fuzz.json):")
        lines += [
            f"- #{f['index']} {f['kind']} of {f['sample']} ({f['where']}): "
            f"{f['detail'].splitlines()[0]}"
            for f in res["failures"][:20]
        ]
    else:
        lines.append("No failures.")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mutations", type=int, default=20_000, metavar="N")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results")
    parser.add_argument("--limit", type=float, default=60.0, metavar="SECONDS",
                        help="per-call time bound (a diagnostic against hangs)")  # fmt: skip
    args = parser.parse_args()
    res = campaign(args.mutations, args.seed, args.limit)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "fuzz.json").write_text(json.dumps(res, indent=2) + "\n")
    markdown = to_markdown(res)
    (args.out / "fuzz.md").write_text(markdown)
    print(markdown)
    return 1 if res["failures_total"] else 0


if __name__ == "__main__":
    sys.exit(main())
