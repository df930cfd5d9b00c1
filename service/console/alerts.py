"""``/alerts``: alert episodes, current and past, filtered by state, monitor and severity."""

from __future__ import annotations

from typing import Literal

from fastapi import Query, Request
from fastapi.responses import HTMLResponse

from dqm.service.alerting.summary import find_alerts
from dqm.service.console.web import ReaderDep, ctx_of, page_router, render
from dqm.service.runs.summary import monitor_names

router = page_router()
LIMIT = 500
STATES = ("firing", "pending", "resolved")
SEVERITIES = ("critical", "warning", "info")


@router.get("/alerts")
def alerts_page(
    request: Request,
    viewer: ReaderDep,
    state: Literal["", "firing", "pending", "resolved"] = "",
    monitor: str = Query("", max_length=200),
    severity: Literal["", "critical", "warning", "info"] = "",
) -> HTMLResponse:
    with ctx_of(request).sessions() as session:
        found = find_alerts(session, state or None, monitor or None, severity or None, LIMIT)
        monitors = monitor_names(session)
    return render(
        request,
        viewer,
        "alerts.html",
        title="Alerts",
        nav="alerts",
        alerts=found,
        limit=LIMIT,
        state=state,
        monitor=monitor,
        severity=severity,
        states=STATES,
        severities=SEVERITIES,
        monitors=monitors,
    )
