"""-T 1 against -T 2, a local Dask cluster of 1 and 2 workers, the ratio lost to segments,
and a scaling model for 1..1024 workers.

    python benchmarks/scaling.py [--bytes 2097152] [--preset default] [--runs 3]
                                 [--out benchmarks/results]

1. The command line, as a user runs it: ``onlinezip -T 1`` and ``-T 2`` compress (``-c``,
   to a file) and decompress the first ``--bytes`` of bible.txt, ``--runs`` rounds taken
   in turn (T1, T2, T1, T2, ...); wall time of the whole process, start-up and
   compilation included (the persistent compilation cache on, warmed first); every
   decompressed output is checked against the input's SHA-256, and the files of equal
   -T against each other. Peak RSS of every process of the tree (VmHWM, sampled every
   0.1 s), the workers' and their total.
2. Start-up ``a``: the same command on a 4 KB input (one segment); ``c`` = (T1 time - a)/n.
3. A Dask ``LocalCluster`` (loopback, one thread per worker) of 1 and then 2 workers:
   the same 2-segment file (checked against the local -T 2 file), a first (cold: the
   workers import JAX and load the programs) and a second (warm) run; decompression warm.
4. Ratio against segment count: the input as S = 1, 2, 4, 8, 16, 32 segments (min segment
   size lowered to allow it), on two local workers.
5. The model: T(N) = a + c n / N (+ the per-segment dispatch d, measured on the cluster),
   size(N) = size(1) + (N - 1) e(n / N), e fitted to step 4 as a power law of the segment
   length. Written with the measurements to scaling.json and scaling.md.

The machine's load (1-minute load average, and other processes over 30% CPU) is recorded
before every timed run: another process on a 2-core machine takes a core from -T 2.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))
from run import machine, write_results  # noqa: E402

BIBLE = REPO.parent / "shared" / "data" / "large" / "bible.txt"
CLI = [sys.executable, "-m", "onlinezip.cli"]


def load() -> dict:
    """The 1-minute load average and the other processes using over 30% of a core."""
    out = subprocess.run(["ps", "-eo", "pid,pcpu,etime,args", "--sort=-pcpu"],
                         capture_output=True, text=True).stdout.splitlines()[1:]  # fmt: skip
    mine = {os.getpid()}
    busy = []
    for line in out:
        pid, pcpu, _, args = line.split(None, 3)
        if float(pcpu) > 30 and int(pid) not in mine and "ps -eo" not in args:
            busy.append(f"{pcpu}% {args[:90]}")
    return {"loadavg_1min": round(os.getloadavg()[0], 2), "busy_processes": busy}


def _tree(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, []))
    return out


def _hwm(pid: int) -> tuple[int, str] | None:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024, cmd
    return None


def _cpu(pid: int) -> float | None:
    """User + system CPU seconds of ``pid`` so far."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def timed(cmd: list[str], stdin_path: Path | None, stdout_path: Path | None) -> dict:
    """Run ``cmd``; wall seconds, and the peak RSS and CPU seconds of each process of its
    tree (sampled every 0.1 s: the last sample before a process ends)."""
    stdin = open(stdin_path, "rb") if stdin_path else subprocess.DEVNULL  # noqa: SIM115
    stdout = open(stdout_path, "wb") if stdout_path else subprocess.DEVNULL  # noqa: SIM115
    before = load()
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdin=stdin, stdout=stdout, stderr=subprocess.PIPE)
    peaks: dict[int, tuple[int, str]] = {}
    cpu: dict[int, float] = {}
    while proc.poll() is None:
        for pid in _tree(proc.pid):
            got = _hwm(pid)
            if got is not None and got[0] >= peaks.get(pid, (0, ""))[0]:
                peaks[pid] = got
            used = _cpu(pid)
            if used is not None:
                cpu[pid] = max(used, cpu.get(pid, 0.0))
        time.sleep(0.1)
    seconds = time.perf_counter() - start
    for f in (stdin, stdout):
        if hasattr(f, "close"):
            f.close()
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed: {proc.stderr.read().decode()}")
    workers = [
        rss for pid, (rss, c) in peaks.items()
        if pid != proc.pid and "--multiprocessing-fork" in c and "resource_tracker" not in c
    ]  # fmt: skip
    worker_cpu = [cpu.get(pid, 0.0) for pid, (_, c) in peaks.items()
                  if pid != proc.pid and "--multiprocessing-fork" in c]  # fmt: skip
    parent = peaks.get(proc.pid, (0, ""))[0]
    return {"seconds": seconds, "parent_peak_rss_mib": parent / 2**20,
            "parent_cpu_seconds": cpu.get(proc.pid, 0.0), "worker_cpu_seconds": worker_cpu,
            "critical_path_cpu_seconds": cpu.get(proc.pid, 0.0) + max(worker_cpu, default=0.0),
            "worker_peak_rss_mib": [w / 2**20 for w in workers],
            "total_peak_rss_mib": (parent + sum(workers)) / 2**20,
            "load_before": before}  # fmt: skip


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def local_runs(inp: Path, work: Path, preset: str, runs: int) -> tuple[list[dict], dict]:
    n, want = inp.stat().st_size, sha(inp)
    rows, files = [], {}
    for rnd in range(runs):
        for threads in (1, 2):
            oz = work / f"t{threads}.{rnd}.oz"
            comp = timed([*CLI, "-T", str(threads), "--preset", preset, "-c"], inp, oz)
            back = work / f"t{threads}.{rnd}.out"
            dec = timed([*CLI, "-T", str(threads), "-dc"], oz, back)
            assert sha(back) == want, "decompressed output differs from the input"
            back.unlink()
            files.setdefault(threads, []).append(oz.read_bytes())
            rows.append({"threads": threads, "round": rnd, "bytes": n,
                         "oz_bytes": oz.stat().st_size, "compress": comp,
                         "decompress": dec})  # fmt: skip
            print(f"-T {threads} round {rnd}: compress {comp['seconds']:.1f} s, decompress "
                  f"{dec['seconds']:.1f} s, {oz.stat().st_size} B, load "
                  f"{comp['load_before']['loadavg_1min']}", flush=True)  # fmt: skip
    for threads, blobs in files.items():
        assert all(b == blobs[0] for b in blobs), f"-T {threads} runs gave different files"
    return rows, {t: b[0] for t, b in files.items()}


