"""The relabel queue: rows that monitors flagged, one entry per row, best first.

A row's priority combines three signals by noisy-OR, ``1 - prod(1 - p)``:
- label issue: ``1 - self-confidence`` of the given label (confident learning findings);
- coverage: ``s / (1 + s)`` of the ``uncovered`` score ``s`` (k-NN distance over the threshold,
  or category rarity), so far-out rows rank above barely-out ones;
- model uncertainty: ``1 - max(p)`` over the row's probability columns, when the schema has them.
Integrity findings (missing values, duplicates) are not labeling work and stay out of the queue.
A row leaves the queue once a label for it arrives after it was flagged. With ``slice_column``,
no value of that column takes more than ``max_slice_share`` of the rows returned.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from dqm.alerts.events import RelabelRow
from dqm.monitors.schema import Schema
from dqm.service.db.models import Batch, Finding, Label
from dqm.service.storage import Storage

QUEUED_REASONS = ("label_issue", "uncovered")


@dataclass
class QueueItem:
    row_id: str
    batch_id: str | None
    priority: float
    reasons: list[str]
    label_issue: float = 0.0
    coverage: float = 0.0
    uncertainty: float = 0.0
    found_at: datetime | None = None
    details: dict[str, Any] = field(default_factory=dict)
    row: dict[str, Any] | None = None


def _open_findings(session: Session, dataset_id: int) -> list[Finding]:
    relabeled = (
        select(Label.id)
        .where(
            Label.dataset_id == dataset_id,
            Label.row_id == Finding.row_id,
            Label.received_at > Finding.created_at,
        )
        .exists()
    )
    query = select(Finding).where(
        and_(Finding.dataset_id == dataset_id, Finding.reason.in_(QUEUED_REASONS), ~relabeled)
    )
    return list(session.scalars(query))


def _signal(finding: Finding) -> float:
    if finding.reason == "label_issue":
        return min(1.0, max(0.0, finding.score))
    return finding.score / (1.0 + finding.score) if finding.score > 0 else 0.0


def _items(findings: list[Finding]) -> dict[str, QueueItem]:
    items: dict[str, QueueItem] = {}
    for f in findings:
        item = items.setdefault(f.row_id, QueueItem(f.row_id, f.batch_key, 0.0, []))
        p = _signal(f)
        if f.reason == "label_issue" and p >= item.label_issue:
            item.label_issue = p
            item.details["label_issue"] = f.details or {}
        if f.reason == "uncovered" and p >= item.coverage:
            item.coverage = p
            item.details["uncovered"] = {"column": f.column, **(f.details or {})}
        if f.reason not in item.reasons:
            item.reasons.append(f.reason)
        item.batch_id = item.batch_id or f.batch_key
        item.found_at = max(item.found_at or f.created_at, f.created_at)
    return items


def _row_data(
    session: Session, storage: Storage, dataset_id: int, schema: Schema, items: dict[str, QueueItem]
) -> None:
    """Attach each item's row (read from its batch file) and the model's uncertainty."""
    id_col = schema.role_column("id")
    if id_col is None:
        return
    by_batch: dict[str, list[str]] = defaultdict(list)
    for item in items.values():
        if item.batch_id is not None:
            by_batch[item.batch_id].append(item.row_id)
    paths = {
        key: path
        for key, path in session.execute(
            select(Batch.batch_key, Batch.path).where(
                Batch.dataset_id == dataset_id, Batch.batch_key.in_(list(by_batch))
            )
        )
        if path is not None  # a batch sent as a profile has no rows
    }
    probs = [c for c in schema.columns if c.role == "prediction_probability"]
    for key, ids in by_batch.items():
        if key not in paths:
            continue
        table = storage.read_table(paths[key])
        wanted = pc.is_in(pc.cast(table.column(id_col.name), pa.string()), pa.array(ids))
        for row in table.filter(wanted).to_pylist():
            item = items[str(row[id_col.name])]
            item.row = row
            values = [row[c.name] for c in probs if row.get(c.name) is not None]
            if values:
                item.uncertainty = float(np.clip(1.0 - max(values), 0.0, 1.0))


def _select(
    items: list[QueueItem], limit: int, slice_column: str | None, share: float
) -> list[QueueItem]:
    if slice_column is None:
        return items[:limit]
    cap = max(1, math.ceil(limit * share))
    taken: dict[Any, int] = defaultdict(int)
    chosen: list[QueueItem] = []
    for item in items:
        value = (item.row or {}).get(slice_column)
        if taken[value] >= cap:
            continue
        taken[value] += 1
        chosen.append(item)
        if len(chosen) >= limit:
            break
    return chosen


def build_queue(
    session: Session,
    storage: Storage,
    dataset_id: int,
    schema: Schema,
    limit: int,
    after: tuple[float, str] | None = None,
    slice_column: str | None = None,
    max_slice_share: float = 0.5,
) -> tuple[int, list[QueueItem], bool]:
    """(rows in the queue, the selected page of it, whether rows follow it), best first.

    ``after`` is the (priority, row id) of the previous page's last row. With a slice cap, each
    page applies the cap to itself; rows a page skipped for its cap are not revisited.
    """
    items = _items(_open_findings(session, dataset_id))
    _row_data(session, storage, dataset_id, schema, items)
    for item in items.values():
        item.priority = 1.0 - (1 - item.label_issue) * (1 - item.coverage) * (1 - item.uncertainty)
    ranked = sorted(items.values(), key=lambda i: (-i.priority, i.row_id))
    if after is not None:
        ranked_after = (-after[0], after[1])
        rest = [i for i in ranked if (-i.priority, i.row_id) > ranked_after]
    else:
        rest = ranked
    chosen = _select(rest, limit, slice_column, max_slice_share)
    more = bool(chosen) and rest[-1] is not chosen[-1]
    return len(ranked), chosen, more


def queue_rows(
    session: Session, storage: Storage, dataset_id: int, schema: Schema, limit: int
) -> tuple[int, list[RelabelRow]]:
    """The queue as event rows (``id``, ``batch_id``, ``score`` = priority, ``reason``)."""
    count, items, _ = build_queue(session, storage, dataset_id, schema, limit)
    return count, [
        RelabelRow(id=i.row_id, batch_id=i.batch_id, score=i.priority, reason="+".join(i.reasons))
        for i in items
    ]
