"""Rules → alert episodes → outbox rows, inside the run's transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from dqm.alerts.events import alert_event, alert_fields, relabel_requested, retrain_requested
from dqm.alerts.rules import Rule, SeriesKey, Transition, evaluate, rule_name
from dqm.alerts.state import AlertState
from dqm.monitors.base import MonitorResult
from dqm.service.alerting import retrain
from dqm.service.alerting.actions import Action, monitor_actions
from dqm.service.alerting.outbox import enqueue, hooks_by_name, subscribed_hooks
from dqm.service.alerting.relabel import queue_rows
from dqm.service.alerting.resolved import enqueue_resolved
from dqm.service.dataset_schema import schema_of
from dqm.service.db.models import (
    Alert,
    AlertStateRow,
    Dataset,
    Hook,
    MetricValue,
    Monitor,
    RetrainRequest,
    Run,
)
from dqm.service.paging import Key, Keyset, Paged, PageRequest
from dqm.service.storage import Storage


@dataclass(frozen=True)
class RunContext:
    """What the alerting step needs to know about the run being persisted."""

    run: Run
    monitor: Monitor
    dataset: Dataset
    window: dict[str, Any]
    base_url: str
    storage: Storage
    reference_values: dict[SeriesKey, list[float]] = field(default_factory=dict)

    @property
    def run_url(self) -> str:
        return f"{self.base_url}/v1/runs/{self.run.id}"


def monitor_rules(monitor: Monitor) -> list[Rule]:
    return [Rule.model_validate(r) for r in monitor.rules.get("items", [])]


def _open_alert(session: Session, fingerprint: str) -> Alert | None:
    query = select(Alert).where(
        Alert.fingerprint == fingerprint, Alert.state.in_(("pending", "firing"))
    )
    return session.scalar(query)


def _record_episode(session: Session, rc: RunContext, t: Transition, now: datetime) -> None:
    """Keep the alerts table in step with one transition (history is kept)."""
    alert = _open_alert(session, t.fingerprint)
    new = t.current.state
    if alert is None and new in ("pending", "firing"):
        alert = Alert(
            fingerprint=t.fingerprint,
            monitor_id=rc.monitor.id,
            rule=rule_name(t.rule),
            metric=t.rule.metric,
            column=t.column,
            severity=t.rule.severity,
            state=new,
            started_at=t.current.started_at or now,
            firing_at=now if new == "firing" else None,
        )
        session.add(alert)
    if alert is None:
        return
    if new == "ok" and alert.state == "pending":
        session.delete(alert)  # a pending alert that clears never existed (Prometheus)
        return
    if new == "firing" and alert.state != "firing":
        alert.firing_at = now
    if new == "ok":
        alert.state, alert.resolved_at = "resolved", now
    else:
        alert.state = new
    if not t.no_data:
        alert.value, alert.threshold = t.value, t.threshold
    alert.last_run_id = rc.run.id


def _save_states(session: Session, rc: RunContext, ts: Sequence[Transition], now: datetime) -> None:
    for t in ts:
        if not t.changed:
            continue
        row = session.get(AlertStateRow, t.fingerprint)
        if t.current == AlertState():
            if row is not None:
                session.delete(row)
            continue
        if row is None:
            row = AlertStateRow(fingerprint=t.fingerprint, monitor_id=rc.monitor.id)
            session.add(row)
        row.state, row.updated_at = t.current.to_dict(), now


def _alert_events(
    session: Session,
    rc: RunContext,
    ts: Sequence[Transition],
    actions: Sequence[Action],
    hooks: dict[str, Hook],
    now: datetime,
) -> None:
    """``alert.firing`` (also for reminders) and ``alert.resolved`` to subscribed hooks and to
    hooks named by matching actions; one delivery per (alert, hook)."""
    kinds: tuple[Literal["firing", "resolved"], ...] = ("firing", "resolved")
    for kind in kinds:
        moved = [t for t in ts if t.event == kind or (kind == "firing" and t.event == "repeat")]
        if not moved:
            continue
        event_type = f"alert.{kind}"
        targets = {h.id: h for h in subscribed_hooks(session, event_type)}
        for a in actions:
            if a.on == kind and a.event == event_type and a.hook in hooks:
                targets[hooks[a.hook].id] = hooks[a.hook]
        for t in moved:
            data = alert_event(
                kind,
                dataset=rc.dataset.name,
                monitor=rc.monitor.name,
                alert=alert_fields(t, now),
                run_id=str(rc.run.id),
                run_url=rc.run_url,
            )
            for hook in targets.values():
                enqueue(session, hook, event_type, data, now, rc.run.id)


def _request_retrain(
    session: Session,
    rc: RunContext,
    action: Action,
    hook: Hook,
    fired: Sequence[Transition],
    now: datetime,
) -> None:
    if not retrain.cooldown_allows(session, rc.dataset.id, action.cooldown_seconds, now):
        return
    request = RetrainRequest(
        dataset_id=rc.dataset.id,
        monitor_id=rc.monitor.id,
        hook_id=hook.id,
        run_id=rc.run.id,
        fingerprints={"items": [t.fingerprint for t in fired]},
        reference_version=rc.run.reference_version,
        status="requested",
        requested_at=now,
    )
    session.add(request)
    session.flush()
    data = retrain_requested(
        dataset=rc.dataset.name,
        reference_version=rc.run.reference_version,
        breaches=[
            {
                "metric": t.rule.metric,
                "column": t.column,
                "value": t.value,
                "threshold": t.threshold,
                "rule": rule_name(t.rule),
                "severity": t.rule.severity,
            }
            for t in fired
        ],
        window={
            "batch_ids": rc.window["batch_ids"],
            "start": rc.window["start"],
            "end": rc.window["end"],
        },
        run_id=str(rc.run.id),
        report_url=f"{rc.run_url}/report",
        request_id=f"rr_{request.id}",
    )
    delivery = enqueue(session, hook, "retrain.requested", data, now, rc.run.id)
    session.flush()
    request.delivery_id = delivery.id


def _request_relabel(
    session: Session, rc: RunContext, action: Action, hook: Hook, now: datetime
) -> None:
    count, rows = queue_rows(
        session, rc.storage, rc.dataset.id, schema_of(rc.dataset), action.relabel_budget
    )
    if count == 0:
        return
    data = relabel_requested(
        dataset=rc.dataset.name,
        count=count,
        rows=rows,
        export_url=f"{rc.base_url}/v1/datasets/{rc.dataset.name}/relabel-queue?format=csv",
    )
    enqueue(session, hook, "relabel.requested", data, now, rc.run.id)


def _loop_events(
    session: Session,
    rc: RunContext,
    ts: Sequence[Transition],
    actions: Sequence[Action],
    hooks: dict[str, Hook],
    now: datetime,
) -> None:
    """Retrain and relabel requests, once per run, for alerts that started firing in it."""
    fired = [t for t in ts if t.event == "firing"]
    if not fired:
        return
    for action in actions:
        hook = hooks.get(action.hook)
        if action.on != "firing" or hook is None:
            continue
        if action.event == "retrain.requested":
            _request_retrain(session, rc, action, hook, fired, now)
        elif action.event == "relabel.requested":
            _request_relabel(session, rc, action, hook, now)


def _history(
    session: Session, rc: RunContext, rules: Sequence[Rule]
) -> dict[SeriesKey, list[float]]:
    """Previous successful runs' values of the metrics that history baselines watch."""
    wanted = [r for r in rules if r.baseline is not None and r.baseline.baseline == "history"]
    if not wanted:
        return {}
    depth = max(r.baseline.runs or 0 for r in wanted if r.baseline is not None)
    run_ids = list(
        session.scalars(
            select(Run.id)
            .where(Run.monitor_id == rc.monitor.id, Run.status == "succeeded", Run.id != rc.run.id)
            .order_by(Run.scheduled_for.desc(), Run.id.desc())
            .limit(depth)
        )
    )
    series: dict[SeriesKey, list[float]] = {}
    query = (
        select(MetricValue.name, MetricValue.column, MetricValue.value)
        .where(MetricValue.run_id.in_(run_ids), MetricValue.name.in_({r.metric for r in wanted}))
        .order_by(MetricValue.run_id)
    )
    for name, column, value in session.execute(query):
        if value is not None:
            series.setdefault((name, column), []).append(value)
    return series


