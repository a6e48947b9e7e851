"""runtime: the one-thread pool, the core each process claims, and the coding thread's
pinning to it (speed only: the bits are the same wherever the thread runs)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import jax
import pytest

from onlinezip import codec, runtime

pytestmark = pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="Linux only")


def test_the_backend_is_on_a_claimed_core_of_this_process():
    jax.devices("cpu")
    assert runtime._core in os.sched_getaffinity(0)


def test_pinned_puts_the_thread_on_the_core_and_gives_its_cores_back():
    jax.devices("cpu")
    before = os.sched_getaffinity(0)
    with runtime.pinned():
        assert os.sched_getaffinity(0) == {runtime._core}
    assert os.sched_getaffinity(0) == before


def test_pinned_gives_the_cores_back_after_an_error():
    jax.devices("cpu")
    before = os.sched_getaffinity(0)
    with pytest.raises(KeyError), runtime.pinned():
        raise KeyError("boom")
    assert os.sched_getaffinity(0) == before


def test_the_coding_loop_runs_pinned(tiny, monkeypatch):
    seen = []
    real = codec.Codec._loop

    def spy(self, layout, side):
        seen.append(os.sched_getaffinity(0))
        return real(self, layout, side)

    monkeypatch.setattr(codec.Codec, "_loop", spy)
    coder = codec.Codec(tiny, 1)
    coder.encode_chunk(b"abc")
    assert seen == [{runtime._core}]


_CLAIM = (
    "import sys, onlinezip, jax; jax.devices('cpu'); from onlinezip import runtime; "
    "print(runtime._core, flush=True); sys.stdin.read()"
)


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs two cores")
@pytest.mark.skipif(shutil.which("taskset") is None, reason="needs taskset")
def test_processes_side_by_side_claim_different_cores(tmp_path):
    """Two processes alive at once take two cores, lowest first; a third, with every core
    taken, still runs, on one of them (chosen by its process id). Their own lock folder
    (TMPDIR), so this test process's claim does not count."""
    cores = sorted(os.sched_getaffinity(0))[:2]
    env = {**os.environ, "JAX_PLATFORMS": "cpu", "TMPDIR": str(tmp_path)}
    command = ["taskset", "-c", ",".join(map(str, cores)), sys.executable, "-c", _CLAIM]
    procs, claimed = [], []
    try:
        for _ in range(3):
            procs.append(subprocess.Popen(
                command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env
            ))  # fmt: skip
            claimed.append(int(procs[-1].stdout.readline()))
    finally:
        for proc in procs:
            proc.communicate("")
    assert claimed[:2] == cores
    assert claimed[2] in cores
    locks = tmp_path / f"onlinezip-cores-{os.getuid()}"
    assert sorted(os.listdir(locks)) == sorted(map(str, cores))


def test_huge_pages_leave_the_bytes_as_they_were(monkeypatch):
    """Moving a buffer to 2 MiB pages (where the kernel offers them) changes no byte of
    it; a buffer under the size bound, or ONLINEZIP_HUGE_PAGES=off, is left alone."""
    import jax.numpy as jnp
    import numpy as np

    values = np.random.default_rng(3).integers(0, 2**32, 3 << 20, dtype=np.uint32)
    big = jnp.asarray(values)  # 12 MiB: at least four whole 2 MiB pages inside
    moved = runtime.huge_pages([big], min_bytes=8 << 20)
    assert moved % (2 << 20) == 0 and moved <= big.nbytes
    assert (np.asarray(big) == values).all()
    assert runtime.huge_pages([big], min_bytes=16 << 20) == 0
    monkeypatch.setattr(runtime, "HUGE_PAGES", False)
    assert runtime.huge_pages([big], min_bytes=1) == 0
