"""Where independent pieces of work run: in this process, in local worker processes, or on
a Dask cluster, behind one small interface.

The interface (stable; ``onlinezip.segments`` and the experiment runner use it)::

    with make_engine(workers=4) as engine:          # or SerialEngine(), LocalEngine(4),
        results = engine.map(fn, items)            #    DaskEngine("tcp://host:8786")
        for result in engine.imap(fn, items): ...  # the same, lazily, in order

- ``fn`` is a module-level function (it is pickled by reference: spawned processes and
  Dask workers import it), ``items`` picklable arguments, one call ``fn(item)`` each.
- ``map`` returns the results as a list **in the order of** ``items``, whatever order the
  calls finish in; ``imap`` yields them in that order as soon as each one and all before it
  are done. An exception raised by ``fn`` is raised again here (an ``OnlinezipError``
  keeps its message); the remaining calls are cancelled.
- ``check``, optional: ``check(result) -> None`` to accept a result, or a sentence saying
  why not. A ``DaskEngine`` then runs that item again on another worker (never again on
  the one that gave the rejected result) and fails with the sentence only when no worker
  is left; the local engines, whose workers are this very installation, raise it.
- ``engine.workers``: how many calls it runs at once (a cluster: its workers' threads).
- ``close()`` (or leaving the ``with`` block) ends every worker process the engine started;
  on an exception or Ctrl-C in the block they are terminated at once, not waited for.

``SerialEngine`` runs the calls one after the other in this process. ``LocalEngine`` is a
``concurrent.futures.ProcessPoolExecutor`` with the **spawn** start method: forking a
process that has JAX loaded can deadlock (XLA's threads do not survive a fork), and a
spawned worker pins its own XLA thread pool when it imports onlinezip, exactly as a
fresh ``onlinezip`` process does, so its bits are those of any other process. Its
workers ignore SIGINT (the parent handles Ctrl-C and terminates them) and die with the
parent. ``DaskEngine`` sends the calls to a Dask distributed scheduler (``pip install
'onlinezip[cluster]'``); a worker that dies mid-call has its call rerun elsewhere by Dask
itself. Dask rather than Ray: pure Python and pip-installable, a real ``LocalCluster`` on
loopback in seconds for tests, and nothing to run besides the scheduler and workers.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import signal
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from onlinezip.errors import OnlinezipError

Check = Callable[[Any], str | None]
CLUSTER_EXTRA = "pip install 'onlinezip[cluster]'"


def usable_cores() -> int:
    """Cores this process may run on (``-T 0``)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


class Engine:
    """The interface; see the module docstring."""

    workers: int = 1
    remote = False  # True: the workers may be other installations (check their fingerprint)

    def imap(self, fn: Callable, items: Iterable, *, check: Check | None = None) -> Iterator:
        raise NotImplementedError

    def map(self, fn: Callable, items: Iterable, *, check: Check | None = None) -> list:
        return list(self.imap(fn, items, check=check))

    def close(self) -> None:
        """End every worker process this engine started (a no-op where there are none)."""

    def terminate(self) -> None:
        """End them now, without waiting for calls in progress."""
        self.close()

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            self.terminate()
        else:
            self.close()


def _checked(result: Any, check: Check | None) -> Any:
    if check is not None:
        reason = check(result)
        if reason is not None:
            raise OnlinezipError(reason)
    return result


class SerialEngine(Engine):
    """Every call in this process, one after the other."""

    workers = 1

    def imap(self, fn, items, *, check=None):
        for item in items:
            yield _checked(fn(item), check)


# --------------------------------------------------------------------------- local processes


