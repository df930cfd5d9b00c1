"""What the console shows of datasets: batch and label counts, label coverage."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dqm.service.db.models import Batch, Dataset, Label


@dataclass(frozen=True)
class DatasetSummary:
    """One dataset's line on the overview."""

    dataset: Dataset
    batches: int
    rows: int
    bytes: int
    last_batch_at: datetime | None
    labels: int


def dataset_summaries(session: Session) -> list[DatasetSummary]:
    """Every dataset by name with its batch totals and its count of stored labels."""
    batches = {
        d: (n, rows or 0, size or 0, last)
        for d, n, rows, size, last in session.execute(
            select(
                Batch.dataset_id,
                func.count(),
                func.sum(Batch.rows),
                func.sum(Batch.bytes),
                func.max(Batch.received_at),
            ).group_by(Batch.dataset_id)
        )
    }
    labels = dict(
        session.execute(select(Label.dataset_id, func.count()).group_by(Label.dataset_id)).all()
    )
    out = []
    for dataset in session.scalars(select(Dataset).order_by(Dataset.name)):
        n, rows, size, last = batches.get(dataset.id, (0, 0, 0, None))
        labeled = labels.get(dataset.id, 0)
        out.append(DatasetSummary(dataset, n, int(rows), int(size), last, labeled))
    return out


def label_count(session: Session, dataset_id: int) -> int:
    query = select(func.count()).where(Label.dataset_id == dataset_id)
    return int(session.scalar(query) or 0)