def startup(work: Path, preset: str) -> float:
    small = work / "small.txt"
    small.write_bytes(BIBLE.read_bytes()[:4096])
    times = [timed([*CLI, "--preset", preset, "-c"], small, work / "small.oz")["seconds"]
             for _ in range(3)]  # fmt: skip
    return statistics.median(times)


def cluster_runs(data: bytes, preset: str, t2_file: bytes) -> list[dict]:
    import resource

    from distributed import Client, LocalCluster

    from onlinezip import api
    from onlinezip.engine import DaskEngine

    def peak_rss() -> int:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

    rows = []
    for workers in (1, 2):
        with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                          host="127.0.0.1", dashboard_address=None) as cluster, \
                Client(cluster, set_as_default=False) as client, \
                DaskEngine(client) as engine:  # fmt: skip
            row: dict = {"workers": workers}
            for phase in ("cold", "warm"):
                row[f"compress_{phase}_load"] = load()
                start = time.perf_counter()
                out = io.BytesIO()
                api.compress_stream(io.BytesIO(data), out, preset, segments=2, engine=engine)
                row[f"compress_{phase}_seconds"] = time.perf_counter() - start
                assert out.getvalue() == t2_file, "the cluster's file is not the local -T 2 file"
            row["decompress_warm_load"] = load()
            start = time.perf_counter()
            assert api.decompress(t2_file, engine=engine) == data
            row["decompress_warm_seconds"] = time.perf_counter() - start
            # the dispatch cost of one trivial task, round trip (median of 20)
            ticks = []
            for _ in range(20):
                t = time.perf_counter()
                engine.map(abs, [-1])
                ticks.append(time.perf_counter() - t)
            row["dispatch_seconds"] = statistics.median(ticks)
            row["worker_peak_rss_mib"] = [v / 2**20 for v in client.run(peak_rss).values()]
            rows.append(row)
            print(f"cluster of {workers}: {row}", flush=True)
    return rows


