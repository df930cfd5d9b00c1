"""The overview, ``/``: datasets, monitors (firing first), open alerts, schedule and outbox."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import HTMLResponse

from dqm.service.alerting.summary import open_alerts, outbox_health
from dqm.service.clock import utcnow
from dqm.service.console import charts
from dqm.service.console.web import ReaderDep, ctx_of, page_router, render
from dqm.service.ingest.summary import dataset_summaries
from dqm.service.runs.summary import monitor_summaries

router = page_router()


@router.get("/")
def overview(request: Request, viewer: ReaderDep) -> HTMLResponse:
    ctx = ctx_of(request)
    now = utcnow()
    with ctx.sessions() as session:
        datasets = dataset_summaries(session)
        monitors = monitor_summaries(session, now, tick_seconds=ctx.settings.scheduler_tick_seconds)
        alerts = open_alerts(session)
        outbox = outbox_health(session)
    sparks = {m.monitor.name: charts.sparkline(m.points) for m in monitors if m.points}
    skipped = sum(m.runs_by_status.get("skipped", 0) for m in monitors)
    failed = sum(m.runs_by_status.get("failed", 0) for m in monitors)
    lags = [m.lag_seconds for m in monitors if m.lag_seconds is not None]
    return render(
        request,
        viewer,
        "overview.html",
        title="Overview",
        nav="overview",
        now=now,
        datasets=datasets,
        monitors=monitors,
        alerts=alerts,
        firing_count=sum(1 for a, _ in alerts if a.state == "firing"),
        pending_count=sum(1 for a, _ in alerts if a.state == "pending"),
        outbox=outbox,
        sparks=sparks,
        charts=bool(sparks),
        skipped=skipped,
        failed=failed,
        max_lag=max(lags) if lags else None,
        overdue=[m for m in monitors if m.overdue_seconds is not None],
    )
