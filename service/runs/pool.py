"""Where a claimed run executes: a worker process of this replica, or a thread of this process.

With ``DQM_WORKER_PROCESSES`` = N ≥ 1 (default: the cores available) a replica executes up to N
runs at once, each in a worker process of its own, so runs use every core and the serving
process (HTTP, ``/metrics``, the scheduler) keeps its own. The serving process claims each run
for one worker process, whose id names the lease (``<replica id>.<slot>.<pid>``), sends it the
run id over a pipe and records the run's lag and duration when the outcome comes back. Worker
processes are forked from a forkserver that has the run code imported (a few milliseconds
each, no inherited threads or locks), ignore SIGINT and SIGTERM (their parent decides: see
``draining``), and die with their parent: each holds the read end of a lifeline pipe whose
only writer is the parent, and exits when it reads end-of-file, even in the middle of a run.
With 0 runs execute in a thread of the serving process, one at a time, and that process gives
pyarrow's buffers to jemalloc as a worker process does (``use_jemalloc``).
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import multiprocessing
import multiprocessing.util
import os
import signal
import threading
import weakref
from dataclasses import replace
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from typing import Protocol

import pyarrow as pa

from dqm.service.context import Context
from dqm.service.outages import as_unavailable, report_outage
from dqm.service.runs import runner
from dqm.service.settings import Settings

log = logging.getLogger(__name__)
_FORKSERVER = multiprocessing.get_context("forkserver")
_FORKSERVER.set_forkserver_preload([__name__])


def warm_up() -> None:
    """Start the forkserver (and its imports) in the background, so that the first worker
    process forks from a ready server instead of waiting for it after start-up."""
    import multiprocessing.forkserver

    threading.Thread(
        target=multiprocessing.forkserver.ensure_running, name="dqm-forkserver", daemon=True
    ).start()


_LIVE: weakref.WeakSet[InProcess] = weakref.WeakSet()


class Executor(Protocol):
    """Runs one claimed run at a time for the executor loop of ``draining``."""

    def ready(self) -> Context | None:
        """The context to claim and release runs with (its worker id names this executor), or
        None when the executor cannot take a run now."""

    def start(self, run_id: int) -> None:
        """Begin executing a run claimed with ``ready()``'s context."""

    def wait(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds; True once the run has ended (or its worker died)."""

    def outcome(self) -> runner.Outcome | None:
        """How the run ended, after ``wait`` said so; None when its worker died or failed."""

    def abandon(self) -> None:
        """Give up the run in progress (its lease was released)."""

    def close(self) -> None:
        """Free what the executor holds (ends its worker process)."""

    def alive_id(self) -> str | None:
        """The worker id of its worker process while that process is alive."""


class InThread:
    """Executes each run in a daemon thread of this process (``DQM_WORKER_PROCESSES=0``).

    An abandoned run's thread goes on until the process exits; its result is discarded
    because its lease is no longer this worker's.
    """

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self._thread: threading.Thread | None = None
        self._outcome: runner.Outcome | None = None

    def ready(self) -> Context:
        return self.ctx

    def start(self, run_id: int) -> None:
        self._outcome = None

        def target() -> None:
            self._outcome = runner.perform(self.ctx, run_id)

        self._thread = threading.Thread(target=target, name=f"run-{run_id}", daemon=True)
        self._thread.start()

    def wait(self, timeout: float) -> bool:
        assert self._thread is not None
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def outcome(self) -> runner.Outcome | None:
        return self._outcome

    def abandon(self) -> None:
        pass  # a thread cannot be stopped: it goes on, fenced off by its lost lease

    def close(self) -> None:
        pass

    def alive_id(self) -> None:
        return None  # a thread of this process: nothing else claims while it holds a run


class InProcess:
    """Executes runs in a worker process of its own, started when first needed and again
    after it died or was abandoned."""

    def __init__(self, ctx: Context, slot: int) -> None:
        self.ctx, self.slot = ctx, slot
        self._process: BaseProcess | None = None
        self._tasks: Connection | None = None
        self._lifeline: Connection | None = None
        self._context: Context | None = None

    def ready(self) -> Context | None:
        if self._process is None or not self._process.is_alive():
            self.close()
            try:
                self._spawn()
            except OSError:
                log.exception("could not start worker process %d", self.slot)
                return None
        return self._context

    def _spawn(self) -> None:
        tasks, child_tasks = _FORKSERVER.Pipe()
        child_lifeline, lifeline = _FORKSERVER.Pipe(duplex=False)
        process = _FORKSERVER.Process(
            target=child_main,
            args=(self.ctx.settings, child_tasks, child_lifeline),
            name=f"dqm-runs-{self.slot}",
            daemon=True,
        )
        process.start()
        child_tasks.close()
        child_lifeline.close()
        self._process, self._tasks, self._lifeline = process, tasks, lifeline
        _LIVE.add(self)
        worker_id = f"{self.ctx.worker_id}.{self.slot}.{process.pid}"
        self._context = replace(self.ctx, worker_id=worker_id)

    def start(self, run_id: int) -> None:
        assert self._tasks is not None and self._context is not None
        self._tasks.send((run_id, self._context.worker_id))

    def wait(self, timeout: float) -> bool:
        assert self._tasks is not None and self._process is not None
        return bool(wait([self._tasks, self._process.sentinel], timeout))

    def outcome(self) -> runner.Outcome | None:
        assert self._tasks is not None
        try:
            if self._tasks.poll():
                received: runner.Outcome | None = self._tasks.recv()  # None: it logged why
                return received
        except (EOFError, OSError):
            pass
        log.error("worker process %d (pid %s) died during a run", self.slot, self.pid)
        self.close()
        return None

    def abandon(self) -> None:
        if self._process is not None:  # the pipes stay open for the loop still waiting on them
            self._process.kill()

    def close(self) -> None:
        """Kill the worker process (it may be in the middle of an abandoned run)."""
        if self._process is not None:
            self._process.kill()
            self._process.join()
            self._process.close()
        for conn in (self._tasks, self._lifeline):
            if conn is not None:
                conn.close()
        self._process = self._tasks = self._lifeline = self._context = None

    def alive_id(self) -> str | None:
        process, context = self._process, self._context  # another thread may be closing it
        try:
            alive = process is not None and process.is_alive()
        except ValueError:  # closed meanwhile
            alive = False
        return context.worker_id if alive and context is not None else None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None


@atexit.register  # registered after multiprocessing's, so it runs before it joins children
def _kill_live_workers() -> None:
    """Kill worker processes still alive at exit: they ignore the SIGTERM multiprocessing's
    own exit handler would send, then wait for in vain."""
    for executor in list(_LIVE):
        executor.close()


def executors(ctx: Context) -> list[Executor]:
    """The executors of this replica: one per worker process, or one thread for 0."""
    count = ctx.settings.run_processes
    if count == 0:
        use_jemalloc()  # this process now executes runs: the same pool as a worker process's
        return [InThread(ctx)]
    return [InProcess(ctx, slot) for slot in range(count)]


def child_main(settings: Settings, tasks: Connection, lifeline: Connection) -> None:
    """A worker process: execute each run id received, answer with its outcome."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops us, after the grace
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    threading.Thread(target=_exit_with_parent, args=(lifeline,), daemon=True).start()
    _lower_priority(settings.worker_nice)
    use_jemalloc()
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(levelname)s:%(name)s[%(process)d]:%(message)s"
    )
    ctx = Context.create(settings)
    while True:
        try:
            run_id, worker_id = tasks.recv()
        except EOFError:  # the parent closed our pipe: it let us go
            os._exit(0)
        tasks.send(_perform(replace(ctx, worker_id=worker_id), run_id))


