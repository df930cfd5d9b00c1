"""What the console shows of datasets: batch totals, references, label coverage."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dqm.monitors.schema import Schema
from dqm.service.db.models import Batch, Dataset, Label, ReferenceVersion
from dqm.service.ingest.labels import labels_for
from dqm.service.storage import Storage


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


def references(session: Session, dataset_id: int) -> list[ReferenceVersion]:
    """The dataset's reference versions, newest first."""
    query = (
        select(ReferenceVersion)
        .where(ReferenceVersion.dataset_id == dataset_id)
        .order_by(ReferenceVersion.version.desc())
    )
    return list(session.scalars(query))


def recent_batches(session: Session, dataset_id: int, limit: int) -> list[Batch]:
    """The dataset's newest batches, newest first."""
    query = (
        select(Batch)
        .where(Batch.dataset_id == dataset_id)
        .order_by(Batch.received_at.desc(), Batch.id.desc())
        .limit(limit)
    )
    return list(session.scalars(query))


@dataclass(frozen=True)
class Coverage:
    """Rows of one batch with a label: in the batch's own target column or sent later."""

    rows: int
    in_batch: int
    late: int

    @property
    def labeled(self) -> int:
        return self.in_batch + self.late

    @property
    def share(self) -> float | None:
        return self.labeled / self.rows if self.rows else None


def label_coverage(
    session: Session, storage: Storage, dataset_id: int, schema: Schema, batches: list[Batch]
) -> dict[str, Coverage]:
    """{batch id: coverage} for ``batches``; reads only their id and target columns.

    Empty when the schema has no id or no target column (labels cannot be joined).
    """
    id_col, target = schema.role_column("id"), schema.role_column("target")
    if id_col is None or target is None:
        return {}
    out: dict[str, Coverage] = {}
    for batch in batches:
        if batch.path is None:  # a batch sent as a profile: no rows to join labels to
            continue
        try:
            table = storage.read_table(batch.path, columns=[id_col.name, target.name])
        except (pa.ArrowInvalid, KeyError):  # a batch sent without its target column
            table = storage.read_table(batch.path, columns=[id_col.name])
        ids = pc.cast(table.column(id_col.name), pa.string()).to_pylist()
        has = (
            table.column(target.name).is_valid().to_pylist()
            if target.name in table.column_names
            else [False] * len(ids)
        )
        unlabeled = [i for i, h in zip(ids, has, strict=True) if not h and i is not None]
        late = labels_for(session, dataset_id, unlabeled)
        out[batch.batch_key] = Coverage(len(ids), sum(has), len(late))
    return out
