"""The run page, /runs/{run_id} (owned by the run-page work: this stub only links it up)."""

from __future__ import annotations

from fastapi import Path, Request
from fastapi.responses import HTMLResponse

from dqm.service.console.web import ReaderDep, ctx_of, page_router, render
from dqm.service.runs.monitors import get_run

router = page_router()


@router.get("/runs/{run_id}")
def run_page(
    request: Request, viewer: ReaderDep, run_id: int = Path(ge=1, le=2**31 - 1)
) -> HTMLResponse:
    with ctx_of(request).sessions() as session:
        run, monitor, metrics = get_run(session, run_id)
    return render(
        request,
        viewer,
        "run.html",
        title=f"Run {run.id}",
        nav="overview",
        run=run,
        monitor=monitor,
        metrics=metrics,
        breadcrumbs=[("Overview", ()), (monitor, ("monitors", monitor)), (f"Run {run.id}", None)],
    )
