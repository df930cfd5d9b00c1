"""The background half of a process: scheduler tick, run executor, webhook relay and the
reconciler of stored files.

Driven by an APScheduler ``BackgroundScheduler`` with one interval job each; every job is
idempotent across replicas (see ``scheduler``, ``runner``, ``relay`` and ``reconciler``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from apscheduler.schedulers.background import BackgroundScheduler

from dqm.service.alerting import relay
from dqm.service.clock import utcnow
from dqm.service.context import Context
from dqm.service.ingest import reconciler
from dqm.service.outages import as_unavailable, report_outage
from dqm.service.runs import retention, scheduler
from dqm.service.runs.draining import RunExecutor

log = logging.getLogger(__name__)
# The jobs tick every second or so: APScheduler's per-execution INFO lines would drown the
# log, and a tick that finds the previous one still running is skipped by design
# (max_instances=1), which APScheduler would log as a warning each time.
logging.getLogger("apscheduler.executors").setLevel(logging.WARNING)
logging.getLogger("apscheduler.scheduler").setLevel(logging.ERROR)


class Worker:
    """Starts and stops the background jobs of one process."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.client = relay.make_client(ctx)
        self.scheduler = BackgroundScheduler(timezone="UTC")
        self.runs = RunExecutor(ctx)
        settings = ctx.settings
        jobs = (
            (self.tick, settings.scheduler_tick_seconds, "schedule"),
            (self.work, settings.runner_poll_seconds, "runs"),
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

    def tick(self) -> None:
        self._guard("schedule", lambda: scheduler.schedule_due_runs(self.ctx, utcnow()))

    def work(self) -> None:
        self._guard("runs", self.runs.drain)

    def deliver(self) -> None:
        self._guard("relay", lambda: relay.relay_once(self.ctx, self.client))

    def retain(self) -> None:
        self._guard("retention", lambda: retention.purge(self.ctx, utcnow()))

    def reconcile(self) -> None:
        self._guard("reconcile", lambda: reconciler.reconcile(self.ctx))

    def _guard(self, name: str, job: Callable[[], object]) -> None:
        try:
            job()
        except Exception as exc:  # a database hiccup must not kill the job for good
            outage = as_unavailable(exc)
            if outage is not None:  # one throttled line, not a traceback per tick
                report_outage(outage)
                return
            log.exception("background job %s failed; retrying on its next tick", name)

    def start(self) -> None:
        self.scheduler.start()
        log.info("worker %s started", self.ctx.worker_id)

    def stop(self) -> None:
        """Stop within about ``shutdown_grace_seconds``: runs still queued stay queued, and a
        run that does not finish in time goes back to the queue for another replica."""
        self.runs.stop(self.ctx.settings.shutdown_grace_seconds)
        self.scheduler.shutdown(wait=True)
        self.client.close()
