"""The current window of a run: which batches, their rows, and late labels joined in."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from sqlalchemy import select
from sqlalchemy.orm import Session

from dqm.monitors.errors import InvalidInputError
from dqm.monitors.schema import Schema
from dqm.service.context import Context
from dqm.service.db.models import Batch
from dqm.service.durations import duration_seconds
from dqm.service.ingest.labels import labels_for
from dqm.service.ingest.schema_change import conform
from dqm.service.storage import Storage
from dqm_client.profiles import BatchProfile

LABEL_DELAY_COLUMN = "__label_delay_seconds"


@dataclass(frozen=True)
class Window:
    table: pa.Table
    batch_keys: list[str]
    row_batch_keys: pa.Array  # the batch id of each row of ``table`` (dictionary-encoded)
    start: datetime
    end: datetime
    # A window read as the merge of its batches' profiles (``table`` is then empty).
    profile: BatchProfile | None = None

    def describe(self) -> dict[str, Any]:
        return {
            "batch_ids": self.batch_keys,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "rows": self.profile.rows if self.profile is not None else self.table.num_rows,
            "data": "rows" if self.profile is None else "profiles",
        }


def window_batches(
    session: Session, dataset_id: int, spec: dict[str, Any], at: datetime
) -> list[Batch]:
    """Batches of the window ending at ``at`` (inclusive), oldest first."""
    query = select(Batch).where(Batch.dataset_id == dataset_id, Batch.received_at <= at)
    if spec.get("last_batches"):
        query = query.order_by(Batch.received_at.desc(), Batch.id.desc()).limit(
            int(spec["last_batches"])
        )
    else:
        since = at - timedelta(seconds=duration_seconds(spec["last"]))
        query = query.where(Batch.received_at > since).order_by(Batch.received_at.desc())
    return list(reversed(session.scalars(query).all()))


def _join_labels(
    session: Session,
    dataset_id: int,
    schema: Schema,
    table: pa.Table,
    received: pa.Array,
    labels_until: datetime | None = None,
) -> pa.Table:
    """Fill missing targets from late labels (those received by ``labels_until``, if given)
    and add the label delay in seconds."""
    id_col, target = schema.role_column("id"), schema.role_column("target")
    if id_col is None or target is None:
        return table
    ids = pc.cast(table.column(id_col.name), pa.string()).to_pylist()
    found = labels_for(session, dataset_id, (i for i in ids if i is not None))
    if labels_until is not None:
        found = {k: hit for k, hit in found.items() if hit[1] <= labels_until}
    if not found:
        return table
    values = table.column(target.name).to_pylist()
    delays: list[float | None] = [None] * len(ids)
    row_times = received.to_pylist()
    for i, row_id in enumerate(ids):
        hit = found.get(row_id) if row_id is not None else None
        if hit is None:
            continue
        label, at = hit
        values[i] = label
        delays[i] = max(0.0, (at - row_times[i]).total_seconds())
    idx = table.column_names.index(target.name)
    table = table.set_column(idx, target.name, pa.array(values, type=table.schema.field(idx).type))
    return table.append_column(LABEL_DELAY_COLUMN, pa.array(delays, type=pa.float64()))


def load_window(
    ctx: Context,
    session: Session,
    dataset_id: int,
    schema: Schema,
    spec: dict[str, Any],
    at: datetime,
) -> Window | None:
    """The window's rows with their batch ids, or None when no batch with rows falls in it
    (batches sent as profiles have none: see ``dqm.service.runs.profile_windows``)."""
    batches = [b for b in window_batches(session, dataset_id, spec, at) if b.path is not None]
    if not batches:
        return None
    return window_of(ctx, session, dataset_id, schema, batches)


def window_of(
    ctx: Context,
    session: Session,
    dataset_id: int,
    schema: Schema,
    batches: list[Batch],
    labels_until: datetime | None = None,
) -> Window:
    """The rows of ``batches`` (oldest first) with late labels joined: all of them, or those
    received by ``labels_until`` (a past run's window, as that run saw it)."""
    # batches stored before a schema change: added columns null, changed types cast
    tables = [conform(read_batch(ctx.storage, _rows_path(b)), schema) for b in batches]
    table = pa.concat_tables(tables, promote_options="permissive")
    # Each row's batch as a small integer, each batch's id and time once: no object per row.
    which = pa.array(np.repeat(np.arange(len(batches), dtype=np.int32), [len(t) for t in tables]))
    del tables
    id_col, target = schema.role_column("id"), schema.role_column("target")
    if id_col is not None and target is not None:
        times = pa.array([b.received_at for b in batches], type=pa.timestamp("us", tz="UTC"))
        received = times.take(which)
        table = _join_labels(session, dataset_id, schema, table, received, labels_until)
    keys = pa.DictionaryArray.from_arrays(which, pa.array([b.batch_key for b in batches]))
    return Window(
        table=table,
        batch_keys=[b.batch_key for b in batches],
        row_batch_keys=keys,
        start=batches[0].received_at,
        end=batches[-1].received_at,
    )


def _rows_path(batch: Batch) -> str:
    if batch.path is None:
        raise InvalidInputError(
            f"batch {batch.batch_key!r} was sent as a profile: it has no rows",
            [{"batch_id": batch.batch_key}],
        )
    return batch.path


def read_batch(storage: Storage, path: str) -> pa.Table:
    """One stored batch. On a local disk it is read one column at a time, so that decoding
    holds the buffers of one column beside the table, not those of the whole file (on an
    object store each column would cost requests: there the file is read at once)."""
    if storage.is_object_store:
        return storage.read_table(path)
    try:
        schema = pq.read_schema(storage.path(path), filesystem=storage.filesystem)
    except OSError:
        return storage.read_table(path)  # raises the storage's own error for this file
    parts = [storage.read_table(path, columns=[name]) for name in schema.names]
    if not parts:
        return storage.read_table(path)
    fields = [part.schema.field(0) for part in parts]
    return pa.Table.from_arrays(
        [part.column(0) for part in parts], schema=pa.schema(fields, metadata=schema.metadata)
    )
