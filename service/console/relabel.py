"""The relabel queue: ``/relabel`` (per dataset) and ``/relabel/{dataset}``: sortable rows
with their reasons, scores and data, a form per row for the corrected label (stored by the
labels ingest function, as ``POST /v1/datasets/{name}/labels``), and CSV/Parquet exports."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse

from dqm.monitors.errors import InvalidInputError
from dqm.monitors.schema import Schema
from dqm.service.alerting import relabel_export
from dqm.service.alerting.relabel import QueueItem, build_queue
from dqm.service.alerting.summary import open_queue_sizes
from dqm.service.console.web import (
    ReaderDep,
    action_form,
    base_path,
    ctx_of,
    page_router,
    render,
    url_builder,
)
from dqm.service.context import Context
from dqm.service.dataset_schema import schema_of
from dqm.service.ingest import labels
from dqm.service.ingest.datasets import get_dataset
from dqm.service.ingest.summary import dataset_summaries

router = page_router()
QUEUE_MAX = 100_000
SortKey = Literal["priority", "label_issue", "coverage", "uncertainty", "row_id", "found_at"]
SORTS: tuple[str, ...] = (
    "priority",
    "label_issue",
    "coverage",
    "uncertainty",
    "row_id",
    "found_at",
)


def _queue(ctx: Context, name: str) -> tuple[Any, Schema, int, list[QueueItem]]:
    with ctx.sessions() as session:
        dataset = get_dataset(session, name)
        schema = schema_of(dataset)
        found = build_queue(session, ctx.storage, dataset.id, schema, QUEUE_MAX)
    return dataset, schema, found[0], found[1]


def _schema(ctx: Context, name: str) -> Schema:
    with ctx.sessions() as session:
        return schema_of(get_dataset(session, name))


def _sorted(items: list[QueueItem], sort: str, order: str) -> list[QueueItem]:
    """By ``sort`` (missing values last), ties by row id ascending, as the API orders."""
    by_id = sorted(items, key=lambda i: i.row_id)
    present = [i for i in by_id if getattr(i, sort) is not None]
    missing = [i for i in by_id if getattr(i, sort) is None]
    ranked = sorted(present, key=lambda i: getattr(i, sort), reverse=order == "desc")
    return ranked + missing


@router.get("/relabel")
def relabel_index(request: Request, viewer: ReaderDep) -> HTMLResponse:
    with ctx_of(request).sessions() as session:
        datasets = dataset_summaries(session)
        sizes = open_queue_sizes(session)
    return render(
        request,
        viewer,
        "relabel_index.html",
        title="Relabel queue",
        nav="relabel",
        datasets=datasets,
        sizes=sizes,
    )


@router.get("/relabel/{name}")
def relabel_page(
    request: Request,
    name: str,
    viewer: ReaderDep,
    sort: SortKey = "priority",
    order: Literal["asc", "desc"] = "desc",
    limit: int = 100,
    labeled: str | None = None,
) -> HTMLResponse:
    dataset, schema, count, items = _queue(ctx_of(request), name)
    shown = _sorted(items, sort, order)[: max(1, min(limit, 1000))]
    target = schema.role_column("target")
    classes = sorted({c.class_ for c in schema.columns if c.class_})
    return render(
        request,
        viewer,
        "relabel.html",
        title=f"Relabel queue of {dataset.name}",
        nav="relabel",
        breadcrumbs=[("Relabel queue", ("relabel",)), (dataset.name, None)],
        dataset=dataset,
        schema=schema,
        count=count,
        items=shown,
        sort=sort,
        order=order,
        limit=limit,
        sorts=SORTS,
        target=target,
        classes=classes,
        may_label=viewer.can("ingest") and target is not None,
        notice=f"Label stored for row {labeled}: it left the queue." if labeled else None,
    )


def _label_value(schema: Schema, raw: str) -> Any:
    target = schema.role_column("target")
    if target is None:
        raise InvalidInputError("this dataset has no target column to label")
    text = raw.strip()
    if not text:
        raise InvalidInputError("the corrected label is empty")
    if target.type == "numerical":
        try:
            return float(text)
        except ValueError:
            message = f"{target.name!r} is numerical: {text!r} is not a number"
            raise InvalidInputError(message) from None
    return text


@router.post("/relabel/{name}/labels")
async def submit_label(request: Request, name: str) -> Response:
    """Store one corrected label through the labels ingest function (ingest scope)."""
    fields = await action_form(request, "ingest")
    ctx = ctx_of(request)
    schema = await run_in_threadpool(_schema, ctx, name)
    row_id = fields.get("row_id", "").strip()
    if not row_id:
        raise InvalidInputError("the form names no row")
    target = schema.role_column("target")
    value = _label_value(schema, fields.get("label", ""))
    item = {"id": row_id, target.name if target else "label": value}
    await run_in_threadpool(labels.store_labels, ctx, name, [item])
    back = url_builder(base_path(request))(
        "relabel",
        name,
        sort=fields.get("sort") if fields.get("sort") in SORTS else None,
        order=fields.get("order") if fields.get("order") in ("asc", "desc") else None,
        labeled=row_id,
    )
    return RedirectResponse(back, status_code=303)


@router.get("/relabel/{name}/export.csv")
def export_csv(request: Request, name: str, viewer: ReaderDep) -> Response:
    _, schema, count, items = _queue(ctx_of(request), name)
    body = relabel_export.to_csv(items, schema.names)
    return _download(body.encode(), "text/csv; charset=utf-8", f"{name}-relabel.csv", count)


@router.get("/relabel/{name}/export.parquet")
def export_parquet(request: Request, name: str, viewer: ReaderDep) -> Response:
    _, schema, count, items = _queue(ctx_of(request), name)
    body = relabel_export.to_parquet(items, schema.names)
    kind = "application/vnd.apache.parquet"
    return _download(body, kind, f"{name}-relabel.parquet", count)


def _download(body: bytes, media_type: str, filename: str, count: int) -> Response:
    safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in filename)
    headers = {
        "Content-Disposition": f'attachment; filename="{safe}"',
        "x-total-count": str(count),
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
    }
    return Response(body, media_type=media_type, headers=headers)