def ratio_sweep(data: bytes, preset: str, counts: list[int]) -> list[dict]:
    from onlinezip import api
    from onlinezip.config import load_preset
    from onlinezip.engine import LocalEngine

    cfg = load_preset(preset).replace(run={"min_segment_bytes": 16})
    rows = []
    with LocalEngine(2) as engine:
        for count in counts:
            before = load()
            start = time.perf_counter()
            result = api.compress_result(data, cfg, segments=count, engine=engine)
            seconds = time.perf_counter() - start
            rows.append({"segments": count, "segment_bytes": len(data) / count,
                         "oz_bytes": len(result.output), "nll_bits": result.report["nll_bits"],
                         "seconds_on_2_workers": seconds, "load_before": before})  # fmt: skip
            print(f"{count} segments: {len(result.output)} B in {seconds:.1f} s", flush=True)
    return rows


def fit_power_law(points: list[tuple[float, float]]) -> tuple[float, float]:
    """e(L) = k * L**-beta through (L, e) by least squares in log-log."""
    xs = [math.log(x) for x, _ in points]
    ys = [math.log(y) for _, y in points]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sum(
        (x - mx) ** 2 for x in xs
    )
    return math.exp(my - slope * mx), -slope


def model_table(n: int, a: float, c: float, d: float, size1: float, k: float, beta: float,
                measured: tuple[float, float]) -> list[dict]:  # fmt: skip
    rows = []
    for workers in [2**i for i in range(11)]:
        length = n / workers
        e = k * length ** (1 - beta)  # bytes lost per extra segment
        seconds = a + c * n / workers + d * workers
        # ... but a segment is never larger than stored: its bytes and a frame's 9
        size = min(size1 + (workers - 1) * e, n + workers * 9)
        rows.append({"workers": workers, "segment_bytes": length, "seconds": seconds,
                     "mb_s": n / seconds / 1e6, "speedup": (a + c * n + d) / seconds,
                     "oz_bytes": size, "bits_per_byte": 8 * size / n,
                     "ratio_loss_pct": 100 * (size / size1 - 1),
                     "extrapolated": workers > 1
                     and not measured[0] <= length <= measured[1]})  # fmt: skip
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bytes", type=int, default=2 << 20)
    parser.add_argument("--preset", default="default")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results")
    parser.add_argument("--skip-cluster", action="store_true")
    parser.add_argument("--local-only", action="store_true",
                        help="only the command-line rounds, with CPU times: STEM-cpu.{json,md}")
    parser.add_argument("--sweep", type=int, nargs="+", default=[4, 8, 16, 32],
                        help="segment counts for the ratio table (1 and 2 come from -T 1, -T 2)")
    args = parser.parse_args()
    data = BIBLE.read_bytes()[: args.bytes]
    info = {**machine(), "load_at_start": load(), "input": f"bible.txt[:{len(data)}]",
            "preset": args.preset}  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        inp = work / "in.txt"
        inp.write_bytes(data)
        # warm the persistent compilation cache for this preset's programs (B = 8)
        warm = work / "warm.txt"
        warm.write_bytes(data[:65536])
        timed([*CLI, "--preset", args.preset, "-c"], warm, work / "warm.oz")
        a = startup(work, args.preset)
        print(f"start-up a = {a:.2f} s", flush=True)
        local, files = local_runs(inp, work, args.preset, args.runs)
    if args.local_only:
        write_results(args.out, "scaling-cpu", info, local, cpu_markdown(info, local, a))
        return
    med = {}
    for threads in (1, 2):
        mine = [r for r in local if r["threads"] == threads]
        med[threads] = {way: statistics.median(r[way]["seconds"] for r in mine)
                        for way in ("compress", "decompress")}  # fmt: skip
    cluster = [] if args.skip_cluster else cluster_runs(data, args.preset, files[2])
    sweep = ratio_sweep(data, args.preset, args.sweep)
    size = {1: len(files[1]), 2: len(files[2])} | {r["segments"]: r["oz_bytes"] for r in sweep}
    n = len(data)
    c = (med[1]["compress"] - a) / n
    d = statistics.median(r["dispatch_seconds"] for r in cluster) if cluster else 0.0
    extra = [(n / s, (size[s] - size[1]) / (s - 1)) for s in sorted(size) if s > 1]
    extra = [(length, e) for length, e in extra if e > 0] or [(n / 2, 1.0)]
    k, beta = fit_power_law([(length, e / length) for length, e in extra])
    measured = (n / max(size), n / 2)
    model = {"a_seconds": a, "c_seconds_per_byte": c, "d_seconds_per_segment": d,
             "k": k, "beta": beta, "size1": size[1], "measured_segments": measured}  # fmt: skip
    predicted_t2 = a + c * n / 2 + 2 * d
    tables = {
        f"{n:,} bytes (this input; the minimum segment size lowered to allow it)":
            model_table(n, a, c, d, size[1], k, beta, measured),
        "1 GiB (the same text statistics assumed: size(1) scaled from this input; segments "
        ">= 1 MiB, the default minimum, up to 1024)":
            model_table(2**30, a, c, d, size[1] * 2**30 / n, k, beta, measured),
    }  # fmt: skip
    rows = {"local": local, "medians": med, "cluster": cluster, "sweep": sweep,
            "sizes": size, "model": model, "predicted_t2_seconds": predicted_t2,
            "model_tables": tables}  # fmt: skip
    write_results(args.out, "scaling", info, [rows], markdown(info, rows, n))


