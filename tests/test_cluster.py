"""--cluster: a real Dask scheduler and real workers, each its own process on loopback (no
mocks). The cluster's file is the local file; a worker killed mid-run has its segment
rerun elsewhere; a worker in another environment (another ISA level) has its results
refused and its segments rerun on the others."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from conftest import SHARED_DATA, TINY, run_cli
from onlinezip import api, container
from onlinezip.errors import OnlinezipError

distributed = pytest.importorskip("distributed")  # the cluster extra (in .[dev])

from onlinezip.engine import DaskEngine  # noqa: E402

CFG = TINY.replace(run={"min_segment_bytes": 300})
BIG = TINY.replace(run={"min_segment_bytes": 40_000})


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("XLA_FLAGS", "JAX_PLATFORMS")}
    return {**env, **extra}


class Cluster:
    """A scheduler and workers, each a subprocess on 127.0.0.1."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.file = folder / "scheduler.json"
        self.procs: list[subprocess.Popen] = []
        self._log = open(folder / "cluster.log", "wb")  # noqa: SIM115 (closed in stop)
        self._spawn("distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", "0",
                    "--no-dashboard", "--scheduler-file", str(self.file))  # fmt: skip
        deadline = time.monotonic() + 60
        while not (self.file.exists() and self.file.read_text().strip()):
            assert time.monotonic() < deadline, "the scheduler did not start"
            time.sleep(0.1)
        self.address = json.loads(self.file.read_text())["address"]
        self.client = distributed.Client(self.address, timeout=60, set_as_default=False)

    def _spawn(self, module: str, *args: str, **env: str) -> subprocess.Popen:
        proc = subprocess.Popen([sys.executable, "-m", module, *args], env=_clean_env(**env),
                                stdout=self._log, stderr=self._log)  # fmt: skip
        self.procs.append(proc)
        return proc

    def worker(self, **env: str) -> tuple[subprocess.Popen, str]:
        """Start one more worker (one thread, no nanny: its pid is the worker); return it
        and its address once the scheduler knows it."""
        before = set(self.client.scheduler_info()["workers"])
        proc = self._spawn("distributed.cli.dask_worker", "--scheduler-file", str(self.file),
                           "--nthreads", "1", "--no-nanny", "--no-dashboard",
                           "--host", "127.0.0.1", "--death-timeout", "60", **env)  # fmt: skip
        deadline = time.monotonic() + 60
        while True:
            new = set(self.client.scheduler_info()["workers"]) - before
            if new:
                return proc, new.pop()
            assert proc.poll() is None and time.monotonic() < deadline, "no worker came up"
            time.sleep(0.1)

    def stop(self) -> None:
        self.client.close()
        for proc in reversed(self.procs):
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self._log.close()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    c = Cluster(tmp_path_factory.mktemp("cluster"))
    try:
        c.first = [c.worker()[0], c.worker()[0]]
        yield c
    finally:
        c.stop()


@pytest.fixture(scope="module")
def text() -> bytes:
    bible = SHARED_DATA / "large" / "bible.txt"
    if bible.exists():
        return bible.read_bytes()[:160_000]
    return (Path(__file__).parent.parent / "samples" / "alice-excerpt.txt").read_bytes() * 20


def test_cluster_file_is_the_local_file_and_decodes(cluster, text, tmp_path):
    data = text[:1500]
    local = api.compress(data, CFG, segments=3)
    with DaskEngine(cluster.address) as engine:
        assert engine.workers == 2
        assert api.compress(data, CFG, segments=3, engine=engine) == local
        assert api.decompress(local, engine=engine) == data
        assert not engine.rejected
    # the command line (another process): --cluster with -T 3
    (tmp_path / "a.txt").write_bytes(data)
    cfg = tmp_path / "cfg.toml"
    cfg.write_text(
        '[model]\nfamily = "lstm"\nhidden_dim = 16\nembed_dim = 8\n'
        "[optimizer]\nlearning_rate = 0.01\n"
        "[run]\nstreams = 4\nmin_stream_bytes = 512\nmin_segment_bytes = 300\n"
    )
    proc = run_cli("-T", "3", "--cluster", cluster.address, "--config", str(cfg), "a.txt",
                   cwd=tmp_path)  # fmt: skip
    assert proc.returncode == 0, proc.stderr.decode()
    assert (tmp_path / "a.txt.oz").read_bytes() == local


def test_a_worker_in_another_environment_is_refused_and_its_segments_rerun(cluster, text):
    """A worker at another ISA level (its arithmetic differs, and its fingerprint says
    so): every result it returns is refused, and rerun on a worker of the file's
    environment. The file is the local one."""
    data = text[:2000]  # 4 segments of 500 bytes
    local = api.compress(data, CFG, segments=4)
    odd, odd_address = cluster.worker(ONLINEZIP_ISA="AVX")
    try:
        with DaskEngine(cluster.address) as engine:
            assert engine.workers == 3
            assert api.compress(data, CFG, segments=4, engine=engine) == local
            assert engine.rejected, "the AVX worker ran no segment: the test proves nothing"
            assert all(r.startswith(odd_address) for r in engine.rejected)
            assert all("isa AVX2 (file) vs AVX (worker)" in r for r in engine.rejected)
            # decoding: the same
            assert api.decompress(local, engine=engine) == data
    finally:
        odd.terminate()
        odd.wait(20)


def test_no_acceptable_worker_is_a_clear_error(cluster):
    with DaskEngine(cluster.address) as engine:
        with pytest.raises(OnlinezipError, match="no worker of the cluster gave an acceptable"):
            engine.map(abs, [-1, -2], check=lambda r: "never good enough")


def test_a_worker_killed_mid_run_has_its_segment_rerun(cluster, text):
    """SIGKILL to a worker while it codes a segment: Dask reruns that segment on another
    worker, and the file is still byte for byte the local one."""
    data = text[:160_000]  # 4 segments of 40,000 bytes
    local = api.compress(data, BIG, segments=4)
    victim, victim_address = cluster.worker()
    pids = {addr: pid for addr, pid in cluster.client.run(os.getpid).items()}
    assert pids[victim_address] == victim.pid
    result: dict = {}

    def run() -> None:
        try:
            with DaskEngine(cluster.address) as engine:
                result["blob"] = api.compress(data, BIG, segments=4, engine=engine)
        except BaseException as exc:  # handed to the test's thread
            result["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    killed = None
    deadline = time.monotonic() + 120
    while killed is None and thread.is_alive() and time.monotonic() < deadline:
        processing = cluster.client.processing()
        busy = [a for a, keys in processing.items() if keys and a in pids]
        if victim_address in busy:  # our extra worker is running a segment: kill it
            killed = victim_address
        elif busy and len(busy) == len(processing):  # all busy, ours not: kill another
            killed = busy[0]
        if killed is not None:
            time.sleep(0.5)  # well into the segment
            os.kill(pids[killed], signal.SIGKILL)
        time.sleep(0.05)
    thread.join(180)
    assert killed is not None, "no worker was seen running a segment"
    assert "error" not in result, result.get("error")
    assert result["blob"] == local
    assert killed not in cluster.client.scheduler_info()["workers"]
    assert len(container.Reader(io.BytesIO(local)).segments) == 4
