"""Changing a dataset's schema in place: fix roles, change types, add columns.

``PATCH /v1/datasets/{name}`` sends column specs: a known name replaces that column's spec,
a new name is added at the end. Columns are never removed (delete and recreate the dataset).

- Roles (and a probability column's class) only: the schema changes, nothing else.
- Added columns or changed types: the current reference is re-read through the new schema
  (``validate``: cast to the new types, added columns null) and stored as a new reference
  version, made current; a reference that does not cast is a 422 naming its rows, and nothing
  changes. The new version does not count as the new reference a retrain request waits for.
- Stored batches keep their Parquet files. A changed type is checked against every batch's
  column first (422 naming the batch and rows if one does not cast); windows then read old
  batches through :func:`conform`: added columns null, changed types cast.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import ValidationError
from sqlalchemy import func, select

from dqm.monitors.errors import ConflictError, InvalidInputError
from dqm.monitors.schema import ColumnSpec, Schema
from dqm.service.clock import utcnow
from dqm.service.context import Context
from dqm.service.db.models import Batch, Dataset, ReferenceVersion
from dqm.service.db.session import transaction
from dqm.service.ingest import validate as ingest
from dqm.service.ingest.datasets import get_dataset
from dqm.service.storage import new_reference_path


def conform(table: pa.Table, schema: Schema) -> pa.Table:
    """``table`` (a stored batch) with the schema's columns and types: as is when it has them
    (the usual case, no copy), else with added columns null and changed types cast."""
    wanted = [pa.field(c.name, ingest.canonical_type(c)) for c in schema.columns]
    if table.schema.names == schema.names and all(
        table.schema.field(f.name).type == f.type for f in wanted
    ):
        return table
    missing = [c.name for c in schema.columns if c.name not in table.column_names]
    return ingest.validate(table, schema, allow_missing=missing)


def merged(old: Schema | None, columns: list[ColumnSpec]) -> Schema:
    """``old`` with ``columns`` replacing their namesakes and the others appended."""
    specs = {c.name: c for c in (old.columns if old else [])}
    for column in columns:
        specs[column.name] = column
    dumped = [c.model_dump(by_alias=True, exclude_none=True) for c in specs.values()]
    try:
        return Schema.model_validate({"columns": dumped})
    except ValidationError as exc:
        details = [
            {"field": ".".join(map(str, e["loc"])), "message": e["msg"]} for e in exc.errors()
        ]
        raise InvalidInputError("the changed schema is not valid", details) from None


def _retyped(old: Schema, new: Schema) -> list[ColumnSpec]:
    before = {c.name: c for c in old.columns}
    return [c for c in new.columns if c.name in before and c.type != before[c.name].type]


def _check_batches(ctx: Context, batches: list[tuple[str, str]], retyped: list[ColumnSpec]) -> None:
    """Every stored batch's retyped columns cast to their new types (422 naming the batch)."""
    for key, path in batches:
        stored = pq.read_schema(ctx.storage.path(path), filesystem=ctx.storage.filesystem).names
        present = [c for c in retyped if c.name in stored]  # a column added after the batch
        if not present:
            continue
        table = ctx.storage.read_table(path, columns=[c.name for c in present])
        try:
            ingest.validate(table, Schema(columns=present))
        except InvalidInputError as exc:
            raise InvalidInputError(
                f"batch {key!r} does not cast to the new types: {exc.message}",
                [{**d, "batch_id": key} for d in exc.details],
            ) from None


def _new_reference(
    ctx: Context, dataset_id: int, path: str, new: Schema, added: list[str]
) -> tuple[str, pa.Table]:
    table = ctx.storage.read_table(path)
    try:
        table = ingest.validate(table, new, allow_missing=added)
    except InvalidInputError as exc:
        raise InvalidInputError(
            f"the current reference does not cast to the new schema: {exc.message}",
            [{**d, "reference": "current"} for d in exc.details],
        ) from None
    return new_reference_path(dataset_id), table


def patch_schema(ctx: Context, name: str, columns: list[ColumnSpec]) -> Dataset:
    """Apply column changes (see the module docstring); returns the updated dataset."""
    with ctx.sessions() as session:
        dataset = get_dataset(session, name)
        old = Schema.model_validate(dataset.schema_json) if dataset.schema_json else None
        seen = (dataset.schema_json, dataset.current_reference_version)
        ref_path = session.scalar(
            select(ReferenceVersion.path).where(
                ReferenceVersion.dataset_id == dataset.id,
                ReferenceVersion.version == dataset.current_reference_version,
            )
        )
        query = select(Batch.batch_key, Batch.path).where(Batch.dataset_id == dataset.id)
        batches = [(key, path) for key, path in session.execute(query) if path is not None]
        dataset_id = dataset.id
    new = merged(old, columns)
    added = [c.name for c in new.columns if old is None or c.name not in old.names]
    retyped = _retyped(old, new) if old else []
    if retyped:
        _check_batches(ctx, batches, retyped)
    reference = None
    if ref_path is not None and (added or retyped):
        path, table = _new_reference(ctx, dataset_id, ref_path, new, added)
        reference = (path, table, ctx.storage.write_table(path, table))
    return _commit(ctx, dataset_id, seen, new, reference)


def _commit(
    ctx: Context,
    dataset_id: int,
    seen: tuple[Any, int | None],
    new: Schema,
    reference: tuple[str, pa.Table, int] | None,
) -> Dataset:
    try:
        with transaction(ctx.sessions) as session:
            dataset = session.get_one(Dataset, dataset_id)
            if (dataset.schema_json, dataset.current_reference_version) != seen:
                raise ConflictError(
                    f"dataset {dataset.name!r} changed meanwhile (a new reference or schema); "
                    "retry",
                    [{"dataset": dataset.name}],
                )
            dataset.schema_json = new.model_dump(by_alias=True, exclude_none=True)
            dataset.schema_inferred = False
            if reference is not None:
                path, table, size = reference
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
                    content_hash="schema-change",
                    created_at=utcnow(),
                )
                session.add(ref)
                dataset.current_reference_version = ref.version
        return dataset
    except Exception:
        if reference is not None:
            ctx.storage.delete(reference[0])
        raise
