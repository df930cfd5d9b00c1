"""/v1/monitors and /v1/runs: definitions, manual runs, run results and metric series."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Annotated

from fastapi import APIRouter, Body, Query, Request, Response, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse

from dqm.service import paging
from dqm.service.api import runs_json
from dqm.service.api.deps import CtxDep, PageDep, RowId, SessionDep
from dqm.service.api.examples import MONITOR_EXAMPLES
from dqm.service.api.schemas import (
    MetricOut,
    MonitorCreate,
    MonitorOut,
    MonitorPage,
    MonitorPatch,
    RunAccepted,
    RunOut,
    RunPage,
    RunRecordOut,
    SeriesOut,
    SeriesPoint,
)
from dqm.service.clock import utcnow
from dqm.service.context import Context
from dqm.service.db.models import MetricValue, Monitor, Run
from dqm.service.runs import listing, reports, runner
from dqm.service.runs import monitors as svc
from dqm.service.runs.run_detail import run_record

router = APIRouter(tags=["monitors"])
WAIT_SECONDS = 300.0


def monitor_out(m: Monitor, dataset: str) -> MonitorOut:
    return MonitorOut(
        name=m.name,
        dataset=dataset,
        kind=m.kind,
        params=m.params,
        schedule=m.schedule,
        window=m.window,
        rules=m.rules["items"],
        actions=m.actions["items"],
        enabled=m.enabled,
        next_run_at=m.next_run_at,
        created_at=m.created_at,
    )


def run_out(ctx: Context, run_id: int) -> RunOut:
    with ctx.sessions() as session:
        return run_view(*svc.get_run(session, run_id))


def run_view(run: Run, monitor: str, values: Sequence[MetricValue]) -> RunOut:
    return RunOut(
        id=run.id,
        monitor=monitor,
        status=run.status,
        trigger=run.trigger,
        scheduled_for=run.scheduled_for,
        started_at=run.started_at,
        finished_at=run.finished_at,
        reference_version=run.reference_version,
        window=run.window,
        error=run.error,
        metrics=[
            MetricOut(
                name=v.name,
                column=v.column,
                value=v.value,
                method=v.method,
                threshold=v.threshold,
                drifted=v.drifted,
                status=v.status,
                details=v.details,
            )
            for v in values
        ],
    )


@router.post("/v1/monitors", status_code=status.HTTP_201_CREATED)
def create_monitor(
    body: Annotated[MonitorCreate, Body(openapi_examples=MONITOR_EXAMPLES)], ctx: CtxDep
) -> MonitorOut:
    """Define a monitor. ``params`` are validated against the kind's parameters (see the
    examples for the drift options beyond Evidently: effect-size floor, multiple testing,
    column weights, per-column methods, domain classifier)."""
    return monitor_out(*svc.create_monitor(ctx, body))


@router.get("/v1/monitors")
def list_monitors(session: SessionDep, page: PageDep) -> MonitorPage:
    found = svc.list_monitors(session, page)
    items = [monitor_out(m, d) for m, d in found.items]
    return MonitorPage(items=items, next_cursor=found.next_cursor)


@router.get("/v1/monitors/{name}")
def get_monitor(name: str, session: SessionDep) -> MonitorOut:
    return monitor_out(*svc.get_monitor_of_dataset(session, name))


@router.patch("/v1/monitors/{name}")
def patch_monitor(name: str, body: MonitorPatch, ctx: CtxDep) -> MonitorOut:
    return monitor_out(*svc.patch_monitor(ctx, name, body))


@router.delete("/v1/monitors/{name}", status_code=status.HTTP_204_NO_CONTENT)
def delete_monitor(name: str, ctx: CtxDep) -> Response:
    svc.delete_monitor(ctx, name)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


async def _wait_for(ctx: Context, run_id: int) -> None:
    """Execute the run here if no worker took it yet; otherwise wait for that worker."""
    if await run_in_threadpool(runner.claim, ctx, utcnow(), run_id) == run_id:
        await run_in_threadpool(runner.execute, ctx, run_id)
        return
    deadline = asyncio.get_running_loop().time() + WAIT_SECONDS
    while asyncio.get_running_loop().time() < deadline:
        state = await run_in_threadpool(svc.run_status, ctx, run_id)
        if state not in ("queued", "running"):
            return
        await asyncio.sleep(0.2)


@router.post(
    "/v1/monitors/{name}/run",
    status_code=status.HTTP_202_ACCEPTED,
    responses={200: {"model": RunOut, "description": "with ?wait=true: the finished run"}},
)
async def run_now(
    name: str, ctx: CtxDep, response: Response, wait: bool = False
) -> RunAccepted | RunOut:
    run_id = await run_in_threadpool(svc.request_run, ctx, name)
    if not wait:
        return RunAccepted(run_id=run_id)
    await _wait_for(ctx, run_id)
    response.status_code = status.HTTP_200_OK
    return await run_in_threadpool(run_out, ctx, run_id)


@router.get("/v1/monitors/{name}/runs", response_model=RunPage)
def list_runs(name: str, session: SessionDep, page: PageDep) -> Response:
    """Runs, newest scheduled first, with their metrics."""
    monitor = svc.get_monitor(session, name)
    before = None if page.cursor is None else paging.decode(page.cursor, "runs", [int])[0]
    rows = listing.listed_runs(session, monitor, page.limit + 1, before_id=before)
    items = rows[: page.limit]
    next_cursor = paging.encode("runs", (items[-1].id,)) if len(rows) > page.limit else None
    return runs_json.page_response(items, name, next_cursor)


@router.get("/v1/runs/{run_id}")
def get_run(run_id: RowId, ctx: CtxDep) -> RunOut:
    return run_out(ctx, run_id)


@router.get("/v1/runs/{run_id}/record")
def get_run_record(run_id: RowId, ctx: CtxDep) -> RunRecordOut:
    """The params the run ran with and, for a drift run, the distributions it compared (what
    the console's run page draws)."""
    params, distributions = run_record(ctx.sessions, run_id)
    return RunRecordOut(run_id=run_id, params=params, distributions=distributions)


@router.get(
    "/v1/runs/{run_id}/report",
    response_class=HTMLResponse,
    responses={303: {"description": "not a drift run: its report is the console's run page"}},
)
def get_report(run_id: RowId, ctx: CtxDep, request: Request) -> Response:
    """A drift run's Evidently report over the run's own window (late labels the run saw
    joined), columns, methods and thresholds, sampled to DQM_REPORT_MAX_ROWS rows per side
    (the page says so). Other kinds answer 303 to the console's run page, their report of
    record (the run page is a drift run's report of record too)."""
    page = reports.run_report(ctx, run_id)
    if page is None:
        root = str(request.scope.get("root_path", "")).rstrip("/")
        return RedirectResponse(f"{root}/runs/{run_id}", status_code=303)
    return HTMLResponse(page)


@router.get("/v1/monitors/{name}/series")
def get_series(
    name: str,
    session: SessionDep,
    metric: str,
    column: str | None = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 500,
) -> SeriesOut:
    monitor = svc.get_monitor(session, name)
    points = [
        SeriesPoint(run_id=r, at=at, value=v, drifted=d)
        for r, at, v, d in svc.series(session, monitor, metric, column, limit)
    ]
    return SeriesOut(monitor=name, metric=metric, column=column, points=points)
