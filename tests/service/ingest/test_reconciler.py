"""The reconciler removes old files no row references, keeps fresh and referenced ones, counts
what it removed, and cleans up after an upload the database lost."""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pyarrow as pa
import pytest

import dqm.service.ingest.datasets as svc
import dqm.service.ingest.reconciler as reconciler
from dqm.monitors.schema import Schema
from dqm.service.clock import utcnow
from dqm.service.context import Context
from dqm.service.metrics import REGISTRY
from dqm.service.outages import as_unavailable
from dqm.service.paging import PageRequest
from dqm.service.settings import Settings
from dqm.service.storage import Storage, new_batch_path
from tests.service.data import SCHEMA, frame, records
from tests.service.helpers import make_context
from tests.support.outage import DatabaseCut
from tests.support.server import running_server

JSON = "application/json"
HOUR = 3600


def rows(n: int, seed: int) -> bytes:
    return json.dumps({"rows": records(frame(n, seed))}).encode()


def with_dataset(ctx: Context) -> int:
    dataset = svc.create_dataset(ctx, "d", Schema.model_validate(SCHEMA))
    svc.upload_reference(ctx, "d", rows(50, 1), JSON)
    return dataset.id


@pytest.fixture
def ctx(settings: Settings) -> Iterator[Context]:
    context = make_context(settings, "reconciler-test")
    yield context
    context.engine.dispose()


def removed_total(name: str, kind: str) -> float:
    return REGISTRY.get_sample_value(f"dqm_orphan_{name}_removed_total", {"kind": kind}) or 0.0


def plant(root: Path, relpath: str, age_seconds: float, size: int = 100) -> Path:
    path = root / relpath
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x" * size)
    age(path, age_seconds)
    return path


def age(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


def files_under(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


def test_old_orphans_go_fresh_and_referenced_files_stay(ctx: Context) -> None:
    dataset_id = with_dataset(ctx)
    batch = svc.ingest_batch(ctx, "d", rows(20, 2), JSON, "b1").batch
    root = Path(ctx.settings.data_dir)
    referenced = files_under(root)
    for relpath in referenced:  # as old as the orphans: only the rows keep them
        age(root / relpath, 2 * HOUR)
    folder = f"datasets/{dataset_id}"
    old_orphans = {
        f"{folder}/batches/0a.parquet": ("unreferenced", 300),
        f"{folder}/references/0b.parquet": ("unreferenced", 200),
        "datasets/999999/batches/0c.parquet": ("unreferenced", 50),  # a deleted dataset's
        f"{folder}/batches/.0d.parquet.12ab.tmp": ("temporary", 70),
        ".dqm-probe-0e.tmp": ("temporary", 2),
    }
    kept = {
        f"{folder}/batches/fresh.parquet": 60.0,
        f"{folder}/batches/.fresh.parquet.34cd.tmp": 60.0,
        f"{folder}/reports/run-1.html": 2.0 * HOUR,  # a report cache of a live dataset
        "notes.tmp": 2.0 * HOUR,  # not written by dqm
    }
    for relpath, (_, size) in old_orphans.items():
        plant(root, relpath, 2 * HOUR, size)
    for relpath, seconds in kept.items():
        plant(root, relpath, seconds)
    before = {
        (name, kind): removed_total(name, kind)
        for name in ("files", "bytes")
        for kind in ("unreferenced", "temporary")
    }

    assert reconciler.reconcile(ctx) == Counter(unreferenced=3, temporary=2)

    assert files_under(root) == referenced | set(kept)
    assert batch.path is not None and ctx.storage.read_table(batch.path).num_rows == 20
    for kind in ("unreferenced", "temporary"):
        sizes = [size for k, size in old_orphans.values() if k == kind]
        assert removed_total("files", kind) - before[("files", kind)] == len(sizes)
        assert removed_total("bytes", kind) - before[("bytes", kind)] == sum(sizes)
    assert reconciler.reconcile(ctx) == Counter()  # nothing left to do


def test_object_store(ctx: Context) -> None:
    ctx.storage = Storage.from_uri("mock:///bucket/dqm")
    dataset_id = with_dataset(ctx)
    batch = svc.ingest_batch(ctx, "d", rows(20, 2), JSON, "b1").batch
    orphan = new_batch_path(dataset_id)
    ctx.storage.write_table(orphan, pa.table({"x": [1.0]}))
    listed = {f.relpath for f in ctx.storage.list_files()}
    assert {orphan, batch.path} <= listed

    assert reconciler.reconcile(ctx) == Counter()  # still within the grace period
    later = utcnow() + timedelta(seconds=ctx.settings.orphan_grace_seconds + 1)
    assert reconciler.reconcile(ctx, now=later) == Counter(unreferenced=1)
    assert {f.relpath for f in ctx.storage.list_files()} == listed - {orphan}


class CutAfterWrite(Storage):
    """Storage whose next write takes the database away once the file is in place."""

    def __init__(self, base: Storage, cut: DatabaseCut, ctx: Context) -> None:
        super().__init__(base.filesystem, base.root)
        self.cut, self.ctx = cut, ctx

    def write_table(self, relpath: str, table: pa.Table) -> int:
        size = super().write_table(relpath, table)
        self.cut.cut(self.ctx.engine)
        return size


def test_an_ingest_the_database_lost_leaves_no_file_after_reconcile(settings: Settings) -> None:
    cut = DatabaseCut(settings.database_url)
    ctx = make_context(settings.model_copy(update={"database_url": cut.url}), "outage-test")
    try:
        dataset_id = with_dataset(ctx)
        batches = Path(ctx.settings.data_dir) / f"datasets/{dataset_id}/batches"
        ctx.storage = CutAfterWrite(ctx.storage, cut, ctx)
        with pytest.raises(Exception) as failure:
            svc.ingest_batch(ctx, "d", rows(20, 2), JSON, "lost")
        assert as_unavailable(failure.value) is not None, failure.value
        cut.restore(ctx.engine)
        # The commit's outcome was unknown, so the file stayed for the reconciler to judge.
        assert len(files_under(batches)) == 1
        with ctx.sessions() as session:
            assert (
                svc.list_batches(session, svc.get_dataset(session, "d"), PageRequest(10)).items
                == []
            )
        profiles = batches.parent / "profiles"  # the batch's profile, written beside it
        assert len(files_under(profiles)) == 1
        later = utcnow() + timedelta(seconds=ctx.settings.orphan_grace_seconds + 1)
        assert reconciler.reconcile(ctx, now=later) == Counter(unreferenced=2)
        assert files_under(batches) == set() and files_under(profiles) == set()
    finally:
        ctx.engine.dispose()


def test_the_worker_reconciles_periodically(settings: Settings) -> None:
    fast = settings.model_copy(update={"reconcile_interval_seconds": 0.2})
    orphan = plant(Path(settings.data_dir), "datasets/424242/batches/0f.parquet", 2 * HOUR)
    with running_server(fast):
        deadline = time.monotonic() + 30
        while orphan.exists():
            assert time.monotonic() < deadline, "the worker never removed the orphan"
            time.sleep(0.05)
