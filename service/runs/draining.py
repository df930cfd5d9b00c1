"""The run executors of a worker, stoppable within a bound.

Each executor (a worker process, or a thread with ``DQM_WORKER_PROCESSES=0``: see ``pool``)
has a loop that claims a due run for it and waits until the run ends; the loops of a replica
claim in parallel. On shutdown every loop stops claiming, the runs in progress share
``grace`` seconds, and a run still going is then handed back to the queue (status ``queued``,
no lease) so another replica takes it at once instead of after its lease expires; its worker
process is killed (a thread's abandoned result is discarded: its lease is no longer held).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from sqlalchemy import update

from dqm.service.clock import utcnow
from dqm.service.context import Context
from dqm.service.db.models import Run
from dqm.service.db.session import rowcount, transaction
from dqm.service.runs import pool, runner

log = logging.getLogger(__name__)
POLL_SECONDS = 0.1


def release(ctx: Context, run_id: int, *, attempt_counts: bool = False) -> bool:
    """Hand a run this worker holds back to the queue; False if it no longer held it.

    The claim is not counted as an attempt when the run was given up (its worker did not
    die); it is when its worker process died under it, so a run that kills its worker
    fails after ``runner.MAX_ATTEMPTS`` claims.
    """
    with transaction(ctx.sessions) as session:
        done = session.execute(
            update(Run)
            .where(Run.id == run_id, Run.lease_owner == ctx.worker_id, Run.status == "running")
            .values(
                status="queued",
                lease_owner=None,
                lease_expires_at=None,
                started_at=None,
                attempts=Run.attempts if attempt_counts else Run.attempts - 1,
            )
        )
        return rowcount(done) == 1


class RunExecutor:
    """Claims due runs for one executor and waits for each, until told to stop."""

    def __init__(self, executor: pool.Executor, siblings: Callable[[], list[str]] = list) -> None:
        self.executor, self.siblings = executor, siblings
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._abandoned = threading.Event()
        self._idle = threading.Event()
        self._idle.set()
        self._current: tuple[Context, int] | None = None

    def drain(self) -> None:
        """Execute every due run, one after the other, unless stopping."""
        while not self._stopping.is_set():
            ctx = self.executor.ready()
            if ctx is None:
                return
            run_id = runner.claim(ctx, utcnow(), spare=self.siblings())
            if run_id is None:
                return
            self._execute(ctx, run_id)

    def _execute(self, ctx: Context, run_id: int) -> None:
        with self._lock:
            if self._stopping.is_set():  # claimed while the executor was being stopped
                release(ctx, run_id)
                return
            self._current = (ctx, run_id)
            self._idle.clear()
        try:
            try:
                self.executor.start(run_id)
            except OSError:  # its worker process died since ``ready``
                log.warning("run %s not started: its worker process is gone", run_id)
                release(ctx, run_id)
                return
            while not self.executor.wait(POLL_SECONDS):
                if self._abandoned.is_set():
                    return
            if self._abandoned.is_set():
                return
            outcome = self.executor.outcome()
            if outcome is not None:
                runner.record(outcome)
            elif release(ctx, run_id, attempt_counts=True):
                log.warning("run %s handed back to the queue: its worker failed", run_id)
        finally:
            with self._lock:
                self._current = None
                self._idle.set()

    def stop_claiming(self) -> None:
        self._stopping.set()

    def stop(self, deadline: float) -> None:
        """Stop claiming; wait until ``deadline`` (``time.monotonic``) for the run in progress,
        then release it and abandon it."""
        self.stop_claiming()
        if not self._idle.wait(max(0.0, deadline - time.monotonic())):
            with self._lock:
                current = self._current
                self._abandoned.set()
            if current is not None:
                ctx, run_id = current
                if release(ctx, run_id):
                    log.warning("run %s did not finish within the grace period; released", run_id)
                self.executor.abandon()


class RunPool:
    """The executors of a replica, stopped together within one grace period."""

    def __init__(self, ctx: Context) -> None:
        backends = pool.executors(ctx)
        self.executors = [RunExecutor(e, self._alive) for e in backends]
        self._backends = backends

    def _alive(self) -> list[str]:
        """The worker ids of this replica's live worker processes."""
        return [w for b in self._backends if (w := b.alive_id()) is not None]

    def stop(self, grace: float) -> None:
        """Stop claiming everywhere, then give the runs in progress ``grace`` seconds in all."""
        for executor in self.executors:
            executor.stop_claiming()
        deadline = time.monotonic() + grace
        for executor in self.executors:
            executor.stop(deadline)

    def close(self) -> None:
        """End the worker processes (once the loops that use them have stopped)."""
        for executor in self.executors:
            executor.executor.close()
