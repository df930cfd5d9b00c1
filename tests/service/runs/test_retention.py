"""Retention: old runs go in batches with their metric values and findings, leaving hourly
points whose aggregates are checked by hand; recent runs and the runs open alerts point at
stay; old deliveries, findings and points go after their own ages."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, func, select, update

from dqm.service.context import Context
from dqm.service.db.models import (
    Alert,
    Dataset,
    Delivery,
    DeliveryAttempt,
    Finding,
    MetricRollup,
    MetricValue,
    Monitor,
    Run,
)
from dqm.service.db.session import transaction
from dqm.service.runs import retention
from dqm.service.runs.worker import Worker
from dqm.service.settings import Settings
from tests.service.helpers import add_delivery, add_hook, make_context

NOW = datetime(2026, 6, 10, 12, 30, tzinfo=UTC)
H1 = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)  # two hours long past the 7-day retention
H2 = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def ctx(settings: Settings) -> Iterator[Context]:
    policy = {
        "retention_runs_days": 7,
        "retention_findings_days": 2,
        "retention_deliveries_days": 7,
        "retention_history_days": 400,
        "retention_batch_size": 2,
    }
    context = make_context(settings.model_copy(update=policy), "w")
    yield context
    context.engine.dispose()


def _monitor(ctx: Context) -> int:
    with transaction(ctx.sessions) as session:
        dataset = Dataset(name="d", schema_json=None, created_at=H1)
        session.add(dataset)
        session.flush()
        monitor = Monitor(
            name="m",
            dataset_id=dataset.id,
            kind="drift",
            params={},
            schedule={"every": "1m"},
            window={"last_batches": 1},
            rules={"items": []},
            actions={"items": []},
            enabled=False,
            created_at=H1,
            updated_at=H1,
        )
        session.add(monitor)
        session.flush()
        return monitor.id


def _run(
    ctx: Context, monitor_id: int, at: datetime, metrics: dict[tuple[str, str | None], Any]
) -> int:
    """A succeeded run at ``at`` with ``metrics`` ((name, column) -> (value, drifted))."""
    with transaction(ctx.sessions) as session:
        run = Run(
            monitor_id=monitor_id,
            scheduled_for=at,
            trigger="schedule",
            status="succeeded",
            attempts=1,
            finished_at=at,
            created_at=at,
        )
        session.add(run)
        session.flush()
        for (name, column), (value, drifted) in metrics.items():
            session.add(
                MetricValue(
                    run_id=run.id,
                    monitor_id=monitor_id,
                    name=name,
                    column=column,
                    value=value,
                    drifted=drifted,
                    status="ok" if value is not None else "skipped: constant",
                    measured_at=at,
                )
            )
        session.add(
            Finding(
                run_id=run.id,
                dataset_id=1,
                row_id=f"r{run.id}",
                score=0.5,
                reason="label_issue",
                created_at=at,
            )
        )
        return run.id


def _share(value: float | None, drifted: bool | None) -> dict[tuple[str, str | None], Any]:
    return {("share", None): (value, drifted), ("score", "age"): (value, drifted)}


def _count(ctx: Context, model: Any, *where: Any) -> int:
    with ctx.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def test_old_runs_become_hourly_points_in_batches(ctx: Context) -> None:
    monitor_id = _monitor(ctx)
    minute = timedelta(minutes=1)
    h1 = [
        _run(ctx, monitor_id, H1 + 10 * minute, _share(0.1, True)),
        _run(ctx, monitor_id, H1 + 20 * minute, _share(0.4, False)),
        _run(ctx, monitor_id, H1 + 50 * minute, _share(None, None)),  # a skipped metric
    ]
    firing_run = _run(ctx, monitor_id, H1 + 55 * minute, _share(100.0, True))
    h2 = [
        _run(ctx, monitor_id, H2 + 5 * minute, _share(2.0, True)),
        _run(ctx, monitor_id, H2 + 6 * minute, _share(4.0, True)),
    ]
    recent = _run(ctx, monitor_id, NOW - timedelta(days=1), _share(7.0, False))
    with transaction(ctx.sessions) as session:
        session.add(
            Alert(
                fingerprint="f",
                monitor_id=monitor_id,
                rule="share >= 0.3",
                metric="share",
                severity="warning",
                state="firing",
                started_at=H1,
                firing_at=H1,
                last_run_id=firing_run,
            )
        )
    deletes: list[str] = []
    event.listen(
        ctx.engine,
        "before_cursor_execute",
        lambda _c, _cur, statement, *_: (
            deletes.append(statement) if statement.startswith("DELETE FROM runs") else None
        ),
    )

    deleted = retention.purge(ctx, NOW)

    assert deleted["runs"] == 5 and len(deletes) == 3  # batches of 2, 2 and 1
    remaining = {firing_run, recent}
    assert set(_ids(ctx, Run.id)) == remaining
    assert set(_ids(ctx, MetricValue.run_id)) == remaining
    # Findings have their own, shorter age: the kept firing run's finding is past it.
    assert set(_ids(ctx, Finding.run_id)) == {recent}
    with ctx.sessions() as session:
        points = {
            (p.name, p.column, p.bucket_start): p for p in session.scalars(select(MetricRollup))
        }
    assert set(points) == {
        (n, c, h) for n, c in (("share", None), ("score", "age")) for h in (H1, H2)
    }
    first, second = points[("share", None, H1)], points[("share", None, H2)]
    # Hour 1: values 0.1, 0.4 and a skipped one; the firing alert's run (100.0) is kept raw.
    assert (first.points, first.count, first.drifted) == (3, 2, 1)
    assert first.total / first.count == pytest.approx(0.25)
    assert first.minimum == pytest.approx(0.1) and first.maximum == pytest.approx(0.4)
    assert (second.points, second.count, second.drifted) == (2, 2, 2)
    assert (second.total / second.count, second.minimum, second.maximum) == (3.0, 2.0, 4.0)
    assert _count(ctx, Alert, Alert.last_run_id == firing_run, Alert.state == "firing") == 1
    assert not set(h1 + h2) & set(_ids(ctx, Run.id))


def _ids(ctx: Context, column: Any) -> list[int]:
    with ctx.sessions() as session:
        return list(session.scalars(select(column)))


def test_each_kind_goes_after_its_own_age(ctx: Context) -> None:
    monitor_id = _monitor(ctx)
    three_days_old = _run(ctx, monitor_id, NOW - timedelta(days=3), _share(1.0, False))
    one_day_old = _run(ctx, monitor_id, NOW - timedelta(days=1), _share(1.0, False))
    hook = add_hook(ctx, "http://127.0.0.1:9/hook", "whsec_" + "A" * 32)
    delivered, pending, recent = (add_delivery(ctx, hook) for _ in range(3))
    old = NOW - timedelta(days=8)
    with transaction(ctx.sessions) as session:
        session.execute(
            update(Delivery)
            .where(Delivery.id.in_((delivered, pending)))
            .values(created_at=old, next_attempt_at=old)
        )
        session.execute(
            update(Delivery).where(Delivery.id.in_((delivered, recent))).values(status="delivered")
        )
        session.add(DeliveryAttempt(delivery_id=delivered, attempted_at=old, outcome="delivered"))
        session.add_all(
            MetricRollup(
                monitor_id=monitor_id,
                name="share",
                column=None,
                bucket_start=NOW - timedelta(days=days),
                points=1,
                count=1,
                total=1.0,
                drifted=0,
            )
            for days in (401, 399)
        )

    deleted = retention.purge(ctx, NOW)

    assert deleted == {"runs": 0, "findings": 1, "deliveries": 1, "history": 1}
    assert set(_ids(ctx, Run.id)) == {three_days_old, one_day_old}
    assert set(_ids(ctx, Finding.run_id)) == {one_day_old}
    assert set(_ids(ctx, Delivery.id)) == {pending, recent}
    assert _count(ctx, DeliveryAttempt) == 0
    assert _count(ctx, MetricRollup) == 1


def test_the_worker_runs_retention(ctx: Context) -> None:
    every = ctx.settings.model_copy(update={"retention_interval_seconds": 15})
    worker = Worker(make_context(every, "w2"))
    try:
        job = worker.scheduler.get_job("retention")
        assert job is not None and job.trigger.interval.total_seconds() == 15
    finally:
        worker.client.close()
        worker.ctx.engine.dispose()
