"""Rae's thought experiment, run for real: model sizes, the same code, growing data.

An experiment TOML names a corpus and a table of models (``[models.LABEL]``: a preset
and, optionally, overrides of its config sections, typed and validated like any config),
each with how many of the corpus's first bytes it codes. Every model runs one pass over
its bytes; with one stream (``run.streams = 1``, Rae's literal setup) the code length of
every prefix is exactly the running sum of the per-byte code lengths, so one run per model
gives its description length at every data size. The classical codecs (gzip, bzip2, xz,
PPMd) are run on each prefix of a log-spaced grid, and every compressor, learned or not,
is charged a code term: for onlinezip the package's source and config, xz-compressed
(``mdl.code_bytes``), with a second, upper figure for the third-party libraries a decoding
process loads; for a classical codec its decompressor as this machine has it (wrapper
module, extension module and shared library, xz-compressed). Optionally two texts are
coded separately and jointly (``[joint]``).

Results go to ``OUT/`` as ``summary.json`` (every figure, the configs that ran, the
machine's load and the wall time) and ``bits.npz`` (one float32 array of per-byte code
lengths per run); ``crossover.json`` holds what ``crossovers`` derives from them.
``python -m onlinezip.experiment EXPERIMENT.toml --out DIR -j N`` runs one, with
progress bars (tqdm) and an estimate of the time left.
"""

from __future__ import annotations

import argparse
import bz2
import dataclasses
import datetime
import gzip
import hashlib
import io
import json
import lzma
import os
import platform
import queue
import shutil
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import tomllib
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from onlinezip import container
from onlinezip import engine as engines
from onlinezip.config import Config, config_from_dict, load_preset
from onlinezip.errors import OnlinezipError

SECTIONS = ("model", "optimizer", "run", "cm")  # a model's config overrides
DEPENDENCY_MODES = ("none", "sizes", "deflate")
GRID_PER_DECADE = 16  # prefixes per factor of ten for the classical codecs


@dataclass(frozen=True)
class ModelSpec:
    label: str  # the name in results and figures
    preset: str  # the config it starts from
    overrides: dict = field(default_factory=dict)  # {section: {key: value}}, validated
    max_bytes: int = 0  # code the corpus's first max_bytes (0 = the experiment's length)

    def config(self) -> Config:
        return load_preset(self.preset).replace(**self.overrides)


@dataclass(frozen=True)
class ExperimentConfig:
    name: str  # a label for the results
    corpus: Path  # the text every model codes (a .xz file is decompressed in memory)
    models: tuple[ModelSpec, ...]  # same code; the sizes differ only in their configs
    max_bytes: int = 0  # use only the first max_bytes of every text (0 = all)
    codecs: bool = True  # gzip -9, bzip2 -9, xz -9e and (if installed) PPMd on every prefix
    verify: bool = True  # decode every model's file and compare (doubles the time)
    frozen: bool = True  # also the NLL of the final, frozen weights on the same bytes
    dependencies: str = "deflate"  # the libraries' size: "none" | "sizes" | "deflate"
    workers: int = 0  # model runs at once (0 = every usable core)
    joint_texts: tuple[Path, ...] = field(default_factory=tuple)  # two related texts
    joint_preset: str = "hashctx"  # the model that codes them
    joint_streams: int = 1  # streams for the joint runs (1 = truly one after the other)


_TOP_KEYS = {"name", "corpus", "max_bytes", "codecs", "verify", "frozen", "dependencies",
             "workers", "models", "joint"}  # fmt: skip


def _typed(where: str, value: Any, kind: type) -> Any:
    if type(value) is not kind:
        raise OnlinezipError(f"{where} must be {kind.__name__}, got {value!r}")
    return value


def _model_spec(label: str, table: Any) -> ModelSpec:
    if not isinstance(table, dict):
        raise OnlinezipError(f"[models.{label}] must be a table")
    unknown = sorted(set(table) - {"preset", "max_bytes", *SECTIONS})
    if unknown:
        raise OnlinezipError(
            f"unknown key {unknown[0]!r} in [models.{label}]; valid keys: preset, max_bytes, "
            f"{', '.join(SECTIONS)} (tables overriding the preset's config)"
        )
    overrides = {}
    for section in SECTIONS:
        if section in table:
            if not isinstance(table[section], dict):
                raise OnlinezipError(f"models.{label}.{section} must be a table of config keys")
            overrides[section] = dict(table[section])
    spec = ModelSpec(
        label=label,
        preset=_typed(f"models.{label}.preset", table.get("preset"), str),
        overrides=overrides,
        max_bytes=_typed(f"models.{label}.max_bytes", table.get("max_bytes", 0), int),
    )
    if spec.max_bytes < 0:
        raise OnlinezipError(f"models.{label}.max_bytes must be >= 0, got {spec.max_bytes}")
    try:
        spec.config()  # the preset exists, every override is a known key of the right type
    except OnlinezipError as exc:
        raise OnlinezipError(f"[models.{label}]: {exc}") from None
    return spec