def cpu_markdown(info: dict, local: list[dict], a: float) -> str:
    """Wall time, and CPU time per process: on a loaded machine the wall time of -T 2 says
    little; the CPU critical path (parent + the busiest worker) is what an idle machine
    with a core per worker would take, less the time spent waiting (reads, writes)."""
    lines = [
        f"# -T 1 against -T 2: wall and CPU time ({info['input']}, preset {info['preset']})",
        "",
        f"Machine: {info['cpu']}, {info['usable_cores']} usable cores, {info['date']}. "
        f"Load at start: {info['load_at_start']['loadavg_1min']}; busy processes: "
        f"{info['load_at_start']['busy_processes'] or 'none'}. Start-up of one process "
        f"(the whole command on 4 KB): {a:.2f} s.",
        "",
        "CPU seconds are user + system of each process (sampled every 0.1 s from /proc); the "
        "critical path is the parent's CPU plus the busiest worker's: the wall time on an "
        "idle machine with a core per worker, less time spent waiting. An estimate, not a "
        "measured wall time.",
        "",
        "| -T | way | round | wall s | load before | CPU s: parent, workers | critical path s |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in local:
        for way in ("compress", "decompress"):
            r = row[way]
            workers = ", ".join(f"{w:.1f}" for w in r["worker_cpu_seconds"]) or "-"
            lines.append(
                f"| {row['threads']} | {way} | {row['round']} | {r['seconds']:.1f} | "
                f"{r['load_before']['loadavg_1min']} | {r['parent_cpu_seconds']:.1f}, "
                f"{workers} | {r['critical_path_cpu_seconds']:.1f} |"
            )
    lines.append("")
    for way in ("compress", "decompress"):
        path = {t: statistics.median(r[way]["critical_path_cpu_seconds"] for r in local
                                     if r["threads"] == t) for t in (1, 2)}  # fmt: skip
        wall = {t: statistics.median(r[way]["seconds"] for r in local if r["threads"] == t)
                for t in (1, 2)}  # fmt: skip
        lines.append(
            f"- {way}: critical path -T 1 {path[1]:.1f} s, -T 2 {path[2]:.1f} s: "
            f"x{path[1] / path[2]:.2f}; wall x{wall[1] / wall[2]:.2f} (medians)."
        )
    lines.append("")
    return "\n".join(lines)


def _mib(values: list[float]) -> str:
    return ", ".join(f"{v:.0f}" for v in values) or "-"


def markdown(info: dict, r: dict, n: int) -> str:
    med, size, m = r["medians"], r["sizes"], r["model"]
    kb = lambda s: n / s / 1000  # noqa: E731
    lines = [
        f"# Scaling: -T N and a Dask cluster ({info['input']}, preset {info['preset']})",
        "",
        f"Machine: {info['cpu']}, {info['usable_cores']} usable cores, {info['date']}. "
        f"Load at start: {info['load_at_start']['loadavg_1min']} (1-min average); other "
        f"busy processes: {info['load_at_start']['busy_processes'] or 'none'}.",
        "",
        "## -T 1 against -T 2 (the command line, wall time of the whole process)",
        "",
        "| | compress s | compress KB/s | decompress s | decompress KB/s | .oz bytes | bits/byte |",
        "|---|---|---|---|---|---|---|",
    ]
    for t in (1, 2):
        lines.append(
            f"| -T {t} | {med[t]['compress']:.1f} | {kb(med[t]['compress']):.1f} | "
            f"{med[t]['decompress']:.1f} | {kb(med[t]['decompress']):.1f} | {size[t]:,} | "
            f"{8 * size[t] / n:.4f} |"
        )
    lines += [
        "",
        f"Speed-up of -T 2: compress x{med[1]['compress'] / med[2]['compress']:.2f}, "
        f"decompress x{med[1]['decompress'] / med[2]['decompress']:.2f} (medians of "
        f"{len(r['local']) // 2} rounds taken in turn); ratio loss at 2 segments "
        f"{100 * (size[2] / size[1] - 1):.2f}% ({size[2] - size[1]:+,} bytes).",
        "",
        "Every run (load = 1-min load average just before it):",
        "",
        "| -T | round | compress s | decompress s | load | CPU critical path s: compress, "
        "decompress | peak RSS MiB: parent, workers (total) |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in r["local"]:
        comp, dec = row["compress"], row["decompress"]
        lines.append(
            f"| {row['threads']} | {row['round']} | {comp['seconds']:.1f} | "
            f"{dec['seconds']:.1f} | {comp['load_before']['loadavg_1min']} | "
            f"{comp.get('critical_path_cpu_seconds', float('nan')):.1f}, "
            f"{dec.get('critical_path_cpu_seconds', float('nan')):.1f} | "
            f"{comp['parent_peak_rss_mib']:.0f}, {_mib(comp['worker_peak_rss_mib'])} "
            f"({comp['total_peak_rss_mib']:.0f}) |"
        )
    lines += [
        "",
        "(CPU critical path: user + system seconds of the parent plus the busiest worker, "
        "sampled from /proc: what the run would take on an idle machine with a core per "
        "worker, less time spent waiting; an estimate, for runs the load disturbed.)",
    ]
    if r["cluster"]:
        one, two = r["cluster"]
        lines += [
            "",
            "## A local Dask cluster (loopback), 1 and 2 workers, the same 2-segment file",
            "",
            "| workers | compress cold s | compress warm s | decompress warm s | dispatch ms | "
            "peak RSS per worker MiB |",
            "|---|---|---|---|---|---|",
        ]
        for row in r["cluster"]:
            lines.append(
                f"| {row['workers']} | {row['compress_cold_seconds']:.1f} | "
                f"{row['compress_warm_seconds']:.1f} | {row['decompress_warm_seconds']:.1f} | "
                f"{1000 * row['dispatch_seconds']:.1f} | {_mib(row['worker_peak_rss_mib'])} |"
            )
        lines += [
            "",
            f"2 workers against 1: compress x"
            f"{one['compress_warm_seconds'] / two['compress_warm_seconds']:.2f} warm, x"
            f"{one['compress_cold_seconds'] / two['compress_cold_seconds']:.2f} cold; "
            f"decompress x{one['decompress_warm_seconds'] / two['decompress_warm_seconds']:.2f}"
            " warm. The files are the local -T 2 file, byte for byte.",
        ]
    lines += [
        "",
        "## Ratio against the number of segments (the same input)",
        "",
        "| segments | segment bytes | .oz bytes | bits/byte | loss vs 1 segment | "
        "bytes lost per extra segment |",
        "|---|---|---|---|---|---|",
    ]
    for s in sorted(size):
        lost = f"{(size[s] - size[1]) / (s - 1):,.0f}" if s > 1 else "-"
        lines.append(
            f"| {s} | {n / s:,.0f} | {size[s]:,} | {8 * size[s] / n:.4f} | "
            f"{100 * (size[s] / size[1] - 1):.2f}% | {lost} |"
        )
    lines += [
        "",
        "## The scaling model",
        "",
        "Time for n bytes on N workers, each segment coded by a fresh learner:",
        "",
        "    T(N) = a + c * n / N + d * N",
        "    size(N) = size(1) + (N - 1) * e(n / N),   e(L) = k * L**(1 - beta)",
        "",
        f"with a = {m['a_seconds']:.2f} s (start-up of a process: Python, JAX, loading the "
        f"compiled programs, the learner's initial state; measured as the whole command on "
        f"4 KB), c = {1e6 * m['c_seconds_per_byte']:.2f} us per byte ((T1 time - a) / n, "
        f"that is {1 / m['c_seconds_per_byte'] / 1000:.1f} KB/s of coding), d = "
        f"{1000 * m['d_seconds_per_segment']:.1f} ms per segment (a Dask round trip; a "
        "local worker's is smaller), and e(L) the bytes a segment of L bytes costs beyond "
        f"one learner's run, fitted to the table above: k = {m['k']:.4g}, beta = "
        f"{m['beta']:.3f}. The model predicts -T 2 at {r['predicted_t2_seconds']:.1f} s; "
        f"measured {med[2]['compress']:.1f} s.",
        "",
        "Throughput n / T(N) and size for N = 1..1024 workers, N segments of n / N bytes "
        "(rows marked * use e(L) outside the measured segment lengths, "
        f"{m['measured_segments'][0]:,.0f} to {m['measured_segments'][1]:,.0f} bytes: an "
        "extrapolation of the fitted law). T(N) assumes N cores, each as fast as one "
        "of this machine's, and every worker started for the run (a); a cluster whose "
        "workers are already running pays d per segment instead:",
        "",
    ]
    for name, table in r["model_tables"].items():
        lines += [
            f"n = {name}:",
            "",
            "| N | segment bytes | T(N) s | MB/s | speed-up | bits/byte | ratio loss |",
            "|---|---|---|---|---|---|---|",
        ]
        for row in table:
            lines.append(
                f"| {row['workers']} | {row['segment_bytes']:,.0f} | {row['seconds']:.1f} | "
                f"{row['mb_s']:.3f} | x{row['speedup']:.1f} | {row['bits_per_byte']:.4f} | "
                f"{row['ratio_loss_pct']:.2f}%{' *' if row['extrapolated'] else ''} |"
            )
        lines.append("")
    lines += [
        "Reading it: the speed-up is close to N while c n / N dominates a (segments of "
        "many seconds each), and flattens once a segment takes about as long as the "
        "start-up; at this input's size that is the case near 16-32 workers. The ratio "
        "loss grows with N because every segment starts cold; run.min_segment_bytes "
        "(1 MiB by default) bounds it: a file is cut into at most n / 1 MiB segments, "
        "whatever -T asks for.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
