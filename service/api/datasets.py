"""/v1/datasets: datasets, reference versions, batches, labels and the relabel queue."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query, Request, Response, status
from fastapi.concurrency import run_in_threadpool

from dqm.monitors.errors import DqmError
from dqm.monitors.schema import Schema
from dqm.service import metrics
from dqm.service.api.deps import CtxDep, PageDep, SessionDep, read_body
from dqm.service.api.schemas import (
    BatchOut,
    BatchPage,
    DatasetCreate,
    DatasetOut,
    DatasetPage,
    DatasetPatch,
    LabelsIn,
    LabelsOut,
    ReferenceOut,
    ReferencePage,
)
from dqm.service.db.models import Batch, Dataset
from dqm.service.ingest import datasets as svc
from dqm.service.ingest import labels, profiles, schema_change

router = APIRouter(prefix="/v1/datasets", tags=["datasets"])
# A batch key (query ``batch_id`` or header ``Idempotency-Key``): letters, digits, _ . : -
BATCH_KEY = r"^[\w.:-]+$"

TABLE_CONTENT: dict[str, Any] = {
    "text/csv": {"schema": {"type": "string"}},
    "application/vnd.apache.parquet": {"schema": {"type": "string", "format": "binary"}},
    "application/vnd.apache.arrow.stream": {"schema": {"type": "string", "format": "binary"}},
}
DATA_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {"type": "object"}}, **TABLE_CONTENT},
    }
}


def dataset_out(d: Dataset) -> DatasetOut:
    return DatasetOut(
        name=d.name,
        schema_=Schema.model_validate(d.schema_json) if d.schema_json else None,
        schema_inferred=d.schema_inferred,
        current_reference_version=d.current_reference_version,
        created_at=d.created_at,
    )


def batch_out(b: Batch) -> BatchOut:
    return BatchOut(
        batch_id=b.batch_key, rows=b.rows, received_at=b.received_at, bytes=b.bytes, kind=b.kind
    )


@router.post("", status_code=status.HTTP_201_CREATED, response_model_by_alias=True)
def create_dataset(body: DatasetCreate, ctx: CtxDep) -> DatasetOut:
    return dataset_out(svc.create_dataset(ctx, body.name, body.schema_))


@router.get("")
def list_datasets(session: SessionDep, page: PageDep) -> DatasetPage:
    found = svc.list_datasets(session, page)
    return DatasetPage(items=[dataset_out(d) for d in found.items], next_cursor=found.next_cursor)


@router.get("/{name}")
def get_dataset(name: str, session: SessionDep) -> DatasetOut:
    return dataset_out(svc.get_dataset(session, name))


@router.patch("/{name}")
def patch_dataset(name: str, body: DatasetPatch, ctx: CtxDep) -> DatasetOut:
    """Fix roles, change types or add columns. Added columns or changed types make the current
    reference, cast to the new schema, a new current version (422 if it does not cast; a
    changed type is checked against the stored batches too); old batches are read with added
    columns null."""
    return dataset_out(schema_change.patch_schema(ctx, name, body.columns))


@router.delete("/{name}", status_code=status.HTTP_204_NO_CONTENT)
def delete_dataset(name: str, ctx: CtxDep) -> Response:
    svc.delete_dataset(ctx, name)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.put("/{name}/reference", status_code=status.HTTP_201_CREATED, openapi_extra=DATA_BODY)
async def upload_reference(name: str, request: Request, ctx: CtxDep) -> ReferenceOut:
    body = await read_body(request, ctx.settings.max_body_bytes)
    content_type = request.headers.get("content-type")
    ref, schema = await run_in_threadpool(svc.upload_reference, ctx, name, body, content_type)
    return ReferenceOut(
        version=ref.version,
        rows=ref.rows,
        bytes=ref.bytes,
        created_at=ref.created_at,
        current=True,
        schema_=schema,
    )


@router.get("/{name}/references")
def list_references(name: str, session: SessionDep, page: PageDep) -> ReferencePage:
    dataset = svc.get_dataset(session, name)
    found = svc.list_references(session, dataset, page)
    items = [
        ReferenceOut(
            version=r.version,
            rows=r.rows,
            bytes=r.bytes,
            created_at=r.created_at,
            current=r.version == dataset.current_reference_version,
        )
        for r in found.items
    ]
    return ReferencePage(items=items, next_cursor=found.next_cursor)


@router.post(
    "/{name}/batches",
    status_code=status.HTTP_201_CREATED,
    openapi_extra=DATA_BODY,
    responses={200: {"description": "replay of an earlier upload with the same key"}},
)
async def ingest_batch(
    name: str,
    request: Request,
    response: Response,
    ctx: CtxDep,
    batch_id: Annotated[str | None, Query(max_length=200, pattern=BATCH_KEY)] = None,
    idempotency_key: Annotated[str | None, Header(max_length=200, pattern=BATCH_KEY)] = None,
) -> BatchOut:
    try:
        body = await read_body(request, ctx.settings.max_body_bytes)
        content_type = request.headers.get("content-type")
        done = await run_in_threadpool(
            svc.ingest_batch, ctx, name, body, content_type, batch_id or idempotency_key
        )
    except DqmError as exc:
        await run_in_threadpool(metrics.count_rejection, ctx.sessions, name, exc)
        raise
    return _answered(name, done, len(body), response)


def _answered(name: str, done: svc.Ingested, size: int, response: Response) -> BatchOut:
    """Count a stored batch (a replay is a 200 and counts nothing) and answer with it."""
    if done.created:
        metrics.INGESTED_BATCHES.labels(name).inc()
        metrics.INGESTED_ROWS.labels(name).inc(done.batch.rows)
        metrics.INGESTED_BYTES.labels(name).inc(size)
    else:
        response.status_code = status.HTTP_200_OK
    return batch_out(done.batch)


PROFILE_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            media: {"schema": {"type": "string", "format": "binary"}}
            for media in profiles.PROFILE_MEDIA_TYPES
        },
    }
}


@router.post(
    "/{name}/profiles",
    status_code=status.HTTP_201_CREATED,
    openapi_extra=PROFILE_BODY,
    responses={200: {"description": "replay of an earlier upload with the same key"}},
)
async def ingest_profile(
    name: str,
    request: Request,
    response: Response,
    ctx: CtxDep,
    batch_id: Annotated[str | None, Query(max_length=200, pattern=BATCH_KEY)] = None,
    idempotency_key: Annotated[str | None, Header(max_length=200, pattern=BATCH_KEY)] = None,
) -> BatchOut:
    """A batch sent as a profile (``dqm_client.profiles.codec``, docs/profiles.md) instead of
    rows: checked against the dataset's schema, idempotent by key like a row batch."""
    try:
        body = await read_body(request, ctx.settings.max_body_bytes)
        content_type = request.headers.get("content-type")
        done = await run_in_threadpool(
            profiles.ingest_profile, ctx, name, body, content_type, batch_id or idempotency_key
        )
    except DqmError as exc:
        await run_in_threadpool(metrics.count_rejection, ctx.sessions, name, exc)
        raise
    return _answered(name, done, len(body), response)