def apply_rules(session: Session, rc: RunContext, result: MonitorResult, now: datetime) -> None:
    """Evaluate the monitor's rules on a successful run and record what changed.

    Failed and skipped runs never come here, so they neither fire nor resolve anything.
    """
    rules = monitor_rules(rc.monitor)
    if rules:
        rows = session.scalars(
            select(AlertStateRow).where(AlertStateRow.monitor_id == rc.monitor.id)
        )
        previous = {r.fingerprint: AlertState.from_dict(r.state) for r in rows}
        transitions = evaluate(
            rc.monitor.name,
            rules,
            result,
            previous,
            now,
            history=_history(session, rc, rules),
            reference_bounds=rc.reference_values,
        )
        _save_states(session, rc, transitions, now)
        for t in transitions:
            _record_episode(session, rc, t, now)
        actions = monitor_actions(rc.monitor)
        hooks = hooks_by_name(session, {a.hook for a in actions})
        _alert_events(session, rc, transitions, actions, hooks, now)
        _loop_events(session, rc, transitions, actions, hooks, now)
    if rc.run.reference_version is not None:
        retrain.check_after_run(session, rc.monitor.id, rc.run.id, rc.run.reference_version, now)


def close_monitor_alerts(session: Session, monitor_id: int, now: datetime, base_url: str) -> None:
    """Rules changed: forget the rule engine's state and close the monitor's open alerts.

    Firing alerts resolve as a run would resolve them, with ``alert.resolved`` through the
    outbox, so no receiver keeps an alert open that no rule can resolve any more.
    """
    session.execute(delete(AlertStateRow).where(AlertStateRow.monitor_id == monitor_id))
    open_alerts = session.scalars(
        select(Alert).where(Alert.monitor_id == monitor_id, Alert.state.in_(("pending", "firing")))
    ).all()
    firing = [a for a in open_alerts if a.state == "firing"]
    for alert in open_alerts:
        alert.state, alert.resolved_at = "resolved", now
    if firing:
        enqueue_resolved(session, session.get_one(Monitor, monitor_id), firing, now, base_url)


ALERTS = Keyset(
    "alerts", Key(Alert.started_at, datetime, descending=True), Key(Alert.id, int, descending=True)
)


def list_alerts(
    session: Session, state: str | None, monitor: str | None, page: PageRequest
) -> Paged[tuple[Alert, str]]:
    """(alert episode, monitor name), newest first."""
    query = select(Alert, Monitor.name).join(Monitor, Monitor.id == Alert.monitor_id)
    if state is not None:
        query = query.where(Alert.state == state)
    if monitor is not None:
        query = query.where(Monitor.name == monitor)
    rows = [(a, m) for a, m in session.execute(ALERTS.query(query, page))]
    return ALERTS.cut(rows, page, lambda r: (r[0].started_at, r[0].id))
