"""/v1/datasets/{name}/relabel-queue: rows proposed for relabeling, best first.

JSON by default (a page: ``{"items", "next_cursor"}``); ``format=csv`` or ``format=parquet``
exports the same rows with their data, for a labeling tool (the next page's cursor in the
``x-next-cursor`` header).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel

from dqm.monitors.errors import InvalidInputError
from dqm.service import paging
from dqm.service.alerting import relabel_export
from dqm.service.alerting.relabel import QueueItem, build_queue
from dqm.service.api.deps import CtxDep, SessionDep
from dqm.service.api.schemas import Page
from dqm.service.dataset_schema import schema_of
from dqm.service.ingest.datasets import get_dataset

router = APIRouter(tags=["relabel"])
SCOPE = "relabel-queue"


class RelabelItem(BaseModel):
    row_id: str
    batch_id: str | None
    priority: float
    reasons: list[str]
    label_issue: float
    coverage: float
    uncertainty: float
    found_at: datetime | None
    details: dict[str, Any]
    row: dict[str, Any] | None


class RelabelPage(Page[RelabelItem]):
    pass


def _export(
    items: list[QueueItem], data_columns: list[str], fmt: str, headers: dict[str, str]
) -> Response:
    if fmt == "csv":
        body = relabel_export.to_csv(items, data_columns)
        return Response(body, media_type="text/csv", headers=headers)
    data = relabel_export.to_parquet(items, data_columns)
    return Response(data, media_type="application/vnd.apache.parquet", headers=headers)


@router.get("/v1/datasets/{name}/relabel-queue", response_model=RelabelPage)
def relabel_queue(
    name: str,
    ctx: CtxDep,
    session: SessionDep,
    response: Response,
    limit: Annotated[int, Query(ge=1, le=100_000)] = 100,
    cursor: Annotated[str | None, Query(max_length=2000)] = None,
    format: Literal["json", "csv", "parquet"] = "json",
    slice_column: str | None = None,
    max_slice_share: Annotated[float, Query(gt=0, le=1)] = 0.5,
) -> Response | RelabelPage:
    """The queue, best first (highest priority, then row id); ``x-total-count`` has its size."""
    dataset = get_dataset(session, name)
    schema = schema_of(dataset)
    if slice_column is not None and slice_column not in schema.names:
        raise InvalidInputError(
            f"slice_column {slice_column!r} is not a column of {name!r}",
            [{"field": "slice_column", "value": slice_column, "allowed": schema.names}],
        )
    after = None if cursor is None else paging.decode(cursor, SCOPE, [float, str])
    count, items, more = build_queue(
        session, ctx.storage, dataset.id, schema, limit, after, slice_column, max_slice_share
    )
    next_cursor = paging.encode(SCOPE, (items[-1].priority, items[-1].row_id)) if more else None
    headers = {"x-total-count": str(count)}
    if next_cursor is not None:
        headers["x-next-cursor"] = next_cursor
    if format != "json":
        return _export(items, schema.names, format, headers)
    response.headers.update(headers)
    page = [
        RelabelItem(
            row_id=i.row_id,
            batch_id=i.batch_id,
            priority=i.priority,
            reasons=i.reasons,
            label_issue=i.label_issue,
            coverage=i.coverage,
            uncertainty=i.uncertainty,
            found_at=i.found_at,
            details=i.details,
            row=i.row,
        )
        for i in items
    ]
    return RelabelPage(items=page, next_cursor=next_cursor)