@router.get(
    "/{name}/batches/{batch_id}/profile",
    responses={200: {"content": {profiles.PROFILE_MEDIA_TYPE: {}}}},
)
async def get_batch_profile(
    name: str, batch_id: str, ctx: CtxDep, format: Literal["json", "binary"] = "json"
) -> Any:
    """A batch's stored profile: its JSON view (counts, moments, quantiles, categories) or,
    with ``format=binary``, the codec's bytes (``dqm_client.profiles.codec.decode``)."""
    if format == "binary":
        body = await run_in_threadpool(profiles.stored_profile_bytes, ctx, name, batch_id)
        return Response(body, media_type=profiles.PROFILE_MEDIA_TYPE)
    return await run_in_threadpool(profiles.batch_profile_view, ctx, name, batch_id)


@router.get("/{name}/batches")
def list_batches(name: str, session: SessionDep, page: PageDep) -> BatchPage:
    """Batches, newest first."""
    found = svc.list_batches(session, svc.get_dataset(session, name), page)
    return BatchPage(items=[batch_out(b) for b in found.items], next_cursor=found.next_cursor)


LABELS_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": LabelsIn.model_json_schema()}, **TABLE_CONTENT},
    }
}


@router.post("/{name}/labels", openapi_extra=LABELS_BODY)
async def post_labels(name: str, request: Request, ctx: CtxDep) -> LabelsOut:
    """Labels by row id: JSON ``{"labels": [{"id", "<target>"}]}``, or a table with the id and
    target columns as CSV, Parquet or an Arrow stream (at most 100,000 per request)."""
    body = await read_body(request, ctx.settings.max_body_bytes)
    content_type = request.headers.get("content-type")
    matched, unmatched = await run_in_threadpool(
        labels.store_label_body, ctx, name, body, content_type
    )
    return LabelsOut(matched=matched, unmatched=len(unmatched), unmatched_ids=unmatched[:100])