def load_experiment(path: str | Path) -> ExperimentConfig:
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise OnlinezipError(f"cannot read experiment {str(path)!r}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise OnlinezipError(f"experiment config {str(path)!r}: {exc}") from None
    try:
        return _experiment_from(data, path)
    except OnlinezipError as exc:
        raise OnlinezipError(f"experiment config {str(path)!r}: {exc}") from None


def _experiment_from(data: dict, path: Path) -> ExperimentConfig:
    unknown = sorted(set(data) - _TOP_KEYS)
    if unknown:
        raise OnlinezipError(f"unknown key {unknown[0]!r}; valid keys: {', '.join(_TOP_KEYS)}")
    resolve = lambda p: (path.parent / _typed("a path", p, str)).resolve()  # noqa: E731
    if "corpus" not in data:
        raise OnlinezipError('it names no corpus (corpus = "path")')
    models = data.get("models", {})
    if not isinstance(models, dict) or not models:
        raise OnlinezipError("it has no models ([models.LABEL] tables with a preset)")
    joint = data.get("joint", {})
    if not isinstance(joint, dict):
        raise OnlinezipError("[joint] must be a table")
    unknown = sorted(set(joint) - {"texts", "preset", "streams"})
    if unknown:
        raise OnlinezipError(
            f"unknown key {unknown[0]!r} in [joint]; valid: texts, preset, streams"
        )
    texts = tuple(resolve(p) for p in joint.get("texts", ()))
    if len(texts) not in (0, 2):
        raise OnlinezipError(f"joint.texts must name two texts, got {len(texts)}")
    exp = ExperimentConfig(
        name=_typed("name", data.get("name", path.stem), str),
        corpus=resolve(data["corpus"]),
        models=tuple(_model_spec(label, table) for label, table in models.items()),
        max_bytes=_typed("max_bytes", data.get("max_bytes", 0), int),
        codecs=_typed("codecs", data.get("codecs", True), bool),
        verify=_typed("verify", data.get("verify", True), bool),
        frozen=_typed("frozen", data.get("frozen", True), bool),
        dependencies=_typed("dependencies", data.get("dependencies", "deflate"), str),
        workers=_typed("workers", data.get("workers", 0), int),
        joint_texts=texts,
        joint_preset=_typed("joint.preset", joint.get("preset", "hashctx"), str),
        joint_streams=_typed("joint.streams", joint.get("streams", 1), int),
    )
    if exp.dependencies not in DEPENDENCY_MODES:
        raise OnlinezipError(
            f"dependencies must be one of {DEPENDENCY_MODES}, got {exp.dependencies!r}"
        )
    if exp.max_bytes < 0 or exp.workers < 0:
        raise OnlinezipError("max_bytes and workers must be >= 0")
    if texts:
        load_preset(exp.joint_preset).replace(run={"streams": exp.joint_streams})
    return exp


# --------------------------------------------------------------------------- corpora


def read_text(path: Path, max_bytes: int = 0) -> bytes:
    """A corpus file (``.xz``: decompressed), checked against ``SHA256SUMS`` beside it if
    that lists the text."""
    try:
        raw = path.read_bytes()
        data = lzma.decompress(raw) if path.suffix == ".xz" else raw
    except OSError as exc:
        raise OnlinezipError(f"cannot read {str(path)!r}: {exc.strerror}") from None
    except lzma.LZMAError as exc:
        raise OnlinezipError(f"{str(path)!r} is not a valid .xz file: {exc}") from None
    name = path.name.removesuffix(".xz")
    sums = path.parent / "SHA256SUMS"
    if sums.is_file():
        for line in sums.read_text().splitlines():
            digest, _, listed = line.partition("  ")
            if listed == name and hashlib.sha256(data).hexdigest() != digest:
                raise OnlinezipError(f"{str(path)!r} does not match its SHA-256 in {sums}")
    return data[:max_bytes] if max_bytes else data


def prefix_grid(n: int, per_decade: int = GRID_PER_DECADE, start: int = 1000) -> list[int]:
    """Log-spaced prefix sizes from ``start`` (or n, if smaller) to n, n included."""
    if n <= start:
        return [n] if n else []
    count = int(np.floor(np.log10(n / start) * per_decade)) + 1
    grid = {int(round(start * 10 ** (i / per_decade))) for i in range(count)}
    return sorted(g for g in grid if g < n) + [n]


# --------------------------------------------------------------------------- classical codecs


def _ppmd():
    try:
        import pyppmd
    except ImportError:
        return None
    return pyppmd


def classical_codecs() -> dict[str, tuple]:
    """name -> (compress, decompress, modules whose files make its decompressor)."""
    codecs = {
        "gzip -9": (lambda d: gzip.compress(d, 9, mtime=0), gzip.decompress, ("gzip", "zlib")),
        "bzip2 -9": (lambda d: bz2.compress(d, 9), bz2.decompress, ("bz2", "_bz2")),
        "xz -9e": (lambda d: lzma.compress(d, preset=9 | lzma.PRESET_EXTREME), lzma.decompress,
                   ("lzma", "_lzma")),
    }  # fmt: skip
    pyppmd = _ppmd()
    if pyppmd is not None:  # order 6: benchmarks/run.py found order 12's decoder unreliable
        opts = {"max_order": 6, "mem_size": 256 << 20}
        codecs["PPMd o6"] = (
            lambda d: pyppmd.compress(d, **opts), lambda b: pyppmd.decompress(b, **opts),
            ("pyppmd", "pyppmd.c.c_ppmd"),
        )  # fmt: skip
    return codecs


def _mapped_files() -> list[str]:
    """Every file mapped into this process (Linux), e.g. the shared libraries loaded."""
    try:
        with open("/proc/self/maps") as maps:
            return sorted({line.split()[-1] for line in maps if "/" in line.split()[-1]})
    except OSError:
        return []


_LIBRARIES = {"zlib": "libz.", "_bz2": "libbz2.", "_lzma": "liblzma.", "pyppmd.c.c_ppmd": ""}


def decompressor_files(modules: tuple[str, ...]) -> list[str]:
    """The files a classical decompressor is made of here: its Python modules, their
    extension modules, and the shared library they link (from /proc/self/maps)."""
    import importlib

    files, mapped = [], _mapped_files()
    for name in modules:
        module = importlib.import_module(name)
        path = getattr(module, "__file__", None)
        if path:
            files.append(path)
        if name == "pyppmd.c.c_ppmd":
            files += [p for p in mapped if "/pyppmd/" in p and p.endswith(".so")]
        elif _LIBRARIES.get(name):
            files += [p for p in mapped if Path(p).name.startswith(_LIBRARIES[name])]
            dynload = [p for p in mapped if Path(p).name.startswith(name + ".cpython")]
            files += dynload
    return sorted(set(files))


def _code_bytes_of(path: str) -> bytes:
    """A file's bytes; a shared object stripped of its symbols and debug sections first
    (``strip --strip-all``, where binutils is installed): they are not code it runs."""
    content = Path(path).read_bytes()
    if ".so" not in Path(path).name or shutil.which("strip") is None:
        return content
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "lib.so"
        copy.write_bytes(content)
        done = subprocess.run(["strip", "--strip-all", str(copy)], capture_output=True)
        return copy.read_bytes() if done.returncode == 0 else content


def xz_size_of_files(paths: list[str]) -> int:
    """Bytes of a reproducible tar of ``paths`` (shared objects stripped), xz -9e."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for i, path in enumerate(paths):
            content = _code_bytes_of(path)
            info = tarfile.TarInfo(f"{i}/{Path(path).name}"[:99])
            info.size, info.mtime, info.mode = len(content), 0, 0o644
            tar.addfile(info, io.BytesIO(content))
    return len(lzma.compress(buffer.getvalue(), preset=9 | lzma.PRESET_EXTREME))


def classical_sizes(data: bytes) -> dict[str, int]:
    """Reference codecs, measured on the same bytes."""
    return {name: len(c(data)) for name, (c, _, _) in classical_codecs().items()}


def run_codecs(corpus: bytes, grid: list[int], done=None) -> dict[str, Any]:
    """Every classical codec on every prefix of ``grid``: sizes, roundtrip checked, and its
    code term."""
    result = {}
    for name, (compress, decompress, modules) in classical_codecs().items():
        sizes, ok = [], True
        for n in grid:
            packed = compress(corpus[:n])
            ok = ok and decompress(packed) == corpus[:n]
            sizes.append(len(packed))
            if done is not None:
                done(n)
        files = decompressor_files(modules)
        result[name] = {
            "sizes": sizes,
            "roundtrip": ok,
            "code_bytes": xz_size_of_files(files),
            "code_files": {Path(f).name: os.path.getsize(f) for f in files},
            "stripped": shutil.which("strip") is not None,
        }
    return result


# --------------------------------------------------------------------------- the code term


_LOADED_FILES = """
import json, sys
from onlinezip import api
data = bytes(range(256)) * 8
cfg = api.load_preset("tiny").replace(run={"streams": 1})
assert api.decompress(api.compress(data, cfg)) == data
import onlinezip.models.cm
files = {getattr(m, "__file__", None) for m in list(sys.modules.values())}
with open("/proc/self/maps") as maps:
    files |= {line.split()[-1] for line in maps if "/" in line.split()[-1]}
print(json.dumps({"files": sorted(f for f in files if f), "prefix": sys.base_prefix}))
"""


def dependency_sizes(mode: str = "deflate") -> dict[str, Any]:
    """What a decoding process loads besides onlinezip's own source, measured: a fresh
    interpreter decodes a small file (an LSTM) and imports every model, then lists every
    module file it imported and every file it has mapped (shared libraries). Grouped into the
    third-party packages (site-packages: jax, jaxlib, flax, optax, numpy, constriction and
    what they import), Python itself (interpreter and standard library), and the system's
    shared libraries. ``mode``: "sizes" sums bytes only; "deflate" also compresses each
    file with zlib level 6 (as a wheel stores it)."""
    script = _LOADED_FILES
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise OnlinezipError(f"could not list the decoder's files: {proc.stderr.strip()[-300:]}")
    listing = json.loads(proc.stdout.strip().splitlines()[-1])
    package = str(Path(__file__).resolve().parent)
    groups: dict[str, dict[str, int]] = {}
    for name in listing["files"]:
        path = Path(name)
        if not path.is_file() or str(path.resolve()).startswith(package):
            continue
        if "site-packages" in path.parts:
            group = "third-party packages"
        elif str(path).startswith(listing["prefix"]):
            group = "Python (interpreter and standard library)"
        else:
            group = "system libraries"
        raw = path.stat().st_size
        packed = len(zlib.compress(path.read_bytes(), 6)) if mode == "deflate" else None
        entry = groups.setdefault(group, {"files": 0, "bytes": 0, "deflate_bytes": 0})
        entry["files"] += 1
        entry["bytes"] += raw
        entry["deflate_bytes"] = entry["deflate_bytes"] + packed if packed is not None else None
    return {"mode": mode, "groups": groups}


# --------------------------------------------------------------------------- model runs


@dataclass(frozen=True)
class _Job:
    key: str  # "models/LABEL" or "joint/PART"
    preset: str
    config: dict  # Config.to_dict()
    data: bytes
    verify: bool
    frozen: bool
    progress: Any = None  # a queue for (key, bytes done), or None
    part: str | None = None  # where the finished run is saved (OUT/parts/...), or None

    def digest(self) -> str:
        """What decides the run's results: a saved part is reused only if this matches."""
        what = [self.key, self.preset, self.config, hashlib.sha256(self.data).hexdigest(),
                self.verify, self.frozen]  # fmt: skip
        return hashlib.sha256(json.dumps(what, sort_keys=True).encode()).hexdigest()


def _save_part(job: _Job, report: dict, bits: np.ndarray) -> None:
    """A finished run, saved as soon as it is done (a stopped experiment resumes from it)."""
    path = Path(job.part)
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = json.dumps({"digest": job.digest(), "report": report})
    tmp = path.with_suffix(".tmp.npz")
    np.savez(tmp, bits=bits, meta=np.array(meta))
    tmp.replace(path)


def _load_part(job: _Job) -> tuple[dict, np.ndarray] | None:
    if job.part is None or not Path(job.part).is_file():
        return None
    try:
        with np.load(job.part) as part:
            meta, bits = json.loads(str(part["meta"])), part["bits"]
    except (OSError, ValueError, KeyError):
        return None
    return (meta["report"], bits) if meta.get("digest") == job.digest() else None


def _run_job(job: _Job) -> tuple[dict, np.ndarray]:
    """One model on its bytes (in a worker process, or here): compress, maybe decompress
    and compare, maybe the frozen weights' NLL; saved to ``job.part`` if given."""
    from onlinezip import api

    config = config_from_dict(job.config)
    last = [0.0]

    def progress(done: int, bits: float) -> None:
        now = time.monotonic()
        if job.progress is not None and (now - last[0] > 0.5 or done == len(job.data)):
            last[0] = now
            job.progress.put((job.key, done))

    result, coder = api.compress_coded(job.data, config, progress)
    if job.verify and api.decompress(result.output) != job.data:
        raise OnlinezipError(f"roundtrip failed for {job.key}")
    report = {**result.report, "preset": job.preset, "verified": job.verify}
    if coder is not None:
        report["weights_bytes_float32"] = 4 * coder.learner.num_parameters
        report["weights_bytes_float16"] = 2 * coder.learner.num_parameters
        if job.frozen and config.model.family != "cm":  # (cm's learner has no frozen pass)
            report["frozen_nll_bits"] = coder.frozen_bits(job.data)
    bits = result.bits.astype(np.float32)
    if job.part is not None:
        _save_part(job, report, bits)
    return report, bits


def run_one(data: bytes, preset: str, streams: int | None = None) -> tuple[dict, np.ndarray]:
    """Compress, decompress (checked), and the frozen-weights comparison for one preset."""
    config = load_preset(preset)
    if streams is not None:
        config = config.replace(run={"streams": streams})
    return _run_job(_Job("one", preset, config.to_dict(), data, True, True))


class _Progress:
    """tqdm bars fed from a queue: one for all the bytes to code (with the time left), one
    per run in progress."""

    def __init__(self, jobs: list[_Job], enabled: bool, shared: bool):
        self.enabled = enabled
        self.queue = None
        if not enabled:
            return
        from tqdm import tqdm

        self._tqdm = tqdm
        if shared:
            import multiprocessing

            self._manager = multiprocessing.get_context("spawn").Manager()
            self.queue = self._manager.Queue()
        else:
            self._manager, self.queue = None, queue.Queue()
        self.sizes = {j.key: len(j.data) for j in jobs}
        self.done = dict.fromkeys(self.sizes, 0)
        self.total = tqdm(total=sum(self.sizes.values()), unit="B", unit_scale=True,
                          desc="all runs", position=0, smoothing=0.05, mininterval=1,
                          dynamic_ncols=True)  # fmt: skip
        self.bars: dict[str, Any] = {}
        self._thread = threading.Thread(target=self._drain, daemon=True)
        self._thread.start()

    def _drain(self) -> None:
        while True:
            item = self.queue.get()
            if item is None:
                return
            key, done = item
            bar = self.bars.get(key)
            if bar is None:
                bar = self._tqdm(total=self.sizes[key], unit="B", unit_scale=True, desc=key,
                                 position=len(self.bars) + 1, leave=False, mininterval=1,
                                 dynamic_ncols=True)  # fmt: skip
                self.bars[key] = bar
            bar.update(done - bar.n)
            self.total.update(done - self.done[key])
            self.done[key] = done

    def finish(self, key: str) -> None:
        if self.enabled:
            self.queue.put((key, self.sizes[key]))

    def close(self) -> None:
        if not self.enabled:
            return
        self.queue.put(None)
        self._thread.join(10)
        for bar in self.bars.values():
            bar.close()
        self.total.close()
        if self._manager is not None:
            self._manager.shutdown()


def run(
    exp: ExperimentConfig, out: Path, log=print, progress: bool = True, workers: int | None = None
) -> dict[str, Any]:
    """Run the experiment; write ``summary.json``, ``bits.npz`` and ``crossover.json``."""
    started, clock = datetime.datetime.now(datetime.UTC), time.perf_counter()
    load_before = os.getloadavg()
    corpus = read_text(exp.corpus, exp.max_bytes)
    jobs = []
    for spec in exp.models:
        n = min(spec.max_bytes or len(corpus), len(corpus))
        cfg = spec.config()
        jobs.append(_Job(f"models/{spec.label}", spec.preset, cfg.to_dict(), corpus[:n],
                         exp.verify, exp.frozen))  # fmt: skip
    if exp.joint_texts:
        a, b = (read_text(p, exp.max_bytes) for p in exp.joint_texts)
        joint_cfg = load_preset(exp.joint_preset).replace(run={"streams": exp.joint_streams})
        for part, data in (("separate_a", a), ("separate_b", b), ("joint", a + b)):
            jobs.append(_Job(f"joint/{part}", exp.joint_preset, joint_cfg.to_dict(), data,
                             exp.verify, False))  # fmt: skip
    parts = out / "parts"
    jobs = [
        dataclasses.replace(j, part=str(parts / f"{j.key.replace('/', '--')}.npz")) for j in jobs
    ]
    results: dict[str, tuple[dict, np.ndarray]] = {}
    for job in jobs:  # runs an earlier, stopped invocation finished: not run again
        saved = _load_part(job)
        if saved is not None:
            results[job.key] = saved
    todo = [j for j in jobs if j.key not in results]
    workers = exp.workers if workers is None else workers
    workers = max(1, min(workers or engines.usable_cores(), len(todo)))
    bars = _Progress(todo, progress and bool(todo), shared=workers > 1)
    todo = [dataclasses.replace(j, progress=bars.queue) for j in todo]
    log(f"{exp.name}: {len(todo)} runs on {workers} worker(s); corpus "
        f"{exp.corpus.name} ({len(corpus):,} bytes)"
        + (f"; {len(results)} finished runs reused from {parts}" if results else ""))  # fmt: skip

    grid = prefix_grid(len(corpus))
    side: dict[str, Any] = {}

    def measure() -> None:  # in a thread, while the workers code
        try:
            if exp.codecs:
                side["classical"] = run_codecs(corpus, grid)
            if exp.dependencies != "none":
                side["dependencies"] = dependency_sizes(exp.dependencies)
        except Exception as exc:  # reported below, in the main thread
            side["error"] = exc

    thread = threading.Thread(target=measure, daemon=True)
    thread.start()
    try:
        with engines.make_engine(workers) as engine:
            for job, (report, bits) in zip(todo, engine.imap(_run_job, todo), strict=True):
                bars.finish(job.key)
                results[job.key] = (report, bits)
                if job.key.startswith("models/"):
                    log(f"{job.key[7:]}: {len(bits):,} bytes, {report['nll_bits_per_byte']:.3f} "
                        f"bits/byte, {report['seconds']:.0f} s")  # fmt: skip
    finally:
        bars.close()
    thread.join()
    if "error" in side:
        raise OnlinezipError(f"measuring the classical codecs failed: {side['error']}")

    summary: dict[str, Any] = {
        "name": exp.name,
        "corpus": exp.corpus.name.removesuffix(".xz"),
        "corpus_path": _relative(exp.corpus),
        "corpus_bytes": len(corpus),
        "corpus_sha256": hashlib.sha256(corpus).hexdigest(),
        "grid": grid,
        "models": {},
    }
    arrays: dict[str, np.ndarray] = {}
    for spec in exp.models:
        report, bits = results[f"models/{spec.label}"]
        report.update(label=spec.label, family=spec.config().model.family,
                      overrides=spec.overrides)  # fmt: skip
        summary["models"][spec.label] = report
        arrays[f"models/{spec.label}"] = bits
    if exp.codecs:
        summary["classical"] = side["classical"]
    if exp.dependencies != "none":
        summary["dependencies"] = side["dependencies"]
    if exp.joint_texts:
        summary["joint"] = _joint_summary(exp, results, arrays, len(a))
        log(f"joint: {summary['joint']['joint']['container_bytes']:,} bytes vs separate "
            f"{summary['joint']['separate_total_bytes']:,}")  # fmt: skip
    summary["machine"] = {
        "started_utc": started.isoformat(timespec="seconds"),
        "wall_seconds": time.perf_counter() - clock,
        "workers": workers,
        "usable_cores": engines.usable_cores(),
        "runs": len(todo),
        "runs_reused": sorted(set(results) - {j.key for j in todo}),
        "load_average_before": load_before,
        "load_average_after": os.getloadavg(),
        "cpu": _cpu_name(),
        "python": platform.python_version(),
    }
    sessions_log = parts / "sessions.json"  # every invocation that ran (some of) the runs
    sessions = json.loads(sessions_log.read_text()) if sessions_log.is_file() else []
    keys = ("started_utc", "wall_seconds", "workers", "runs", "load_average_before",
            "load_average_after")  # fmt: skip
    this = {k: summary["machine"][k] for k in keys}
    sessions = [*sessions, this] if todo or not sessions else sessions
    parts.mkdir(parents=True, exist_ok=True)
    sessions_log.write_text(json.dumps(sessions, indent=2) + "\n")
    summary["machine"]["sessions"] = sessions
    out.mkdir(parents=True, exist_ok=True)
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    np.savez_compressed(out / "bits.npz", **arrays)
    found = write_derived(out, summary, arrays)
    if found:
        for line in format_crossovers(found):
            log(line)
    log(
        f"wall time {summary['machine']['wall_seconds'] / 60:.1f} min; load average "
        f"{load_before[0]:.2f} before, {summary['machine']['load_average_after'][0]:.2f} after"
    )
    return summary


def _relative(path: Path) -> str:
    try:
        return path.resolve().relative_to(Path(__file__).resolve().parents[2]).as_posix()
    except ValueError:
        return str(path)


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def _joint_summary(exp, results, arrays, len_a: int) -> dict[str, Any]:
    """Text A and text B coded separately, then A followed by B through one online model."""
    result: dict[str, Any] = {"texts": [p.name.removesuffix(".xz") for p in exp.joint_texts],
                              "preset": exp.joint_preset, "streams": exp.joint_streams}  # fmt: skip
    for part in ("separate_a", "separate_b", "joint"):
        report, bits = results[f"joint/{part}"]
        result[part] = {k: report[k] for k in ("container_bytes", "nll_bits", "seconds")}
        arrays[f"joint/{part}"] = bits
    result["joint"]["nll_bits_of_b"] = float(arrays["joint/joint"][len_a:].sum())
    separate = result["separate_a"]["container_bytes"] + result["separate_b"]["container_bytes"]
    result["separate_total_bytes"] = separate
    result["joint_saves_bytes"] = separate - result["joint"]["container_bytes"]
    return result


# --------------------------------------------------------------------------- the crossover


CURVE_PER_DECADE = 64  # points per factor of ten of the compact curves (curves.npz)
PASSAGE_BYTES = 1024  # raw per-byte code lengths kept for the notebook's shaded passage


def compact_curves(summary: dict, bits: dict) -> dict[str, np.ndarray]:
    """What the notebook needs of ``bits.npz``, in kilobytes rather than megabytes: each
    model's running sum of code lengths at log-spaced positions (the grid's included),
    and the raw code lengths of one passage from the middle of its run."""
    grid = np.array(summary["grid"], np.int64)
    out: dict[str, np.ndarray] = {}
    for label in summary["models"]:
        b = np.asarray(bits[f"models/{label}"], np.float64)
        n = len(b)
        count = int(np.log10(max(n, 2)) * CURVE_PER_DECADE) + 2
        dense = np.unique(np.round(np.geomspace(1, n, count)).astype(np.int64))
        pos = np.union1d(np.union1d(dense, grid[grid <= n]), [n]).astype(np.int64)
        out[f"pos/{label}"] = pos
        out[f"cum/{label}"] = np.cumsum(b)[pos - 1]
        start = max(0, min(n // 2, n - PASSAGE_BYTES))
        out[f"passage/{label}"] = b[start : start + PASSAGE_BYTES].astype(np.float32)
        out[f"passage_start/{label}"] = np.array(start, np.int64)
    return out


def cumulative(data: dict, label: str) -> tuple[np.ndarray, np.ndarray]:
    """(positions n, bits spent on the first n bytes) of a model, from the full per-byte
    code lengths (``bits.npz``) or from the compact curves (``curves.npz``)."""
    if f"cum/{label}" in data:
        return np.asarray(data[f"pos/{label}"]), np.asarray(data[f"cum/{label}"], np.float64)
    b = np.asarray(data[f"models/{label}"], np.float64)
    return np.arange(1, len(b) + 1), np.cumsum(b)


def cum_at(data: dict, label: str, ns: np.ndarray) -> np.ndarray:
    pos, cum = cumulative(data, label)
    i = np.searchsorted(pos, ns)
    if np.any(i >= len(pos)) or np.any(pos[np.minimum(i, len(pos) - 1)] != ns):
        raise OnlinezipError(f"the curve of {label} does not hold every asked position")
    return cum[i]


def overhead_at(rep: dict, ns: np.ndarray) -> np.ndarray:
    """Container bytes besides the payload (header, frames, end record) of a file holding
    the first ``ns`` bytes of a model's run: the run's own, less the frames a shorter
    input does not have (one frame per ``run.chunk_bytes``)."""
    chunk = rep["config"]["run"]["chunk_bytes"]
    frames_full = -(-rep["original_bytes"] // chunk)
    frames = -(-np.asarray(ns, np.int64) // chunk)
    return rep["header_bytes"] - (frames_full - frames) * container.CODED_FRAME_BYTES


def description_lengths(summary: dict, data: dict, extra_code: int = 0) -> dict[str, Any]:
    """Description length (bytes) of every prefix on the grid, for every compressor that
    reached it: learned models from their running sums (``data``: bits.npz or curves.npz),
    codecs from their runs."""
    grid = np.array(summary["grid"], np.int64)
    curves: dict[str, Any] = {}
    for label, rep in summary["models"].items():
        reach = grid[grid <= rep["original_bytes"]]
        fixed = rep["code_bytes"] + overhead_at(rep, reach) + extra_code
        curves[label] = {"n": reach, "bytes": fixed + cum_at(data, label, reach) / 8,
                         "learned": True}  # fmt: skip
    for name, c in summary.get("classical", {}).items():
        curves[name] = {"n": grid, "bytes": c["code_bytes"] + np.array(c["sizes"], np.float64),
                        "learned": False}  # fmt: skip
    return curves


def write_derived(out: Path, summary: dict, bits: dict) -> dict[str, Any]:
    """``crossover.json`` and ``curves.npz`` from the results (``--analyse`` redoes them)."""
    np.savez_compressed(out / "curves.npz", **compact_curves(summary, bits))
    found = crossovers(summary, bits) if summary.get("classical") else {}
    (out / "crossover.json").write_text(json.dumps(found, indent=2) + "\n")
    return found


def _crossing(n: np.ndarray, d: np.ndarray) -> dict[str, Any]:
    """Where d (model minus other, on grid n) goes below zero and stays there."""
    below = d < 0
    if not below.any():
        return {"below_from": None, "first_below": None, "below_at_end": False}
    stays = np.flip(np.cumprod(np.flip(below))).astype(bool)  # below from here to the end
    first_for_good = int(np.argmax(stays)) if stays.any() else None
    at = None
    if first_for_good is not None:
        i = first_for_good
        if i == 0:
            at = int(n[0])
        else:  # interpolate the sign change in log n
            x0, x1, y0, y1 = np.log(n[i - 1]), np.log(n[i]), d[i - 1], d[i]
            at = int(round(np.exp(x0 + (x1 - x0) * y0 / (y0 - y1))))
    return {
        "below_from": at,  # None: it does not stay below up to the end of the data
        "first_below": int(n[int(np.argmax(below))]),
        "below_at_end": bool(below[-1]),
    }


def crossovers(summary: dict, bits: dict) -> dict[str, Any]:
    """For every learned model: from which data size it stays below each classical codec
    (code terms included), and below the next smaller model of its family; the same with
    the libraries' size added to the code term."""
    deps = summary.get("dependencies")
    extra = 0
    if deps is not None:
        key = "deflate_bytes" if deps["mode"] == "deflate" else "bytes"
        extra = sum(g[key] for name, g in deps["groups"].items()
                    if name == "third-party packages")  # fmt: skip
    out: dict[str, Any] = {"dependency_bytes": extra, "vs_codecs": {}, "vs_smaller": {},
                           "vs_codecs_with_dependencies": {}}  # fmt: skip
    for which, extra_code in (("vs_codecs", 0), ("vs_codecs_with_dependencies", extra)):
        curves = description_lengths(summary, bits, extra_code)
        for label, m in curves.items():
            if not m["learned"]:
                continue
            row = out[which][label] = {"reached": int(m["n"][-1])}
            for name, c in curves.items():
                if c["learned"]:
                    continue
                k = len(m["n"])
                row[name] = _crossing(m["n"], m["bytes"] - c["bytes"][:k])
                row[name]["ratio_at_end"] = float(m["bytes"][-1] / c["bytes"][k - 1])
    models = summary["models"]
    by_family: dict[str, list[str]] = {}
    for label, rep in models.items():
        by_family.setdefault(rep["family"], []).append(label)
    for labels in by_family.values():
        ordered = sorted(labels, key=lambda k: models[k]["num_parameters"])
        for small, big in zip(ordered, ordered[1:], strict=False):
            n = min(len(bits[f"models/{small}"]), len(bits[f"models/{big}"]))
            at = np.arange(1, n + 1)
            cum = {}
            for k in (small, big):
                fixed = models[k]["code_bytes"] + overhead_at(models[k], at)
                cum[k] = fixed + np.cumsum(np.asarray(bits[f"models/{k}"][:n], np.float64)) / 8
            d = cum[big] - cum[small]
            below = d < 0
            stays = np.flip(np.cumprod(np.flip(below))).astype(bool)
            out["vs_smaller"][big] = {
                "smaller": small,
                "compared_up_to": n,
                "ahead_from": int(np.argmax(stays)) + 1 if stays.any() else None,
                "first_ahead": int(np.argmax(below)) + 1 if below.any() else None,
                "margin_at_end_bytes": float(-d[-1]),
            }
    return out


def _size(n: int | None) -> str:
    if n is None:
        return "never"
    for unit, scale in (("MB", 1e6), ("KB", 1e3)):
        if n >= scale:
            return f"{n / scale:.3g} {unit}"
    return f"{n} B"


def format_crossovers(found: dict[str, Any]) -> list[str]:
    """Human lines: where each model stays below each codec, and below its smaller sibling."""
    lines = ["stays below, from (code terms: onlinezip source+config; codec decompressors):"]
    for label, row in found["vs_codecs"].items():
        cells = [f"{name} {_size(c['below_from'])}" for name, c in row.items() if name != "reached"]
        lines.append(f"  {label:16s} (to {_size(row['reached'])}): " + ", ".join(cells))
    for big, c in found["vs_smaller"].items():
        lines.append(f"  {big} ahead of {c['smaller']} from {_size(c['ahead_from'])} "
                     f"(compared on {_size(c['compared_up_to'])})")  # fmt: skip
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m onlinezip.experiment", description="run an experiment (configs/experiments)"
    )
    parser.add_argument("config", metavar="EXPERIMENT.toml", nargs="?")
    parser.add_argument("--analyse", metavar="DIR",
                        help="only redo crossover.json and curves.npz from DIR")  # fmt: skip
    parser.add_argument("--out", help="results folder (default: results/NAME)")
    parser.add_argument(
        "-j",
        "--workers",
        type=int,
        default=None,
        help="model runs at once (default: the config's; 0 = all usable cores)",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    args = parser.parse_args(argv)
    if args.analyse:
        return _analyse(Path(args.analyse))
    if args.config is None:
        parser.error("name an experiment config, or --analyse DIR")
    try:
        exp = load_experiment(args.config)
        out = Path(args.out or f"results/{exp.name}")
        log = lambda line: print(line, file=sys.stderr, flush=True)  # noqa: E731
        run(exp, out, log=log, progress=not args.no_progress, workers=args.workers)
    except OnlinezipError as exc:
        print(f"onlinezip experiment: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("onlinezip experiment: interrupted", file=sys.stderr)
        return 130
    print(f"results in {out}/ (summary.json, bits.npz, crossover.json)", file=sys.stderr)
    return 0


def _analyse(out: Path) -> int:
    try:
        summary = json.loads((out / "summary.json").read_text())
        with np.load(out / "bits.npz") as bits:
            found = write_derived(out, summary, dict(bits))
    except (OSError, ValueError, KeyError) as exc:
        print(f"onlinezip experiment: cannot analyse {str(out)!r}: {exc}", file=sys.stderr)
        return 1
    for line in format_crossovers(found) if found else []:
        print(line, file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
