"""Start-up cost of the command line: wall time and peak RSS of whole `onlinezip` calls
that need no model (--help, --version, -l, an empty and a stored-only file), each in a
fresh process, the median of --repeats runs; and, for scale, a 1 KB text file (the model
runs: JAX is loaded and the step programs compiled, compilation cache off).

    .venv/bin/python benchmarks/startup.py [--repeats 9]

Writes benchmarks/results/startup.json and startup.md (machine description included).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import machine, write_results  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
RANDOM = b"".join(hashlib.sha256(i.to_bytes(4, "little")).digest() for i in range(3125))


def _one(args: list[str], cwd: Path, env: dict) -> tuple[float, bool]:
    """(wall seconds, whether jax was imported) of one fresh process."""
    code = (
        "import atexit, os, sys\n"
        "atexit.register(lambda: os.write(2, b'\\nJAX=%d' % ('jax' in sys.modules)))\n"
        "from onlinezip.cli import main\n"
        f"sys.exit(main({args!r}))\n"
    )
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True, env=env)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{args}: {proc.stderr.decode()}")
    return wall, proc.stderr.endswith(b"JAX=1")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=9)
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if k not in ("XLA_FLAGS", "JAX_PLATFORMS")}
    env["ONLINEZIP_CACHE"] = "off"
    cases = [
        ("--help", ["--help"]),
        ("--version", ["--version"]),
        ("-l stored.oz (100 KB random)", ["-l", "r.oz"]),
        ("-f empty (compress)", ["-f", "empty"]),
        ("-dc r.oz (100 KB stored)", ["-dc", "r.oz"]),
        ("-f one (1 byte, compress)", ["-f", "one"]),
        ("-f --config cli_tiny.toml text (1 KB, model runs)",
         ["-f", "--config", str(Path(__file__).resolve().parents[1] / "tests/cli_tiny.toml"),
          "text"]),
    ]  # fmt: skip
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "empty").write_bytes(b"")
        (work / "one").write_bytes(b"x")
        (work / "r").write_bytes(RANDOM)
        (work / "text").write_bytes(b"the rain in spain stays mainly in the plain. " * 23)
        _one(["-f", "r"], work, env)
        sizes = {}
        for name in ("empty", "one"):
            _one(["-f", name], work, env)
            sizes[name] = (work / f"{name}.oz").stat().st_size
        sizes["random 100,000"] = (work / "r.oz").stat().st_size
        for label, argv in cases:
            runs, rss_max, jax = [], 0.0, False
            for _ in range(args.repeats if "model runs" not in label else 3):
                wall, jax = _one(argv, work, env)
                runs.append(wall)
            # RUSAGE_CHILDREN's max covers every child so far: peak RSS is measured in a
            # process of its own, so that earlier (bigger) runs do not hide it
            probe = subprocess.run(
                [sys.executable, "-c",
                 "import resource, subprocess, sys; subprocess.run(sys.argv[1:], "
                 "stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL); print(resource."
                 "getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)",
                 sys.executable, "-m", "onlinezip.cli", *argv],
                cwd=work, capture_output=True, env=env, text=True,
            )  # fmt: skip
            rss_max = int(probe.stdout.strip()) / 1024
            rows.append({
                "case": label, "median_s": statistics.median(runs), "min_s": min(runs),
                "runs": len(runs), "peak_rss_mib": round(rss_max, 1), "imports_jax": jax,
            })  # fmt: skip
    info = machine()
    lines = [
        f"Machine: {info['cpu']}, {info['usable_cores']} usable cores, {info['date']}.",
        "Whole `onlinezip` calls, each a fresh Python process (interpreter start included), "
        "median of the runs given; compilation cache off.",
        "",
        "| call | median s | min s | runs | peak RSS MiB | imports jax |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| `{r['case']}` | {r['median_s']:.3f} | {r['min_s']:.3f} | {r['runs']} | "
            f"{r['peak_rss_mib']} | {'yes' if r['imports_jax'] else 'no'} |"
        )
    lines += ["", "File sizes (bytes, .oz): " + ", ".join(f"{k} -> {v}" for k, v in sizes.items())]
    write_results(RESULTS, "startup", info, rows + [{"sizes": sizes}], "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
