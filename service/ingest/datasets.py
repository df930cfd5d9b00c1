"""Datasets, reference versions and production batches.

Files and rows are ordered so that a crash at any point leaves a consistent state: an upload
writes its file (under a temporary name, then moved into place) before the row that points to
it is committed, and a dataset's rows are deleted before its files. Either way the worst left
behind is a file no row references, which the reconciler removes after a grace period; a row
never points to a missing file.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from dqm.monitors.errors import ConflictError, NotFoundError
from dqm.monitors.schema import Schema
from dqm.monitors.sketches.table import profile_table
from dqm.service.alerting.retrain import record_new_reference
from dqm.service.clock import utcnow
from dqm.service.context import Context
from dqm.service.dataset_schema import schema_of
from dqm.service.db.models import Batch, Dataset, ReferenceVersion
from dqm.service.db.session import transaction
from dqm.service.ingest import validate as ingest
from dqm.service.ingest.limits import DecodeLimits
from dqm.service.outages import DataFolderUnavailableError, is_database_outage
from dqm.service.paging import Key, Keyset, Paged, PageRequest
from dqm.service.storage import (
    dataset_prefix,
    new_batch_path,
    new_profile_path,
    new_reference_path,
)
from dqm_client.profiles import codec

log = logging.getLogger(__name__)


def upload_limits(ctx: Context) -> DecodeLimits:
    """What one upload may decode to (``DQM_MAX_UPLOAD_ROWS``, ``..._DECODED_BYTES``)."""
    return DecodeLimits(ctx.settings.max_upload_rows, ctx.settings.max_upload_decoded_bytes)


def get_dataset(session: Session, name: str) -> Dataset:
    # PostgreSQL text cannot hold a NUL byte: no dataset has one in its name, and the query fails.
    query = select(Dataset).where(Dataset.name == name)
    dataset = None if "\x00" in name else session.scalar(query)
    if dataset is None:
        raise NotFoundError(f"dataset {name!r} does not exist", [{"dataset": name}])
    return dataset


DATASETS = Keyset("datasets", Key(Dataset.name, str))
REFERENCES = Keyset("references", Key(ReferenceVersion.version, int, descending=True))
BATCHES = Keyset(
    "batches",
    Key(Batch.received_at, datetime, descending=True),
    Key(Batch.id, int, descending=True),
)


def list_datasets(session: Session, page: PageRequest) -> Paged[Dataset]:
    rows = list(session.scalars(DATASETS.query(select(Dataset), page)))
    return DATASETS.cut(rows, page, lambda d: (d.name,))


def create_dataset(ctx: Context, name: str, schema: Schema | None) -> Dataset:
    try:
        with transaction(ctx.sessions) as session:
            dataset = Dataset(
                name=name,
                schema_json=schema.model_dump(by_alias=True, exclude_none=True) if schema else None,
                schema_inferred=False,
                created_at=utcnow(),
            )
            session.add(dataset)
        return dataset
    except IntegrityError:
        raise ConflictError(f"dataset {name!r} already exists", [{"dataset": name}]) from None


def delete_dataset(ctx: Context, name: str) -> None:
    """Delete a dataset's rows, then its files.

    An unwritable data folder fails the call before anything is deleted, so it can be retried.
    Files that still fail to go after the rows are gone are unreferenced: the reconciler
    removes them.
    """
    ctx.storage.check_writable()
    with transaction(ctx.sessions) as session:
        dataset = get_dataset(session, name)
        dataset_id = dataset.id
        session.delete(dataset)
    try:
        ctx.storage.delete_prefix(dataset_prefix(dataset_id))
    except DataFolderUnavailableError as exc:
        log.warning(
            "dataset %r deleted; its files stay until the reconciler removes them (%s)",
            name,
            exc.reason,
        )


def discard_files(ctx: Context, paths: str | list[str], failure: Exception) -> None:
    """Remove the files of an upload whose transaction failed with ``failure``.

    When the database went away the commit may still have happened (a connection lost during
    COMMIT), so the file stays: the reconciler removes it only if no row references it.
    Likewise when removing fails.
    """
    if is_database_outage(failure):
        return
    for path in [paths] if isinstance(paths, str) else paths:
        with contextlib.suppress(DataFolderUnavailableError):
            ctx.storage.delete(path)


def upload_reference(
    ctx: Context, name: str, body: bytes, content_type: str | None
) -> tuple[ReferenceVersion, Schema]:
    """Store a new reference version and make it current; infer the schema if there is none.

    The file is written before the short transaction that numbers the version, so no
    database lock is held while Parquet is written.
    """
    table = ingest.decode(body, content_type, upload_limits(ctx))
    with ctx.sessions() as session:
        dataset = get_dataset(session, name)
        inferred = dataset.schema_json is None
        schema = ingest.infer_schema(table) if inferred else schema_of(dataset)
        dataset_id = dataset.id
    table = ingest.validate(table, schema)
    path = new_reference_path(dataset_id)
    size = ctx.storage.write_table(path, table)
    try:
        with transaction(ctx.sessions) as session:
            dataset = session.get_one(Dataset, dataset_id)
            if inferred and dataset.schema_json is not None:
                raise ConflictError(
                    f"dataset {name!r} got a schema from a concurrent upload; retry",
                    [{"dataset": name}],
                )
            latest = session.scalar(
                select(func.max(ReferenceVersion.version)).where(
                    ReferenceVersion.dataset_id == dataset_id
                )
            )
            ref = ReferenceVersion(
                dataset_id=dataset_id,
                version=(latest or 0) + 1,
                rows=table.num_rows,
                bytes=size,
                path=path,
                content_hash=ingest.content_hash(body, content_type or ""),
                created_at=utcnow(),
            )
            session.add(ref)
            if inferred:
                dataset.schema_json = schema.model_dump(by_alias=True, exclude_none=True)
                dataset.schema_inferred = True
            dataset.current_reference_version = ref.version
            record_new_reference(session, dataset_id, ref.version)
    except Exception as exc:
        discard_files(ctx, path, exc)
        raise
    return ref, schema


def list_references(
    session: Session, dataset: Dataset, page: PageRequest
) -> Paged[ReferenceVersion]:
    """Reference versions, newest first."""
    query = select(ReferenceVersion).where(ReferenceVersion.dataset_id == dataset.id)
    rows = list(session.scalars(REFERENCES.query(query, page)))
    return REFERENCES.cut(rows, page, lambda r: (r.version,))


def current_reference(session: Session, dataset: Dataset) -> ReferenceVersion:
    ref = session.scalar(
        select(ReferenceVersion).where(
            ReferenceVersion.dataset_id == dataset.id,
            ReferenceVersion.version == dataset.current_reference_version,
        )
    )
    if ref is None:
        raise ConflictError(
            f"dataset {dataset.name!r} has no reference yet", [{"dataset": dataset.name}]
        )
    return ref


@dataclass(frozen=True)
class Ingested:
    batch: Batch
    created: bool


def existing_batch(session: Session, dataset_id: int, key: str) -> Batch | None:
    return session.scalar(
        select(Batch).where(Batch.dataset_id == dataset_id, Batch.batch_key == key)
    )


def replay(batch: Batch, digest: str) -> Ingested:
    if batch.content_hash != digest:
        raise ConflictError(
            f"batch {batch.batch_key!r} was already received with other content",
            [{"batch_id": batch.batch_key, "received_at": batch.received_at.isoformat()}],
        )
    return Ingested(batch, created=False)


def ingest_batch(
    ctx: Context, name: str, body: bytes, content_type: str | None, batch_key: str | None
) -> Ingested:
    """Validate and store a production batch with its profile; idempotent by ``batch_key``."""
    digest = ingest.content_hash(body, content_type or "")
    key = batch_key or f"b-{uuid.uuid4().hex}"
    with ctx.sessions() as session:
        dataset = get_dataset(session, name)
        schema = schema_of(dataset)
        existing = existing_batch(session, dataset.id, key) if batch_key else None
        if existing is not None:
            return replay(existing, digest)
    table = ingest.decode(body, content_type, upload_limits(ctx))
    target = schema.role_column("target")
    table = ingest.validate(table, schema, allow_missing=[target.name] if target else [])
    profile = codec.encode(profile_table(table, schema))
    path, profile_path = new_batch_path(dataset.id), new_profile_path(dataset.id)
    written: list[str] = []
    try:
        size = ctx.storage.write_table(path, table)
        written.append(path)
        ctx.storage.write_bytes(profile_path, profile)
        written.append(profile_path)
    except Exception as exc:
        discard_files(ctx, written, exc)
        raise
    stored = Batch(
        dataset_id=dataset.id,
        batch_key=key,
        content_hash=digest,
        rows=table.num_rows,
        bytes=size,
        path=path,
        profile_path=profile_path,
    )
    return commit_batch(ctx, stored, written)


def commit_batch(ctx: Context, batch: Batch, written: list[str]) -> Ingested:
    """Commit the row of a batch whose files (``written``) are stored; a concurrent upload
    with the same key that committed first makes this one a replay (or a 409)."""
    batch.received_at = utcnow()
    try:
        with transaction(ctx.sessions) as session:
            session.add(batch)
        return Ingested(batch, created=True)
    except IntegrityError as exc:
        discard_files(ctx, written, exc)
        with ctx.sessions() as session:
            existing = existing_batch(session, batch.dataset_id, batch.batch_key)
        if existing is None:
            raise
        return replay(existing, batch.content_hash)
    except Exception as exc:
        discard_files(ctx, written, exc)
        raise


def list_batches(session: Session, dataset: Dataset, page: PageRequest) -> Paged[Batch]:
    """Batches, newest first."""
    query = select(Batch).where(Batch.dataset_id == dataset.id)
    rows = list(session.scalars(BATCHES.query(query, page)))
    return BATCHES.cut(rows, page, lambda b: (b.received_at, b.id))