def _lower_priority(increment: int) -> None:
    """Run below the serving process (``DQM_WORKER_NICE``): with every core busy executing
    runs, the serving process would otherwise wait for a core to answer a request or a scrape."""
    if increment:
        with contextlib.suppress(OSError):  # a platform or sandbox that refuses: run as is
            os.nice(increment)


def use_jemalloc() -> None:
    """Give pyarrow's buffers to jemalloc rather than the wheels' default (mimalloc), in every
    process that executes runs: a worker process, or the serving process with
    ``DQM_WORKER_PROCESSES=0``. Buffers already allocated stay with the pool that made them.

    Measured with bench/run_memory.py (1M x 25 window, 228 MiB): a run's peak RSS above the idle
    process is 0.2-0.4x the window's Arrow size with jemalloc, 1.5x with mimalloc, whose freed
    pages are not reused by the next run. jemalloc keeps them instead: over ten in-thread runs
    the idle RSS settled ~300 MiB higher (1.55 against 1.26 GiB) for about the same absolute
    peak (1.61-1.64 against 1.59-1.61 GiB)."""
    with contextlib.suppress(NotImplementedError, pa.ArrowNotImplementedError):
        pa.set_memory_pool(pa.jemalloc_memory_pool())


def _perform(ctx: Context, run_id: int) -> runner.Outcome | None:
    try:
        return runner.perform(ctx, run_id)
    except Exception as exc:  # e.g. the database went away while closing the run
        outage = as_unavailable(exc)
        if outage is not None:
            report_outage(outage)
        else:
            log.exception("run %s could not be executed", run_id)
        return None


def _exit_with_parent(lifeline: Connection) -> None:
    """Block on the lifeline; its end-of-file means the parent is gone, whatever killed it."""
    with contextlib.suppress(EOFError, OSError):
        lifeline.recv()
    os._exit(1)
