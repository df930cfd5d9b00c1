"""/v1/alerts: alert episodes, current and past."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from dqm.service.alerting.evaluate import list_alerts as list_alerts_of
from dqm.service.api.deps import SessionDep
from dqm.service.api.schemas import AlertOut

router = APIRouter(tags=["alerts"])


@router.get("/v1/alerts")
def list_alerts(
    session: SessionDep,
    state: Literal["pending", "firing", "resolved"] | None = None,
    monitor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[AlertOut]:
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
        for a, m in list_alerts_of(session, state, monitor, limit)
    ]
