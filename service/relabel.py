"""The relabel queue: rows that monitors flagged, best first, one entry per row.

A row leaves the queue once a label for it arrives after it was flagged.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from alerts.events import RelabelRow
from service.db.models import Finding, Label


def _open_findings(dataset_id: int) -> Any:
    relabeled = (
        select(Label.id)
        .where(
            Label.dataset_id == dataset_id,
            Label.row_id == Finding.row_id,
            Label.received_at > Finding.created_at,
        )
        .exists()
    )
    return and_(Finding.dataset_id == dataset_id, ~relabeled)


def queue_items(
    session: Session, dataset_id: int, limit: int, offset: int = 0
) -> tuple[int, list[Finding]]:
    """(rows in the queue, the best ``limit`` of them from ``offset``): a row's best finding."""
    best = (
        select(Finding.row_id, func.max(Finding.score).label("score"))
        .where(_open_findings(dataset_id))
        .group_by(Finding.row_id)
        .subquery()
    )
    count = session.scalar(select(func.count()).select_from(best)) or 0
    ranked = (
        select(Finding)
        .join(best, and_(Finding.row_id == best.c.row_id, Finding.score == best.c.score))
        .where(Finding.dataset_id == dataset_id)
        .order_by(Finding.score.desc(), Finding.row_id, Finding.id.desc())
    )
    seen: set[str] = set()
    items: list[Finding] = []
    for finding in session.scalars(ranked):
        if finding.row_id in seen:
            continue
        seen.add(finding.row_id)
        if len(seen) > offset:
            items.append(finding)
        if len(items) >= limit:
            break
    return count, items


def queue_rows(session: Session, dataset_id: int, limit: int) -> tuple[int, list[RelabelRow]]:
    """The queue as event rows (``id``, ``batch_id``, ``score``, ``reason``)."""
    count, items = queue_items(session, dataset_id, limit)
    rows = [
        RelabelRow(id=f.row_id, batch_id=f.batch_key, score=f.score, reason=f.reason) for f in items
    ]
    return count, rows
