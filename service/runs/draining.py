"""The run executor of a worker, stoppable within a bound.

Each claimed run executes in a daemon thread while the worker's job waits for it. On
shutdown the executor stops claiming, gives the run in progress ``grace`` seconds, and then
hands it back to the queue (status ``queued``, no lease) so another replica takes it at once
instead of after its lease expires. The abandoned computation may go on until the process
exits; its result is discarded because the run's lease is no longer this worker's.
"""

from __future__ import annotations

import logging
import threading

from sqlalchemy import update

from dqm.service.clock import utcnow
from dqm.service.context import Context
from dqm.service.db.models import Run
from dqm.service.db.session import rowcount, transaction
from dqm.service.runs import runner

log = logging.getLogger(__name__)


def release(ctx: Context, run_id: int) -> bool:
    """Hand a run this worker holds back to the queue; False if it no longer held it.

    The claim is not counted as an attempt: the run was given up, its worker did not die.
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
                attempts=Run.attempts - 1,
            )
        )
        return rowcount(done) == 1


class RunExecutor:
    """Claims and executes due runs one at a time until told to stop."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._abandoned = threading.Event()
        self._current: tuple[int, threading.Thread] | None = None

    def drain(self) -> None:
        """Execute every due run, one after the other, unless stopping."""
        while not self._stopping.is_set():
            run_id = runner.claim(self.ctx, utcnow())
            if run_id is None:
                return
            self._execute(run_id)

    def _execute(self, run_id: int) -> None:
        thread = threading.Thread(
            target=runner.execute, args=(self.ctx, run_id), name=f"run-{run_id}", daemon=True
        )
        with self._lock:
            if self._stopping.is_set():  # claimed while the executor was being stopped
                release(self.ctx, run_id)
                return
            self._current = (run_id, thread)
            thread.start()
        try:
            while thread.is_alive() and not self._abandoned.is_set():
                thread.join(0.1)
        finally:
            with self._lock:
                self._current = None

    def stop(self, grace: float) -> None:
        """Stop claiming; wait up to ``grace`` seconds for the run in progress, then release it."""
        with self._lock:
            self._stopping.set()
            current = self._current
        if current is None:
            return
        run_id, thread = current
        thread.join(grace)
        if thread.is_alive():
            released = release(self.ctx, run_id)
            self._abandoned.set()
            if released:
                log.warning("run %s did not finish within %.0f s; released", run_id, grace)
