"""/v1/retrain-requests: what was asked of the training pipeline, and how it ended."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel

from dqm.monitors.errors import NotFoundError
from dqm.service.alerting import retrain
from dqm.service.api.deps import CtxDep, PageDep, SessionDep
from dqm.service.api.schemas import Page
from dqm.service.clock import utcnow
from dqm.service.db.models import RetrainRequest

router = APIRouter(tags=["retrain"])


class RetrainRequestOut(BaseModel):
    id: str
    dataset: str
    monitor: str
    status: str
    run_id: int
    reference_version: int | None
    new_reference_version: int | None
    requested_at: datetime
    acknowledged_at: datetime | None
    closed_at: datetime | None
    checked_run_id: int | None


class RetrainRequestPage(Page[RetrainRequestOut]):
    pass


def _out(r: RetrainRequest, dataset: str, monitor: str) -> RetrainRequestOut:
    return RetrainRequestOut(
        id=f"rr_{r.id}",
        dataset=dataset,
        monitor=monitor,
        status=r.status,
        run_id=r.run_id,
        reference_version=r.reference_version,
        new_reference_version=r.new_reference_version,
        requested_at=r.requested_at,
        acknowledged_at=r.acknowledged_at,
        closed_at=r.closed_at,
        checked_run_id=r.checked_run_id,
    )


def _parse_id(request_id: str) -> int:
    digits = request_id.removeprefix("rr_")
    if not (digits.isascii() and digits.isdigit() and 0 < int(digits) < 2**31):
        raise NotFoundError(
            f"retrain request {request_id!r} does not exist", [{"retrain_request": request_id}]
        )
    return int(digits)


@router.get("/v1/retrain-requests")
def list_requests(
    session: SessionDep,
    page: PageDep,
    dataset: str | None = None,
    status: Literal["requested", "acknowledged", "resolved", "still_firing"] | None = None,
) -> RetrainRequestPage:
    """Retrain requests, newest first."""
    found = retrain.list_requests(session, dataset, status, page)
    items = [_out(r, d, m) for r, d, m in found.items]
    return RetrainRequestPage(items=items, next_cursor=found.next_cursor)


@router.get("/v1/retrain-requests/{request_id}")
def get_request(request_id: str, session: SessionDep) -> RetrainRequestOut:
    return _out(*retrain.get_request(session, _parse_id(request_id)))


@router.post("/v1/retrain-requests/{request_id}/acknowledge")
def acknowledge(request_id: str, ctx: CtxDep) -> RetrainRequestOut:
    """The training pipeline took the request (a 2xx delivery acknowledges it too)."""
    return _out(*retrain.acknowledge(ctx.sessions, _parse_id(request_id), utcnow()))
