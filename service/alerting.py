"""Rules → alert episodes → outbox rows, inside the run's transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from alerts.events import alert_event, alert_fields, relabel_requested, retrain_requested
from alerts.rules import Rule, Transition, evaluate, rule_name
from alerts.state import AlertState
from monitors.base import MonitorResult
from service.db.models import Alert, AlertStateRow, Dataset, Monitor, Run
from service.outbox import enqueue, hooks_by_name, subscribed_hooks


@dataclass(frozen=True)
class RunContext:
    """What the alerting step needs to know about the run being persisted."""

    run: Run
    monitor: Monitor
    dataset: Dataset
    window: dict[str, Any]
    base_url: str

    @property
    def run_url(self) -> str:
        return f"{self.base_url}/v1/runs/{self.run.id}"


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


def _notify(session: Session, rc: RunContext, ts: Sequence[Transition], now: datetime) -> None:
    actions: list[dict[str, Any]] = rc.monitor.actions.get("items", [])
    hooks = hooks_by_name(session, {a["hook"] for a in actions})
    kinds: tuple[Literal["firing", "resolved"], ...] = ("firing", "resolved")
    for kind in kinds:
        moved = [t for t in ts if t.event == kind or (kind == "firing" and t.event == "repeat")]
        if not moved:
            continue
        alert_type = f"alert.{kind}"
        targets = {h.id: h for h in subscribed_hooks(session, alert_type)}
        for action in actions:
            if action["on"] == kind and action["event"] == alert_type and action["hook"] in hooks:
                targets[hooks[action["hook"]].id] = hooks[action["hook"]]
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
                enqueue(session, hook, alert_type, data, now, rc.run.id)
        for action in actions:
            if action["on"] != kind or action["hook"] not in hooks:
                continue
            if action["event"] in ("retrain.requested", "relabel.requested") and kind == "firing":
                loop = _loop_event(session, rc, action, [t for t in moved if t.event == "firing"])
                if loop is not None:
                    enqueue(session, hooks[action["hook"]], action["event"], loop, now, rc.run.id)


def _loop_event(
    session: Session, rc: RunContext, action: dict[str, Any], fired: Sequence[Transition]
) -> dict[str, Any] | None:
    """The retrain or relabel request of one run's newly firing alerts (None: nothing new)."""
    if not fired:
        return None
    if action["event"] == "retrain.requested":
        breaches = [
            {
                "metric": t.rule.metric,
                "column": t.column,
                "value": t.value,
                "threshold": t.threshold,
                "rule": rule_name(t.rule),
                "severity": t.rule.severity,
            }
            for t in fired
        ]
        return retrain_requested(
            dataset=rc.dataset.name,
            reference_version=rc.run.reference_version,
            breaches=breaches,  # type: ignore[arg-type]
            window={k: rc.window[k] for k in ("batch_ids", "start", "end")},  # type: ignore[arg-type]
            run_id=str(rc.run.id),
            report_url=f"{rc.run_url}/report",
            request_id=f"rr_{rc.run.id}_{action['hook']}",
        )
    from service.relabel import queue_rows

    count, rows = queue_rows(session, rc.dataset.id, limit=int(action.get("budget", 100)))
    return relabel_requested(
        dataset=rc.dataset.name,
        count=count,
        rows=rows,
        export_url=f"{rc.base_url}/v1/datasets/{rc.dataset.name}/relabel-queue",
    )


def apply_rules(session: Session, rc: RunContext, result: MonitorResult, now: datetime) -> None:
    """Evaluate the monitor's rules on a successful run and record what changed."""
    rules = [Rule.model_validate(r) for r in rc.monitor.rules.get("items", [])]
    if not rules:
        return
    rows = session.scalars(select(AlertStateRow).where(AlertStateRow.monitor_id == rc.monitor.id))
    previous = {r.fingerprint: AlertState.from_dict(r.state) for r in rows}
    transitions = evaluate(rc.monitor.name, rules, result, previous, now)
    _save_states(session, rc, transitions, now)
    for t in transitions:
        _record_episode(session, rc, t, now)
    _notify(session, rc, transitions, now)


def forget_monitor_alerts(session: Session, monitor_id: int) -> None:
    session.execute(delete(AlertStateRow).where(AlertStateRow.monitor_id == monitor_id))
