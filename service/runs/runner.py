"""Claim a run, load its window and reference, call the monitor, persist in one transaction.

Exactly one worker holds a run at a time: a claim is a compare-and-set on the run row (with
``FOR UPDATE SKIP LOCKED`` on PostgreSQL so workers do not queue on each other), fenced by a
lease that the worker renews while it computes. A run whose worker died is claimed again
once its lease expires; after ``MAX_ATTEMPTS`` claims it is failed instead of retried forever.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Collection, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from pydantic_core import to_json
from sqlalchemy import Table, and_, insert, or_, select, update
from sqlalchemy.orm import Session

from dqm.alerts.rules import SeriesKey
from dqm.monitors.base import Metric, MonitorResult, as_profile
from dqm.monitors.drift.on_profiles import measure_profiles
from dqm.monitors.drift.params import DriftParams
from dqm.monitors.errors import DqmError
from dqm.monitors.kinds import monitor_class, parse_params
from dqm.monitors.schema import Schema
from dqm.service import metrics
from dqm.service.alerting.evaluate import RunContext, apply_rules, monitor_rules
from dqm.service.clock import utcnow
from dqm.service.context import Context
from dqm.service.dataset_schema import schema_of
from dqm.service.db.models import Dataset, Finding, MetricValue, Monitor, Run, RunMetricsJson
from dqm.service.db.session import is_postgres, rowcount, transaction
from dqm.service.ingest.datasets import current_reference
from dqm.service.runs import listing, records
from dqm.service.runs.baselines import (
    CHUNKS,
    chunk_values,
    needs_reference_baseline,
    reference_values,
)
from dqm.service.runs.profile_windows import data_choice, profile_window
from dqm.service.runs.windows import Window, window_batches, window_of

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 3


def _claimable(now: datetime) -> Any:
    return or_(
        Run.status == "queued",
        and_(Run.status == "running", Run.lease_expires_at < now),
    )


def _not_stale(now: datetime) -> Any:
    """Not a queued scheduled run whose monitor is due again: the scheduler is about to
    coalesce it into the newer run, so starting it would only add a run older than one
    interval (the misfire policy: stale runs are skipped, never executed late)."""
    return or_(
        Run.status != "queued",
        Run.trigger != "schedule",
        Monitor.next_run_at.is_(None),
        Monitor.next_run_at > now,
    )


def claim(
    ctx: Context, now: datetime, run_id: int | None = None, spare: Collection[str] = ()
) -> int | None:
    """Take the oldest claimable run (or ``run_id``); returns its id if this worker got it.

    A run whose lease owner is in ``spare`` is not taken over when its lease expires: a
    replica passes its worker processes that it knows are alive (a lease renewal late on a
    loaded machine must not make a sibling execute the run a second time)."""
    lease_until = now + timedelta(seconds=ctx.settings.run_lease_seconds)
    with transaction(ctx.sessions) as session:
        query = select(Run.id, Run.attempts).where(_claimable(now))
        if run_id is not None:
            query = query.where(Run.id == run_id)
        else:
            query = query.join(Monitor, Monitor.id == Run.monitor_id).where(_not_stale(now))
        if spare:
            query = query.where(or_(Run.lease_owner.is_(None), Run.lease_owner.not_in(spare)))
        query = query.order_by(Run.scheduled_for, Run.id).limit(1)
        if is_postgres(session):
            query = query.with_for_update(skip_locked=True, of=Run)
        row = session.execute(query).first()
        if row is None:
            return None
        if row.attempts >= MAX_ATTEMPTS:
            session.execute(
                update(Run)
                .where(Run.id == row.id, _claimable(now))
                .values(
                    status="failed",
                    finished_at=now,
                    lease_owner=None,
                    error=f"abandoned: its worker died {row.attempts} times",
                )
            )
            return None
        taken = session.execute(
            update(Run)
            .where(Run.id == row.id, _claimable(now))
            .values(
                status="running",
                lease_owner=ctx.worker_id,
                lease_expires_at=lease_until,
                started_at=now,
                attempts=Run.attempts + 1,
            )
        )
        return row.id if rowcount(taken) == 1 else None


@contextmanager
def keep_lease(ctx: Context, run_id: int) -> Iterator[None]:
    """Renew the run's lease in the background while the body computes."""
    stop = threading.Event()
    period = ctx.settings.run_lease_seconds / 3

    def renew() -> None:
        while not stop.wait(period):
            with transaction(ctx.sessions) as session:
                session.execute(
                    update(Run)
                    .where(Run.id == run_id, Run.lease_owner == ctx.worker_id)
                    .values(
                        lease_expires_at=utcnow()
                        + timedelta(seconds=ctx.settings.run_lease_seconds)
                    )
                )

    thread = threading.Thread(target=renew, name=f"lease-{run_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


@dataclass(frozen=True)
class Loaded:
    run: Run
    monitor: Monitor
    dataset: Dataset
    schema: Schema
    reference_version: int
    reference_path: str  # unique per upload: the profile cache's key
    window: Window | None


def _finish(ctx: Context, run_id: int, status: str, error: str | None, **values: Any) -> bool:
    """Close a run this worker holds; False when the lease was lost to another worker."""
    with transaction(ctx.sessions) as session:
        done = session.execute(
            update(Run)
            .where(Run.id == run_id, Run.lease_owner == ctx.worker_id, Run.status == "running")
            .values(status=status, error=error, finished_at=utcnow(), lease_owner=None, **values)
        )
        return rowcount(done) == 1


def _load(ctx: Context, run_id: int) -> Loaded:
    """Everything a run reads from the database, in one short read (no lock held after)."""
    with ctx.sessions() as session:
        run = session.get_one(Run, run_id)
        monitor = session.get_one(Monitor, run.monitor_id)
        dataset = session.get_one(Dataset, monitor.dataset_id)
        schema = schema_of(dataset)
        reference = current_reference(session, dataset)
        window = _window(ctx, session, monitor, schema, run.scheduled_for)
        return Loaded(run, monitor, dataset, schema, reference.version, reference.path, window)


def _window(
    ctx: Context, session: Session, monitor: Monitor, schema: Schema, at: datetime
) -> Window | None:
    """The window's rows, or the merge of its batches' profiles (the drift param ``data``)."""
    batches = window_batches(session, monitor.dataset_id, monitor.window, at)
    limit = ctx.settings.rows_window_max_rows
    if batches and data_choice(monitor.kind, monitor.params, batches, limit) == "profiles":
        return profile_window(ctx, schema, batches)
    with_rows = [b for b in batches if b.path is not None]  # batches sent as profiles have none
    return window_of(ctx, session, monitor.dataset_id, schema, with_rows) if with_rows else None


@dataclass(frozen=True)
class Computed:
    result: MonitorResult
    reference_values: dict[SeriesKey, list[float]]
    record: dict[str, Any] | None = None  # params and distributions compared, for its page


def _compute(ctx: Context, loaded: Loaded) -> Computed:
    assert loaded.window is not None
    profile = ctx.profiles.get(loaded.reference_path)
    if profile is None:
        table = ctx.storage.read_table(loaded.reference_path)
        profile = as_profile(table, loaded.schema).warm()
        ctx.profiles.put(loaded.reference_path, profile)
    params = parse_params(loaded.monitor.kind, loaded.monitor.params)
    monitor = monitor_class(loaded.monitor.kind)()
    if loaded.window.profile is not None:
        assert isinstance(params, DriftParams)  # only drift monitors read profiles
        result = measure_profiles(profile, loaded.window.profile, loaded.schema, params)
    else:
        result = monitor.run(profile, loaded.window.table, loaded.schema, params)
    reference: dict[SeriesKey, list[float]] = {}
    if needs_reference_baseline(monitor_rules(loaded.monitor)):
        reference = reference_values(
            ctx,
            loaded.monitor.id,
            loaded.reference_version,
            lambda: chunk_values(monitor, profile, loaded.schema, params, CHUNKS),
        )
    if loaded.window.profile is not None:  # no rows to summarize
        record = {"params": dict(loaded.monitor.params or {}), "distributions": None}
        return Computed(result, reference, record)
    run_record = records.build(
        loaded.monitor.kind,
        loaded.monitor.params,
        profile,
        loaded.window.table,
        loaded.schema,
        result,
    )
    return Computed(result, reference, run_record)


@dataclass(frozen=True)
class Outcome:
    """How a run ended, with what the process that records metrics needs to know."""

    status: str
    monitor: str
    lag_seconds: float
    duration_seconds: float


def execute(ctx: Context, run_id: int) -> str:
    """Run a claimed run to completion and record its metrics; returns its final status."""
    outcome = perform(ctx, run_id)
    record(outcome)
    return outcome.status


def record(outcome: Outcome) -> None:
    """Observe a run's lag and duration in this process's metrics (a worker process's runs
    are recorded by the serving process it reports to)."""
    metrics.RUN_LAG.labels(outcome.monitor).observe(outcome.lag_seconds)
    metrics.RUN_DURATION.labels(outcome.monitor).observe(outcome.duration_seconds)


def perform(ctx: Context, run_id: int) -> Outcome:
    """Run a claimed run to completion without touching metrics; returns how it ended."""
    started = time.monotonic()
    with ctx.sessions() as session:
        run = session.get_one(Run, run_id)
        name = session.get_one(Monitor, run.monitor_id).name
        lag = max(0.0, ((run.started_at or utcnow()) - run.scheduled_for).total_seconds())
    with keep_lease(ctx, run_id):
        try:
            loaded = _load(ctx, run_id)
            if loaded.window is None:
                status = "skipped"
                _finish(
                    ctx,
                    run_id,
                    status,
                    "no batches in the window",
                    reference_version=loaded.reference_version,
                )
            else:
                computed = _compute(ctx, loaded)
                status = _persist(ctx, run_id, loaded.window, loaded.reference_version, computed)
        except DqmError as exc:
            status = "failed"
            _finish(ctx, run_id, status, exc.message)
        except Exception as exc:  # a monitor bug must fail the run, not the worker
            log.exception("run %s failed", run_id)
            status = "failed"
            _finish(ctx, run_id, status, f"{type(exc).__name__}: {exc}")
    return Outcome(status, name, lag, time.monotonic() - started)


def metric_rows(
    metrics: Iterable[Metric], run_id: int, monitor_id: int, at: datetime
) -> list[dict[str, Any]]:
    """The ``metric_values`` rows of a run's ``metrics``, as :func:`_persist` inserts them."""
    return [
        {
            "run_id": run_id,
            "monitor_id": monitor_id,
            "name": m.name,
            "column": m.column,
            "value": m.value,
            "method": m.method,
            "threshold": m.threshold,
            "drifted": m.drifted,
            "status": m.status,
            "details": dict(m.details) or None,
            "measured_at": at,
        }
        for m in metrics
    ]


def _persist(ctx: Context, run_id: int, window: Window, version: int, computed: Computed) -> str:
    """Metrics, findings, alert transitions and outbox rows: one transaction, fenced by lease."""
    now = utcnow()
    result = computed.result
    with transaction(ctx.sessions) as session:
        run = session.get_one(Run, run_id, with_for_update=True)
        if run.lease_owner != ctx.worker_id or run.status != "running":
            log.warning("run %s: lease lost, result discarded", run_id)
            return run.status
        monitor = session.get_one(Monitor, run.monitor_id)
        dataset = session.get_one(Dataset, monitor.dataset_id)
        values = metric_rows(result.metrics, run_id, monitor.id, now)
        if values:  # one executemany: ORM objects cost more than the rows' insert (~80 a run)
            session.execute(insert(cast(Table, MetricValue.__table__)), values)
        # what run listings read: the values as listing.metrics_json would write them
        body = to_json([{f: v[f] for f in listing.METRIC_FIELDS} for v in values])
        session.add(RunMetricsJson(run_id=run_id, body=body))
        _add_findings(session, run, dataset, window, result, now)
        records.store(session, run_id, computed.record)
        run.status, run.finished_at, run.lease_owner = "succeeded", now, None
        run.reference_version, run.window, run.error = version, window.describe(), None
        session.flush()
        rc = RunContext(
            run,
            monitor,
            dataset,
            window.describe(),
            ctx.settings.base_url(),
            ctx.storage,
            computed.reference_values,
        )
        apply_rules(session, rc, result, now)
    return "succeeded"


def _add_findings(
    session: Session,
    run: Run,
    dataset: Dataset,
    window: Window,
    result: MonitorResult,
    now: datetime,
) -> None:
    if not result.findings:
        return
    schema = schema_of(dataset)
    id_col = schema.role_column("id")
    ids = window.table.column(id_col.name).to_pylist() if id_col else None
    batches = window.row_batch_keys.to_pylist()
    positions = {str(v): i for i, v in enumerate(ids)} if ids else {}
    for f in result.findings:
        pos = (
            positions.get(f.row_id)
            if ids
            else (int(f.row_id) if f.row_id.isascii() and f.row_id.isdigit() else None)
        )
        session.add(
            Finding(
                run_id=run.id,
                dataset_id=dataset.id,
                row_id=f.row_id,
                batch_key=batches[pos] if pos is not None and pos < len(batches) else None,
                score=float(f.score),
                reason=f.reason,
                column=f.column,
                details=dict(f.details) or None,
                created_at=now,
            )
        )


def work_once(ctx: Context) -> bool:
    """Claim and execute one run; False when nothing was due."""
    run_id = claim(ctx, utcnow())
    if run_id is None:
        return False
    execute(ctx, run_id)
    return True
