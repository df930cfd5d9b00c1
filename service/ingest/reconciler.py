"""Remove stored files that no database row references.

Uploads write their file before committing the row that points to it, and a dataset's rows
are deleted before its files (see ``datasets``), so a crash, a kill or an outage in between
leaves a file without a row, never a row without a file. The worker runs ``reconcile``
periodically to remove such files, and the temporary files of interrupted writes, once they
are older than ``DQM_ORPHAN_GRACE_SECONDS``: an upload still between its write and its commit
keeps its file. Files the service does not recognise are left alone.

>>> orphan_kind("datasets/3/batches/.a.parquet.1f.tmp", {3}, set())
'temporary'
>>> orphan_kind("datasets/3/batches/a.parquet", {3}, {"datasets/3/batches/a.parquet"}) is None
True
>>> orphan_kind("datasets/3/batches/a.parquet", {3}, set())
'unreferenced'
>>> orphan_kind("datasets/3/profiles/a.dqmp", {3}, set())
'unreferenced'
>>> orphan_kind("datasets/4/reports/run-1.html", {3}, set())
'unreferenced'
>>> orphan_kind("notes.txt", set(), set()) is None
True
>>> orphan_kind("backup.tmp", set(), set()) is None  # not written by dqm
True
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from dqm.service import metrics
from dqm.service.clock import utcnow
from dqm.service.context import Context
from dqm.service.db.models import Batch, Dataset, ReferenceVersion
from dqm.service.storage import PROBE_PREFIX, PROFILE_SUFFIX, TEMPORARY_SUFFIX

log = logging.getLogger(__name__)

DATA_FOLDERS = {"references": ".parquet", "batches": ".parquet", "profiles": PROFILE_SUFFIX}
CHUNK = 500  # paths per IN (...) query


def reconcile(ctx: Context, now: datetime | None = None) -> Counter[str]:
    """Remove orphan files older than the grace period; return the count removed per kind.

    The folder is listed before the database is read, so a row committed in between is seen
    and its file kept.
    """
    cutoff = (now or utcnow()) - timedelta(seconds=ctx.settings.orphan_grace_seconds)
    old = [f for f in ctx.storage.list_files() if f.modified is not None and f.modified < cutoff]
    if not old:
        return Counter()
    with ctx.sessions() as session:
        datasets = _existing_datasets(session, {_dataset_id(f.relpath) for f in old})
        referenced = _referenced(session, [f.relpath for f in old if _is_data_file(f.relpath)])
    removed: Counter[str] = Counter()
    for stored in old:
        kind = orphan_kind(stored.relpath, datasets, referenced)
        if kind is not None and ctx.storage.delete(stored.relpath):
            removed[kind] += 1
            metrics.ORPHAN_FILES_REMOVED.labels(kind).inc()
            metrics.ORPHAN_BYTES_REMOVED.labels(kind).inc(stored.size)
    if removed:
        log.info("removed orphan files: %s", dict(removed))
    return removed


def orphan_kind(relpath: str, datasets: set[int], referenced: set[str]) -> str | None:
    """``temporary``, ``unreferenced``, or None for a file to keep.

    ``datasets`` are the ids of existing datasets, ``referenced`` the paths rows point to.
    """
    name = relpath.rsplit("/", 1)[-1]
    dataset_id = _dataset_id(relpath)
    if name.endswith(TEMPORARY_SUFFIX) and (
        dataset_id is not None or name.startswith(PROBE_PREFIX)
    ):
        return "temporary"
    if dataset_id is None:
        return None
    if dataset_id not in datasets:
        return "unreferenced"  # everything of a deleted dataset
    if _is_data_file(relpath) and relpath not in referenced:
        return "unreferenced"
    return None


def _dataset_id(relpath: str) -> int | None:
    parts = relpath.split("/")
    if len(parts) >= 3 and parts[0] == "datasets" and parts[1].isascii() and parts[1].isdigit():
        return int(parts[1])
    return None


def _is_data_file(relpath: str) -> bool:
    parts = relpath.split("/")
    suffix = DATA_FOLDERS.get(parts[2]) if len(parts) == 4 else None
    return suffix is not None and parts[3].endswith(suffix)


def _existing_datasets(session: Session, ids: Iterable[int | None]) -> set[int]:
    wanted = sorted(i for i in ids if i is not None)
    found: set[int] = set()
    for chunk in _chunks(wanted):
        found.update(session.scalars(select(Dataset.id).where(Dataset.id.in_(chunk))))
    return found


def _referenced(session: Session, paths: Sequence[str]) -> set[str]:
    found: set[str] = set()
    for chunk in _chunks(paths):
        found.update(session.scalars(select(Batch.path).where(Batch.path.in_(chunk))))
        found.update(
            session.scalars(select(Batch.profile_path).where(Batch.profile_path.in_(chunk)))
        )
        found.update(
            session.scalars(select(ReferenceVersion.path).where(ReferenceVersion.path.in_(chunk)))
        )
    return found


def _chunks(items: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]
