"""What makes the step program's arithmetic reproducible, pinned before JAX starts.

Three things decide the bits XLA's CPU backend produces for a given program:
  1. the jax/jaxlib build (and the flax/optax code that builds the program),
  2. the instruction set the code generator may use (``--xla_cpu_max_isa``),
  3. the size of XLA's intra-op thread pool, fixed when the CPU client is created from
     the number of cores the process may use: a split of a matrix product over two
     threads rounds differently than over one.
``configure()`` pins (2) to ``ISA`` and the backend to the CPU before JAX is imported;
``ensure_backend()`` pins (3) to one thread by restricting this thread's CPU affinity to a
single core just while the client is created, then restoring it. (1) and (2) are written
into every file's header by ``fingerprint()`` and compared by the decoder.

Speed, not bits: XLA's threads stay on the core they were created on, and a thread that
runs step programs must share it (``pinned()``). A step whose thunks are independent
and touch a big buffer (a table) is executed as a graph, handing thunks to the pool's
thread; across two cores each handoff costs microseconds (measured: a cm step 344 us
against 177 us with the caller on the pool's core). So each process claims a core of
its own (``_claim_core``: one lock file per core, held while the process lives), and
worker processes started side by side (``-T``, Dask workers) land on different cores.
ONLINEZIP_PIN=off turns both off (the core is then the lowest allowed, as before 0.4).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import platform
import sys
import tempfile
from importlib import metadata
from pathlib import Path

from onlinezip.errors import OnlinezipError

# The highest x86 instruction-set level XLA may emit code for, and the CPU flags it needs.
# AVX2 by default: every x86-64 CPU of the last decade has it, and an AVX-512 machine
# then runs the same code as an AVX2 one. ONLINEZIP_ISA picks another level, for
# experiments: the header records it, and a decoder at another level refuses the file.
ISA_FLAGS = {
    "SSE4_2": ("sse4_2",),
    "AVX": ("avx",),
    "AVX2": ("avx", "avx2", "fma"),
    "AVX512": ("avx", "avx2", "fma", "avx512f", "avx512bw", "avx512dq", "avx512vl"),
}
ISA = os.environ.get("ONLINEZIP_ISA", "AVX2")
REQUIRED_CPU_FLAGS = ISA_FLAGS.get(ISA, ())
PACKAGES = ("jax", "jaxlib", "flax", "optax", "constriction", "numpy")
# onlinezip's own arithmetic decides the bits as much as the libraries do. This names
# the release whose step programs this one reproduces exactly; change it to the new
# release's version whenever a change moves any preset's bits (tests/test_codec pins them).
ARITHMETIC = "0.1.0"
_backend_ready = False
_core: int | None = None  # the core XLA's threads run on (set by ensure_backend)
_core_lock: int | None = None  # the open lock file that claims it, held for life
PIN = os.environ.get("ONLINEZIP_PIN", "on").lower() not in ("off", "0", "no", "false")


def configure() -> None:
    """Set XLA's flags; must run before ``import jax`` (onlinezip/__init__ does it)."""
    if "jax" in sys.modules:
        from jax._src import xla_bridge

        if xla_bridge.backends_are_initialized():
            return  # too late to pin; ensure_backend() will refuse loudly
    if ISA not in ISA_FLAGS:
        return  # ensure_backend() refuses, with a message
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    flags = os.environ.get("XLA_FLAGS", "")
    if "--xla_cpu_max_isa" not in flags:
        os.environ["XLA_FLAGS"] = f"{flags} --xla_cpu_max_isa={ISA}".strip()


def ensure_backend(strict: bool = True) -> None:
    """Create JAX's CPU client with a one-thread pool, whatever the machine's core count.

    If JAX's backend already exists (created by other code before onlinezip was
    imported), its thread pool is unknown: raise, or with ``strict=False`` do nothing
    (the coding functions call this again, strictly).
    """
    global _backend_ready
    if _backend_ready:
        return
    if ISA not in ISA_FLAGS:
        if not strict:
            return
        raise OnlinezipError(
            f"ONLINEZIP_ISA={ISA!r} is not a level onlinezip knows; use one of "
            f"{', '.join(ISA_FLAGS)} (or unset it for AVX2)"
        )
    import jax
    from jax._src import xla_bridge

    if xla_bridge.backends_are_initialized():
        if not strict:
            return
        raise OnlinezipError(
            "JAX was initialised before onlinezip could pin its CPU thread pool, so results "
            "could differ between machines; import onlinezip before running any JAX code"
        )
    if f"--xla_cpu_max_isa={ISA}" not in os.environ.get("XLA_FLAGS", ""):
        if not strict:
            return
        raise OnlinezipError(
            f"XLA_FLAGS sets another --xla_cpu_max_isa; onlinezip needs {ISA}: unset it"
        )
    check_cpu()
    jax.config.update("jax_cpu_enable_async_dispatch", False)  # fewer us per step call
    cache = compile_cache_dir()
    if cache is not None:
        jax.config.update("jax_compilation_cache_dir", str(cache))
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    global _core
    saved = os.sched_getaffinity(0)
    core = _claim_core(saved) if PIN else min(saved)
    os.sched_setaffinity(0, {core})
    try:
        jax.devices("cpu")
    finally:
        os.sched_setaffinity(0, saved)
    _core = core
    _backend_ready = True


