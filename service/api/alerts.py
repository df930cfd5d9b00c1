"""/v1/alerts: alert episodes, current and past."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter

from dqm.service.alerting.evaluate import list_alerts as list_alerts_of
from dqm.service.api.deps import PageDep, SessionDep
from dqm.service.api.schemas import AlertOut, AlertPage

router = APIRouter(tags=["alerts"])


@router.get("/v1/alerts")
def list_alerts(
    session: SessionDep,
    page: PageDep,
    state: Literal["pending", "firing", "resolved"] | None = None,
    monitor: str | None = None,
) -> AlertPage:
    """Alert episodes, newest first."""
    found = list_alerts_of(session, state, monitor, page)
    items = [
        AlertOut(
            id=a.id,
            monitor=m,
            rule=a.rule,
            metric=a.metric,
            column=a.column,
            severity=a.severity,
            state=a.state,
            value=a.value,
            threshold=a.threshold,
            started_at=a.started_at,
            firing_at=a.firing_at,
            resolved_at=a.resolved_at,
        )
        for a, m in found.items
    ]
    return AlertPage(items=items, next_cursor=found.next_cursor)
