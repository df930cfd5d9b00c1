"""Monitors: definition, validation against the dataset, and their runs and series."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from dqm.alerts.spec import Rule
from dqm.monitors.errors import ConflictError, InvalidInputError, NotFoundError
from dqm.monitors.kinds import parse_params
from dqm.service.alerting.actions import Action
from dqm.service.alerting.evaluate import close_monitor_alerts
from dqm.service.clock import utcnow
from dqm.service.context import Context
from dqm.service.db.models import Dataset, Hook, MetricValue, Monitor, Run
from dqm.service.db.session import transaction
from dqm.service.ingest.datasets import get_dataset
from dqm.service.paging import Key, Keyset, Paged, PageRequest
from dqm.service.runs.definition import MonitorChanges, MonitorSpec
from dqm.service.runs.metric_checks import check_rules, check_series
from dqm.service.runs.scheduler import (
    RUN_QUEUED,
    SCHEDULE_CHANGED,
    insert_run,
    next_fire_time,
)


def get_monitor(session: Session, name: str) -> Monitor:
    monitor = session.scalar(select(Monitor).where(Monitor.name == name))
    if monitor is None:
        raise NotFoundError(f"monitor {name!r} does not exist", [{"monitor": name}])
    return monitor


def get_monitor_of_dataset(session: Session, name: str) -> tuple[Monitor, str]:
    """The monitor and the name of its dataset."""
    monitor = get_monitor(session, name)
    return monitor, session.get_one(Dataset, monitor.dataset_id).name


MONITORS = Keyset("monitors", Key(Monitor.name, str))


def list_monitors(session: Session, page: PageRequest) -> Paged[tuple[Monitor, str]]:
    query = MONITORS.query(select(Monitor, Dataset.name).join(Dataset), page)
    rows = [(m, d) for m, d in session.execute(query)]
    return MONITORS.cut(rows, page, lambda r: (r[0].name,))


def _check_actions(session: Session, actions: list[Action]) -> None:
    names = {a.hook for a in actions}
    known = set(session.scalars(select(Hook.name).where(Hook.name.in_(names))))
    missing = sorted(names - known)
    if missing:
        raise InvalidInputError(
            f"actions name hooks that do not exist: {missing}",
            [{"field": "actions", "hook": h} for h in missing],
        )


def _dump(items: list[Any]) -> dict[str, Any]:
    return {"items": [i.model_dump(by_alias=True, exclude_none=True) for i in items]}


def create_monitor(ctx: Context, spec: MonitorSpec) -> tuple[Monitor, str]:
    """Store a new monitor; returns it with its dataset's name."""
    params = parse_params(spec.kind, spec.params)
    now = utcnow()
    schedule = spec.schedule.model_dump(exclude_none=True)
    try:
        with transaction(ctx.sessions) as session:
            dataset = get_dataset(session, spec.dataset)
            check_rules(dataset, spec.kind, params, spec.rules)
            _check_actions(session, spec.actions)
            monitor = Monitor(
                name=spec.name,
                dataset_id=dataset.id,
                kind=spec.kind,
                params=params.model_dump(mode="json"),
                schedule=schedule,
                window=spec.window.model_dump(exclude_none=True),
                rules=_dump(spec.rules),
                actions=_dump(spec.actions),
                enabled=spec.enabled,
                next_run_at=next_fire_time(schedule, now, now) if spec.enabled else None,
                created_at=now,
                updated_at=now,
            )
            session.add(monitor)
        SCHEDULE_CHANGED.wake()
        return monitor, dataset.name
    except IntegrityError:
        raise ConflictError(
            f"monitor {spec.name!r} already exists", [{"monitor": spec.name}]
        ) from None


def patch_monitor(ctx: Context, name: str, patch: MonitorChanges) -> tuple[Monitor, str]:
    """Apply the given changes; new rules start the alert state afresh."""
    now = utcnow()
    with transaction(ctx.sessions) as session:
        monitor = get_monitor(session, name)
        if patch.params is not None or patch.rules is not None:
            params = parse_params(
                monitor.kind, monitor.params if patch.params is None else patch.params
            )
            rules = patch.rules
            if rules is None:
                rules = [Rule.model_validate(r) for r in monitor.rules["items"]]
            check_rules(session.get_one(Dataset, monitor.dataset_id), monitor.kind, params, rules)
        if patch.params is not None:
            monitor.params = parse_params(monitor.kind, patch.params).model_dump(mode="json")
        if patch.window is not None:
            monitor.window = patch.window.model_dump(exclude_none=True)
        if patch.rules is not None:
            monitor.rules = _dump(patch.rules)
            close_monitor_alerts(session, monitor.id, now, ctx.settings.base_url())
        if patch.actions is not None:
            _check_actions(session, patch.actions)
            monitor.actions = _dump(patch.actions)
        if patch.enabled is not None:
            monitor.enabled = patch.enabled
        if patch.schedule is not None:
            monitor.schedule = patch.schedule.model_dump(exclude_none=True)
        if patch.schedule is not None or patch.enabled is not None:
            monitor.next_run_at = (
                next_fire_time(monitor.schedule, monitor.created_at, now)
                if monitor.enabled
                else None
            )
        monitor.updated_at = now
        dataset_name = session.get_one(Dataset, monitor.dataset_id).name
    SCHEDULE_CHANGED.wake()
    return monitor, dataset_name


def delete_monitor(ctx: Context, name: str) -> None:
    with transaction(ctx.sessions) as session:
        session.delete(get_monitor(session, name))


def request_run(ctx: Context, name: str) -> int:
    """Queue a manual run now; returns its id."""
    with transaction(ctx.sessions) as session:
        monitor = get_monitor(session, name)
        run_id = insert_run(session, monitor.id, utcnow(), "manual")
    if run_id is None:  # two requests in the same microsecond: the other one made the run
        raise ConflictError(f"a run of {name!r} was just requested", [{"monitor": name}])
    RUN_QUEUED.wake()
    return run_id


def run_status(ctx: Context, run_id: int) -> str:
    with ctx.sessions() as session:
        return session.get_one(Run, run_id).status


def get_run(session: Session, run_id: int) -> tuple[Run, str, list[MetricValue]]:
    run = session.get(Run, run_id)
    if run is None:
        raise NotFoundError(f"run {run_id} does not exist", [{"run_id": run_id}])
    monitor_name = session.get_one(Monitor, run.monitor_id).name
    metrics = list(
        session.scalars(
            select(MetricValue).where(MetricValue.run_id == run_id).order_by(MetricValue.id)
        )
    )
    return run, monitor_name, metrics


def series(
    session: Session, monitor: Monitor, metric: str, column: str | None, limit: int
) -> list[tuple[int, Any, float | None, bool | None]]:
    """(run id, measured at, value, drifted) of one metric, oldest first; a metric the
    monitor cannot have (or a column it cannot have it for) is a 422."""
    check_series(session, monitor, parse_params(monitor.kind, monitor.params), metric, column)
    query = (
        select(MetricValue.run_id, MetricValue.measured_at, MetricValue.value, MetricValue.drifted)
        .where(
            MetricValue.monitor_id == monitor.id,
            MetricValue.name == metric,
            MetricValue.column.is_(None) if column is None else MetricValue.column == column,
        )
        .order_by(MetricValue.run_id.desc())
        .limit(limit)
    )
    return [tuple(r) for r in reversed(session.execute(query).all())]  # type: ignore[misc]
