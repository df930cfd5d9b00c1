"""``alert.resolved`` events for alerts closed outside a run (their monitor's rules changed)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from dqm.alerts.events import ALERT_RESOLVED, AlertFields, alert_event
from dqm.service.alerting.actions import monitor_actions
from dqm.service.alerting.outbox import enqueue, hooks_by_name, subscribed_hooks
from dqm.service.db.models import Alert, Dataset, Hook, Monitor


def resolved_targets(session: Session, monitor: Monitor) -> list[Hook]:
    """Hooks subscribed to ``alert.resolved`` and hooks the monitor's actions name for it."""
    targets = {h.id: h for h in subscribed_hooks(session, ALERT_RESOLVED)}
    wanted = [
        a.hook for a in monitor_actions(monitor) if a.on == "resolved" and a.event == ALERT_RESOLVED
    ]
    for hook in hooks_by_name(session, set(wanted)).values():
        targets[hook.id] = hook
    return list(targets.values())


def resolved_fields(alert: Alert, now: datetime) -> AlertFields:
    """The alert as a run resolving it would describe it (state ``ok``, resolved ``now``)."""
    return AlertFields(
        id=alert.fingerprint,
        rule=alert.rule,
        metric=alert.metric,
        column=alert.column,
        severity=alert.severity,
        state="ok",
        value=alert.value,
        threshold=alert.threshold,
        started_at=alert.started_at,
        resolved_at=now,
    )


def enqueue_resolved(
    session: Session, monitor: Monitor, alerts: Sequence[Alert], now: datetime, base_url: str
) -> None:
    """One ``alert.resolved`` delivery per (alert, target hook), through the outbox.

    The event points at the alert's last run, the one whose value it reports.
    """
    if not alerts:
        return
    dataset = session.get_one(Dataset, monitor.dataset_id).name
    targets = resolved_targets(session, monitor)
    for alert in alerts:
        run_id = alert.last_run_id
        data = alert_event(
            "resolved",
            dataset=dataset,
            monitor=monitor.name,
            alert=resolved_fields(alert, now),
            run_id=str(run_id) if run_id is not None else None,
            run_url=f"{base_url}/v1/runs/{run_id}" if run_id is not None else None,
        )
        for hook in targets:
            enqueue(session, hook, ALERT_RESOLVED, data, now, run_id)
