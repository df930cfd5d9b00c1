"""Late labels: stored by row id, joined into monitor windows by the runner."""

from __future__ import annotations

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
from dqm.service.ingest.datasets import get_dataset

MAX_LABELS = 100_000


def _key_columns(schema: Schema) -> tuple[ColumnSpec, ColumnSpec]:
    id_col, target = schema.role_column("id"), schema.role_column("target")
    if id_col is None or target is None:
        raise InvalidInputError(
            "labels need a column with role 'id' and one with role 'target' in the schema",
            [{"missing_role": r} for r, c in (("id", id_col), ("target", target)) if c is None],
        )
    return id_col, target


def _label_value(target: ColumnSpec, value: Any, index: int) -> Any:
    if value is None:
        return None
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


def parse_labels(schema: Schema, items: list[dict[str, Any]]) -> dict[str, Any]:
    """``[{"id": ..., "<target>": ...}]`` → {row id: label}; all problems reported at once."""
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
            parsed[str(row_id)] = _label_value(target, item[target.name], i)
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
        column = ctx.storage.read_table(path, columns=[id_column]).column(id_column)
        ids.update(v for v in pc.cast(column, pa.string()).to_pylist() if v is not None)
    return ids


def store_labels(ctx: Context, name: str, items: list[dict[str, Any]]) -> tuple[int, list[str]]:
    """Upsert labels; returns (matched count, unmatched ids). Unmatched labels are kept too:
    their rows may arrive later."""
    with ctx.sessions() as session:
        dataset = get_dataset(session, name)
        schema = schema_of(dataset)
        id_col, _ = _key_columns(schema)
        labels = parse_labels(schema, items)
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
