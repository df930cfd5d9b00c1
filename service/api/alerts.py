"""/v1/alerts: alert episodes, current and past."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from sqlalchemy import select

from service.api.deps import SessionDep
from service.api.schemas import AlertOut
from service.db.models import Alert, Monitor

router = APIRouter(tags=["alerts"])


@router.get("/v1/alerts")
def list_alerts(
    session: SessionDep,
    state: Literal["pending", "firing", "resolved"] | None = None,
    monitor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[AlertOut]:
    query = select(Alert, Monitor.name).join(Monitor, Monitor.id == Alert.monitor_id)
    if state is not None:
        query = query.where(Alert.state == state)
    if monitor is not None:
        query = query.where(Monitor.name == monitor)
    query = query.order_by(Alert.started_at.desc(), Alert.id.desc()).limit(limit)
    return [
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
        for a, m in session.execute(query)
    ]