def _init_worker() -> None:
    """In each spawned worker: leave Ctrl-C to the parent (which terminates the workers),
    and end when the parent is gone, even if it was killed outright (a watchdog thread:
    PR_SET_PDEATHSIG would follow the parent *thread* that started the worker)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, name="onlinezip-parent-watch", daemon=True).start()


class LocalEngine(Engine):
    """Up to ``workers`` spawned worker processes on this machine (0: every usable core)."""

    def __init__(self, workers: int = 0):
        self.workers = workers if workers > 0 else usable_cores()
        self._pool = None

    def _executor(self):
        if self._pool is None:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            self._pool = ProcessPoolExecutor(
                self.workers, mp_context=multiprocessing.get_context("spawn"),
                initializer=_init_worker,
            )  # fmt: skip
        return self._pool

    def imap(self, fn, items, *, check=None):
        from concurrent.futures.process import BrokenProcessPool

        pool = self._executor()
        futures = [pool.submit(fn, item) for item in items]
        try:
            for index, future in enumerate(futures):
                try:
                    result = future.result()
                except BrokenProcessPool:
                    raise OnlinezipError(
                        f"a worker process died while running part {index} (killed, or out "
                        "of memory?)"
                    ) from None
                yield _checked(result, check)
        except BaseException:  # an error, Ctrl-C, or the caller stopped iterating
            for future in futures:
                future.cancel()
            self.terminate()
            raise

    def pids(self) -> list[int]:
        """The worker processes' ids (for tests and the benchmark's memory figures)."""
        pool = self._pool
        return sorted(pool._processes) if pool is not None and pool._processes else []

    def close(self) -> None:
        if self._pool is not None:
            pool, self._pool = self._pool, None
            pool.shutdown(wait=True, cancel_futures=True)

    def terminate(self) -> None:
        if self._pool is None:
            return
        pool, self._pool = self._pool, None
        processes = list((pool._processes or {}).values())  # (no public API before 3.14)
        pool.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            with contextlib.suppress(Exception):
                process.terminate()
        for process in processes:
            with contextlib.suppress(Exception):
                process.join(5)
                if process.is_alive():
                    process.kill()
                    process.join(5)


# --------------------------------------------------------------------------- Dask


def import_distributed():
    """``distributed``, or a one-line error naming the extra to install."""
    try:
        import distributed
    except ImportError:
        raise OnlinezipError(
            f"--cluster needs Dask distributed, which is not installed: {CLUSTER_EXTRA}"
        ) from None
    return distributed


def _on_worker(fn: Callable, item: Any) -> tuple[str, Any]:
    """Runs on a Dask worker: ``fn(item)`` and the address of the worker that ran it."""
    from distributed import get_worker

    result = fn(item)
    return get_worker().address, result


class DaskEngine(Engine):
    """The calls as tasks on a Dask distributed cluster: ``address`` of its scheduler
    (``tcp://host:8786``), or a ``distributed.Client`` already connected."""

    remote = True
    MAX_ATTEMPTS = 8  # per item, rejected results included (dead workers: Dask's own count)

    def __init__(self, address: Any, *, timeout: float = 30.0):
        distributed = import_distributed()
        self._distributed = distributed
        if isinstance(address, distributed.Client):
            self._client, self._own = address, False
        else:
            try:
                self._client = distributed.Client(address, timeout=timeout, set_as_default=False)
            except (OSError, TimeoutError, ValueError) as exc:
                raise OnlinezipError(
                    f"cannot reach the Dask scheduler at {address!r}: {exc}"
                ) from None
            self._own = True
        self._futures: list = []
        self.rejected: list[str] = []  # "worker: why" for every result ``check`` refused

    def _worker_threads(self) -> dict[str, int]:
        try:
            info = self._client.scheduler_info(n_workers=-1)["workers"]
        except TypeError:  # before distributed 2025.4 every worker was listed
            info = self._client.scheduler_info()["workers"]
        return {addr: int(w.get("nthreads", 1)) for addr, w in info.items()}

    @property
    def workers(self) -> int:
        return max(1, sum(self._worker_threads().values()))

    def imap(self, fn, items, *, check=None):
        items = list(items)
        tag = uuid.uuid4().hex[:12]
        attempts = itertools.count()
        excluded: set[str] = set()
        reasons: list[str] = []
        pending: dict[Any, int] = {}  # future -> index
        done: dict[int, Any] = {}

        def submit(index: int, workers: list[str] | None = None):
            future = self._client.submit(
                _on_worker, fn, items[index], key=f"onlinezip-{tag}-{index}-{next(attempts)}",
                pure=False, workers=workers, allow_other_workers=False,
            )  # fmt: skip
            pending[future] = index
            self._futures.append(future)
            return future

        tries = dict.fromkeys(range(len(items)), 1)
        queue = self._distributed.as_completed(
            [submit(i) for i in range(len(items))], loop=self._client.loop
        )
        try:
            following = 0
            for future in queue:
                index = pending.pop(future)
                try:
                    address, result = future.result()
                except self._distributed.client.FutureCancelledError:
                    raise OnlinezipError(f"the cluster cancelled part {index}") from None
                except Exception as exc:
                    if type(exc).__name__ == "KilledWorker":
                        raise OnlinezipError(
                            f"part {index} was lost with the workers that ran it ({exc})"
                        ) from None
                    raise
                reason = check(result) if check is not None else None
                if reason is not None:
                    excluded.add(address)
                    reasons.append(f"{address}: {reason}")
                    self.rejected.append(reasons[-1])
                    others = [w for w in self._worker_threads() if w not in excluded]
                    tries[index] += 1
                    if not others or tries[index] > self.MAX_ATTEMPTS:
                        raise OnlinezipError(
                            f"no worker of the cluster gave an acceptable result for part "
                            f"{index}: {'; '.join(reasons)}"
                        )
                    queue.add(submit(index, others))
                    continue
                done[index] = result
                while following in done:
                    yield done.pop(following)
                    following += 1
        except BaseException:
            self._cancel()
            raise
        finally:
            self._futures = [f for f in self._futures if not f.done()]

    def _cancel(self) -> None:
        with contextlib.suppress(Exception):
            if self._futures:
                self._client.cancel(self._futures, force=True)
        self._futures = []

    def terminate(self) -> None:
        self._cancel()
        self.close()

    def close(self) -> None:
        if self._own and self._client is not None:
            with contextlib.suppress(Exception):
                self._client.close()
        self._client = None if self._own else self._client


def make_engine(workers: int = 1, cluster: str | None = None) -> Engine:
    """The engine the command line's ``-T N`` / ``--cluster ADDRESS`` name: a cluster if
    ``cluster``, else ``SerialEngine`` for one worker, ``LocalEngine`` for more (0: every
    usable core)."""
    if cluster:
        return DaskEngine(cluster)
    workers = workers if workers > 0 else usable_cores()
    return SerialEngine() if workers == 1 else LocalEngine(workers)