def _claim_core(allowed: set[int]) -> int:
    """A core of ``allowed`` that no other onlinezip process of this user holds, claimed
    by an exclusive lock on a file per core (released by the kernel when the process
    ends); if every core is taken (or locks cannot be made), one chosen by process id."""
    global _core_lock
    cores = sorted(allowed)
    folder = Path(tempfile.gettempdir()) / f"onlinezip-cores-{os.getuid()}"
    try:
        folder.mkdir(mode=0o700, exist_ok=True)
        if folder.is_symlink() or folder.stat().st_uid != os.getuid():
            raise OSError("not our folder")
        for core in cores:
            fd = os.open(folder / str(core), os.O_CREAT | os.O_RDWR | os.O_NOFOLLOW, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                continue
            _core_lock = fd
            return core
    except OSError:
        pass
    return cores[os.getpid() % len(cores)]


@contextlib.contextmanager
def pinned():
    """Run the calling thread on XLA's core while it steps a learner (see the module's
    docstring; no bit depends on it), and give it back its cores afterwards."""
    if not PIN or _core is None:
        yield
        return
    try:
        saved = os.sched_getaffinity(0)
        os.sched_setaffinity(0, {_core})
    except OSError:  # the core is no longer ours (e.g. a narrower taskset): run anywhere
        yield
        return
    try:
        yield
    finally:
        os.sched_setaffinity(0, saved)


# Speed, not bits: the cm tables are hundreds of MiB read at random rows, and with 4 KiB
# pages nearly every row read also misses the TLB. Linux gives a region 2 MiB pages when
# asked (transparent huge pages in "madvise" mode, the common default); XLA allocates
# its buffers without asking, so ``huge_pages`` asks for the big ones after the fact.
HUGE_PAGES = os.environ.get("ONLINEZIP_HUGE_PAGES", "on").lower() not in ("off", "0", "no")
_HUGE = 2 << 20
_MADV_HUGEPAGE, _MADV_COLLAPSE = 14, 25  # Linux >= 2.6.38 and >= 6.1


def huge_pages(buffers, min_bytes: int = 64 << 20) -> int:
    """Back every buffer of at least ``min_bytes`` with 2 MiB pages (Linux): advise the
    region, then collapse the pages it already has (the kernel copies them, about 3 ms a
    MiB). The contents are not changed. Returns the bytes collapsed: 0 on another
    system, an older kernel, ONLINEZIP_HUGE_PAGES=off, or when the kernel declines."""
    if not HUGE_PAGES or not sys.platform.startswith("linux"):
        return 0
    import ctypes

    try:
        madvise = ctypes.CDLL(None, use_errno=True).madvise
    except (OSError, AttributeError):
        return 0
    madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    done = 0
    for buffer in buffers:
        if buffer.nbytes < min_bytes:
            continue
        try:
            address = buffer.unsafe_buffer_pointer()
        except Exception:  # not a plain host buffer: nothing to advise
            continue
        start = -(-address // _HUGE) * _HUGE
        size = (address + buffer.nbytes) // _HUGE * _HUGE - start
        if size > 0 and madvise(start, size, _MADV_HUGEPAGE) == 0:
            if madvise(start, size, _MADV_COLLAPSE) == 0:
                done += size
    return done


def compile_cache_dir() -> Path | None:
    """Where compiled step programs are kept between runs (XLA's persistent cache).

    A cached program is the same machine code a fresh compilation would produce, so it
    changes no bit; it only saves the seconds of compilation on the next run. Set
    ONLINEZIP_CACHE to another folder, or to "off" to compile every time.
    """
    setting = os.environ.get("ONLINEZIP_CACHE", "")
    if setting.lower() in ("off", "0", "no", "false"):
        return None
    if setting:
        return Path(setting)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "onlinezip" / "xla"


def _first_cpu() -> dict[str, str] | None:
    """The first processor's fields in /proc/cpuinfo ("vendor_id", "flags", ...), or None
    where that cannot be read."""
    fields: dict[str, str] = {}
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
            for line in f:
                if not line.strip():
                    break  # the first processor is enough
                key, _, value = line.partition(":")
                fields[key.strip()] = value.strip()
    except OSError:
        return None
    return fields


def cpu_flags() -> set[str] | None:
    """The CPU's feature flags from /proc/cpuinfo, or None where that cannot be read."""
    fields = _first_cpu()
    if fields is None or "flags" not in fields:
        return None
    return set(fields["flags"].split())


def available_memory() -> int | None:
    """Bytes this process may still allocate: the smaller of the kernel's MemAvailable
    and what the cgroup (container) limit leaves; None where neither can be read."""
    limits = []
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    limits.append(int(line.split()[1]) * 1024)
    except (OSError, ValueError):
        pass
    try:
        cgroup = Path("/sys/fs/cgroup")
        limit = (cgroup / "memory.max").read_text().strip()
        if limit != "max":
            limits.append(int(limit) - int((cgroup / "memory.current").read_text()))
    except (OSError, ValueError):
        pass
    return min(limits) if limits else None


def check_memory(needed: int, what: str) -> None:
    """Fail now, with a message, rather than an hour into the work."""
    available = available_memory()
    if available is not None and needed > available:
        raise OnlinezipError(
            f"{what} needs about {needed / 2**30:.1f} GiB of memory but only "
            f"{max(available, 0) / 2**30:.1f} GiB is available; choose a smaller model "
            "(model.table_bits, model.hidden_dim) or free some memory"
        )


def fingerprint() -> dict[str, str]:
    """Everything a decoder must share with the encoder for bit-exact replay."""
    versions = {name: metadata.version(name) for name in PACKAGES}
    return {
        "onlinezip": ARITHMETIC,
        **versions,
        "backend": "cpu",
        "machine": platform.machine(),
        "isa": ISA,
        "threads": "1",
        "cpu": cpu_model(),
    }


def file_environment(family: str) -> dict[str, str]:
    """The fingerprint a file of ``family`` records: all of it, less the CPU model for the
    cm family (integer arithmetic: no CPU model changes its bits, so it is not checked)."""
    here = fingerprint()
    if family == "cm":
        del here["cpu"]
    return here


def cpu_model() -> str:
    """The CPU's vendor, family and model ("GenuineIntel 6/167"), or "unknown".

    The float models' arithmetic depends on more than the ISA cap: a Transformer's step
    gave other bits on an Intel Xeon (6/167) than on an AMD EPYC (26/2), both capped at
    AVX2; none of ten XLA flags tried (XNNPACK, Eigen threads, fusion emitters, fast and
    platform-dependent math, vector width, optimisation level) removed the difference,
    and its cause is not pinned down. So a file records its CPU, and a float model's
    file is refused on another one."""
    fields = _first_cpu()
    if not fields or "vendor_id" not in fields:
        return "unknown"
    return f"{fields['vendor_id']} {fields.get('cpu family', '?')}/{fields.get('model', '?')}"


def environment_differences(
    recorded: dict[str, str], here: dict[str, str], family: str, where: str = "here"
) -> list[str]:
    """What differs between a file's fingerprint and another, as "key a (file) vs b
    (here)". The CPU model counts only for float models (the cm family's arithmetic is
    integer: the same bits on every x86-64 CPU) and only where the file records it (files
    of 0.3 do not; their checksums still catch a CPU that replays them differently)."""
    keys = set(recorded) | set(here)
    if family == "cm" or "cpu" not in recorded:
        keys.discard("cpu")
    return [
        f"{key} {recorded.get(key, '?')} (file) vs {here.get(key, '?')} ({where})"
        for key in sorted(keys)
        if recorded.get(key) != here.get(key)
    ]


def check_fingerprint(recorded: dict[str, str], family: str) -> None:
    """Refuse, naming every difference, when this process cannot replay the file exactly."""
    diffs = environment_differences(recorded, fingerprint(), family)
    if diffs:
        raise OnlinezipError(
            "this file was made in another environment and may not decode exactly: "
            + "; ".join(diffs)
            + " (install the same versions, or pass --ignore-environment at your own risk)"
        )
    check_cpu()


def check_cpu() -> None:
    """Refuse on a CPU that cannot run code generated for ``ISA``."""
    flags = cpu_flags()
    missing = [f for f in REQUIRED_CPU_FLAGS if flags is not None and f not in flags]
    if missing:
        raise OnlinezipError(
            f"this CPU lacks {', '.join(missing)}, which {ISA} arithmetic needs; use an "
            f"x86-64 CPU with {', '.join(REQUIRED_CPU_FLAGS)}"
        )
