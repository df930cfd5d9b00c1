"""The relabel queue as a file for a labeling tool: CSV or Parquet, one row per queue entry.

Columns: ``row_id, batch_id, priority, reasons, label_issue, coverage, uncertainty`` and the
row's data as ``data.<column>``, the layout ``GET /v1/datasets/{name}/relabel-queue?format=``
answers with.
"""

from __future__ import annotations

import csv
import io
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from dqm.service.alerting.relabel import QueueItem

QUEUE_COLUMNS = [
    "row_id",
    "batch_id",
    "priority",
    "reasons",
    "label_issue",
    "coverage",
    "uncertainty",
]


def flat(item: QueueItem, data_columns: list[str]) -> dict[str, Any]:
    """One entry as a flat record."""
    base = {
        "row_id": item.row_id,
        "batch_id": item.batch_id,
        "priority": item.priority,
        "reasons": "+".join(item.reasons),
        "label_issue": item.label_issue,
        "coverage": item.coverage,
        "uncertainty": item.uncertainty,
    }
    row = item.row or {}
    return {**base, **{f"data.{c}": row.get(c) for c in data_columns}}


def to_csv(items: list[QueueItem], data_columns: list[str]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=QUEUE_COLUMNS + [f"data.{c}" for c in data_columns])
    writer.writeheader()
    writer.writerows(flat(i, data_columns) for i in items)
    return out.getvalue()


def to_parquet(items: list[QueueItem], data_columns: list[str]) -> bytes:
    rows = [flat(i, data_columns) for i in items]
    names = QUEUE_COLUMNS + [f"data.{c}" for c in data_columns]
    table = pa.Table.from_pylist(rows) if rows else pa.table({n: pa.array([]) for n in names})
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()
