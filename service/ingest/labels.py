"""Late labels: stored by row id, joined into monitor windows by the runner.

A request carries ``{"labels": [{"id": ..., "<target>": ...}, ...]}`` (or the bare list) as
JSON, or a table with those two columns as CSV, Parquet or an Arrow stream, decoded by
``dqm.service.ingest.decode`` under the same limits as uploads. CSV cells are text: a
numerical target's labels are read as numbers.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from dqm.monitors.errors import InvalidInputError
from dqm.monitors.schema import ColumnSpec, Schema
from dqm.service.clock import utcnow
from dqm.service.context import Context
from dqm.service.dataset_schema import schema_of
from dqm.service.db.models import Batch, Dataset, Label
from dqm.service.db.session import transaction
from dqm.service.ingest import decode
from dqm.service.ingest.datasets import get_dataset, upload_limits

MAX_LABELS = 100_000


def _key_columns(schema: Schema) -> tuple[ColumnSpec, ColumnSpec]:
    id_col, target = schema.role_column("id"), schema.role_column("target")
    if id_col is None or target is None:
        raise InvalidInputError(
            "labels need a column with role 'id' and one with role 'target' in the schema",
            [{"missing_role": r} for r, c in (("id", id_col), ("target", target)) if c is None],
        )
    return id_col, target


def _label_value(target: ColumnSpec, value: Any, index: int, text: bool = False) -> Any:
    if value is None:
        return None
    if text and target.type == "numerical" and isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            pass  # reported below as not a number
    if target.type == "numerical":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InvalidInputError(
                f"label {index}: {target.name!r} must be a number",
                [{"index": index, "column": target.name, "value": repr(value)[:80]}],
            )
        return float(value)
    if isinstance(value, dict | list):
        raise InvalidInputError(
            f"label {index}: {target.name!r} must be a scalar",
            [{"index": index, "column": target.name}],
        )
    return str(value).lower() if isinstance(value, bool) else str(value)


def parse_labels(schema: Schema, items: list[dict[str, Any]], text: bool = False) -> dict[str, Any]:
    """``[{"id": ..., "<target>": ...}]`` → {row id: label}; all problems reported at once.
    ``text``: the values come from CSV cells (numbers as text)."""
    id_col, target = _key_columns(schema)
    if len(items) > MAX_LABELS:
        raise InvalidInputError(f"at most {MAX_LABELS} labels per request, got {len(items)}")
    parsed: dict[str, Any] = {}
    problems: list[dict[str, Any]] = []
    for i, item in enumerate(items):
        row_id = item.get("id", item.get(id_col.name))
        if row_id is None or target.name not in item:
            problems.append(
                {"index": i, "problem": f"needs 'id' and {target.name!r}", "keys": sorted(item)}
            )
            continue
        try:
            parsed[str(row_id)] = _label_value(target, item[target.name], i, text)
        except InvalidInputError as exc:
            problems.extend(exc.details)
    if problems:
        raise InvalidInputError(f"{len(problems)} labels are invalid", problems[:100])
    return parsed


def known_row_ids(ctx: Context, session: Session, dataset: Dataset, id_column: str) -> set[str]:
    """Row ids of every stored batch of the dataset (reads only the id column)."""
    paths = list(session.scalars(select(Batch.path).where(Batch.dataset_id == dataset.id)))
    ids: set[str] = set()
    for path in paths:
        if path is None:  # a batch sent as a profile: no row ids
            continue
        column = ctx.storage.read_table(path, columns=[id_column]).column(id_column)
        ids.update(v for v in pc.cast(column, pa.string()).to_pylist() if v is not None)
    return ids


def _json_items(body: bytes) -> list[dict[str, Any]]:
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidInputError(
            f"the body is not JSON: {exc}", [{"problem": "malformed"}]
        ) from None
    items = data.get("labels") if isinstance(data, dict) and set(data) == {"labels"} else data
    if not isinstance(items, list) or not items:
        raise InvalidInputError(
            'send {"labels": [{"id": ..., "<target>": ...}, ...]} with at least one label',
            [{"field": "labels"}],
        )
    bad = [i for i, item in enumerate(items) if not isinstance(item, dict)]
    if bad:
        raise InvalidInputError(
            "each label must be an object",
            [{"index": i, "problem": "not an object"} for i in bad[:100]],
        )
    return items


def body_items(
    ctx: Context, body: bytes, content_type: str | None
) -> tuple[list[dict[str, Any]], bool]:
    """The labels a request body carries, and whether they are text (CSV)."""
    kind = decode.media_type(content_type)
    if kind == decode.JSON:
        return _json_items(body), False
    table = decode.decode(body, content_type, upload_limits(ctx))
    if table.num_rows > MAX_LABELS:
        raise InvalidInputError(f"at most {MAX_LABELS} labels per request, got {table.num_rows}")
    return table.to_pylist(), kind == decode.CSV


def store_label_body(
    ctx: Context, name: str, body: bytes, content_type: str | None
) -> tuple[int, list[str]]:
    """:func:`store_labels` of a request body in any accepted format."""
    with ctx.sessions() as session:
        get_dataset(session, name)  # 404 before decoding
    items, text = body_items(ctx, body, content_type)
    return store_labels(ctx, name, items, text)


def store_labels(
    ctx: Context, name: str, items: list[dict[str, Any]], text: bool = False
) -> tuple[int, list[str]]:
    """Upsert labels; returns (matched count, unmatched ids). Unmatched labels are kept too:
    their rows may arrive later."""
    with ctx.sessions() as session:
        dataset = get_dataset(session, name)
        schema = schema_of(dataset)
        id_col, _ = _key_columns(schema)
        labels = parse_labels(schema, items, text)
        known = known_row_ids(ctx, session, dataset, id_col.name)
    now = utcnow()
    rows = [
        {"dataset_id": dataset.id, "row_id": rid, "value": {"label": v}, "received_at": now}
        for rid, v in labels.items()
    ]
    with transaction(ctx.sessions) as session:
        dialect = session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        for start in range(0, len(rows), 1000):  # bounded by SQLite's variable limit
            stmt = insert(Label).values(rows[start : start + 1000])
            stmt = stmt.on_conflict_do_update(
                index_elements=["dataset_id", "row_id"],
                set_={"value": stmt.excluded.value, "received_at": stmt.excluded.received_at},
            )
            session.execute(stmt)
    unmatched = [rid for rid in labels if rid not in known]
    return len(labels) - len(unmatched), unmatched


def labels_for(
    session: Session, dataset_id: int, row_ids: Iterable[str]
) -> dict[str, tuple[Any, datetime]]:
    """{row id: (label, received_at)} for the given ids that have a label.

    A dataset with few labels (the common case: most windows have none yet) is read whole in
    one query; only when it holds many more labels than the window has rows are they looked up
    by id, in chunks.
    """
    stored = session.scalar(select(func.count()).where(Label.dataset_id == dataset_id)) or 0
    if stored == 0:
        return {}
    wanted = set(row_ids)
    query = select(Label.row_id, Label.value, Label.received_at).where(
        Label.dataset_id == dataset_id
    )
    if stored <= max(50_000, 2 * len(wanted)):
        return {
            row_id: (value["label"], at)
            for row_id, value, at in session.execute(query)
            if row_id in wanted
        }
    found: dict[str, tuple[Any, datetime]] = {}
    ordered = sorted(wanted)
    for start in range(0, len(ordered), 5000):
        chunk = query.where(Label.row_id.in_(ordered[start : start + 5000]))
        for row_id, value, at in session.execute(chunk):
            found[row_id] = (value["label"], at)
    return found
