"""/v1/datasets/{name}/relabel-queue: rows proposed for relabeling, best first."""

from __future__ import annotations

import csv
import io
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response

from service.api.deps import SessionDep
from service.api.schemas import RelabelItem
from service.datasets import get_dataset
from service.relabel import queue_items

router = APIRouter(tags=["relabel"])


@router.get("/v1/datasets/{name}/relabel-queue", response_model=list[RelabelItem])
def relabel_queue(
    name: str,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=100_000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
    format: Literal["json", "csv"] = "json",
) -> Response | list[RelabelItem]:
    dataset = get_dataset(session, name)
    count, findings = queue_items(session, dataset.id, limit, offset)
    items = [
        RelabelItem(
            row_id=f.row_id,
            batch_id=f.batch_key,
            score=f.score,
            reason=f.reason,
            column=f.column,
            details=f.details,
            found_at=f.created_at,
        )
        for f in findings
    ]
    if format == "csv":
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["row_id", "batch_id", "score", "reason", "column", "found_at"])
        for i in items:
            writer.writerow(
                [
                    i.row_id,
                    i.batch_id or "",
                    i.score,
                    i.reason,
                    i.column or "",
                    i.found_at.isoformat(),
                ]
            )
        return Response(
            out.getvalue(), media_type="text/csv", headers={"x-total-count": str(count)}
        )
    return items
