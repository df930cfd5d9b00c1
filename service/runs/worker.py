"""The background half of a process: scheduler tick, run executors, webhook relay and the
reconciler of stored files.

The scheduler and the run executors are loops of their own: the scheduler sleeps until the next
monitor is due (at most ``scheduler_tick_seconds``, and less when a monitor of this process
changes), and each executor's loop (one per worker process, ``DQM_WORKER_PROCESSES``: see
``pool``) wakes as soon as this process queues a run (otherwise it polls every
``runner_poll_seconds``). The relay, retention and reconciler are interval jobs of an
APScheduler ``BackgroundScheduler``. Every job is idempotent across replicas (see
``scheduler``, ``runner``, ``relay`` and ``reconciler``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

from apscheduler.schedulers.background import BackgroundScheduler

from dqm.service.alerting import relay
from dqm.service.clock import utcnow
from dqm.service.context import Context
from dqm.service.ingest import reconciler
from dqm.service.outages import as_unavailable, report_outage
from dqm.service.runs import pool, retention, scheduler
from dqm.service.runs.draining import RunExecutor, RunPool

log = logging.getLogger(__name__)
# The jobs tick every second or so: APScheduler's per-execution INFO lines would drown the
# log, and a tick that finds the previous one still running is skipped by design
# (max_instances=1), which APScheduler would log as a warning each time.
logging.getLogger("apscheduler.executors").setLevel(logging.WARNING)
logging.getLogger("apscheduler.scheduler").setLevel(logging.ERROR)


MIN_SLEEP_SECONDS = 0.01
T = TypeVar("T")


class _Loop:
    """A thread that calls ``step`` again after the delay it returns, or at once when woken."""

    def __init__(
        self,
        name: str,
        step: Callable[[], float],
        wakeups: scheduler.Wakeups,
        stopping: threading.Event,
    ) -> None:
        self.step, self.wakeups, self.stopping = step, wakeups, stopping
        self.woken = wakeups.listen()
        self.thread = threading.Thread(target=self._run, name=f"dqm-{name}", daemon=True)

    def _run(self) -> None:
        while not self.stopping.is_set():
            delay = self.step()
            self.woken.wait(delay)
            self.woken.clear()

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        """Wake the loop so it sees ``stopping``, and wait for its step in progress."""
        self.woken.set()
        if self.thread.is_alive():
            self.thread.join()
        self.wakeups.forget(self.woken)


class Worker:
    """Starts and stops the background jobs of one process."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.client = relay.make_client(ctx)
        self.scheduler = BackgroundScheduler(timezone="UTC")
        if ctx.settings.run_processes:
            pool.warm_up()  # while the rest of start-up goes on
        self.runs = RunPool(ctx)
        settings = ctx.settings
        self._stopping = threading.Event()
        self._loops = (
            _Loop("schedule", self.tick, scheduler.SCHEDULE_CHANGED, self._stopping),
            *(
                _Loop(f"runs-{i}", self._work(e), scheduler.RUN_QUEUED, self._stopping)
                for i, e in enumerate(self.runs.executors)
            ),
        )
        jobs = (
            (self.deliver, settings.relay_poll_seconds, "relay"),
            (self.retain, settings.retention_interval_seconds, "retention"),
            (self.reconcile, settings.reconcile_interval_seconds, "reconcile"),
        )
        for func, seconds, name in jobs:
            self.scheduler.add_job(
                func,
                "interval",
                seconds=seconds,
                id=name,
                max_instances=1,
                coalesce=True,
                next_run_time=utcnow(),
            )

    def tick(self) -> float:
        """Schedule the due runs; returns how long to sleep before the next tick."""
        tick = self.ctx.settings.scheduler_tick_seconds
        due = self._guard("schedule", self._schedule)
        if due is None:
            return tick
        # Never a busy loop, even if another replica's clock keeps a monitor due.
        return min(tick, max(MIN_SLEEP_SECONDS, (due - utcnow()).total_seconds()))

    def _schedule(self) -> datetime | None:
        """Queue the due runs; returns when the next monitor is due."""
        scheduler.schedule_due_runs(self.ctx, utcnow())
        return scheduler.next_due(self.ctx)

    def _work(self, executor: RunExecutor) -> Callable[[], float]:
        def work() -> float:
            """Execute due runs; returns how long to sleep unless a run is queued here."""
            self._guard("runs", executor.drain)
            return self.ctx.settings.runner_poll_seconds

        return work

    def deliver(self) -> None:
        self._guard("relay", lambda: relay.relay_once(self.ctx, self.client))

    def retain(self) -> None:
        self._guard("retention", lambda: retention.purge(self.ctx, utcnow()))

    def reconcile(self) -> None:
        self._guard("reconcile", lambda: reconciler.reconcile(self.ctx))

    def _guard(self, name: str, job: Callable[[], T]) -> T | None:
        """The job's result, or None when it failed (logged, retried on its next tick)."""
        try:
            return job()
        except Exception as exc:  # a database hiccup must not kill the job for good
            outage = as_unavailable(exc)
            if outage is not None:  # one throttled line, not a traceback per tick
                report_outage(outage)
                return None
            log.exception("background job %s failed; retrying on its next tick", name)
            return None

    def start(self) -> None:
        self.scheduler.start()
        for loop in self._loops:
            loop.start()
        log.info(
            "worker %s started with %d run executors", self.ctx.worker_id, len(self.runs.executors)
        )

    def stop(self) -> None:
        """Stop within about ``shutdown_grace_seconds``: runs still queued stay queued, and a
        run that does not finish in time goes back to the queue for another replica."""
        self._stopping.set()
        self.runs.stop(self.ctx.settings.shutdown_grace_seconds)
        for loop in self._loops:
            loop.stop()
        self.runs.close()
        self.scheduler.shutdown(wait=True)
        self.client.close()
