"""``/retrain``: retrain requests sent to the training pipeline and how each ended."""

from __future__ import annotations

from typing import Literal

from fastapi import Request
from fastapi.responses import HTMLResponse

from dqm.service.alerting.summary import retrain_requests
from dqm.service.console.web import ReaderDep, ctx_of, page_router, render

router = page_router()
LIMIT = 200
STATUSES = ("requested", "acknowledged", "resolved", "still_firing")


@router.get("/retrain")
def retrain_page(
    request: Request,
    viewer: ReaderDep,
    status: Literal["", "requested", "acknowledged", "resolved", "still_firing"] = "",
) -> HTMLResponse:
    with ctx_of(request).sessions() as session:
        found = retrain_requests(session, status or None, LIMIT)
    return render(
        request,
        viewer,
        "retrain.html",
        title="Retrain requests",
        nav="retrain",
        requests=found,
        status=status,
        statuses=STATUSES,
        limit=LIMIT,
    )
