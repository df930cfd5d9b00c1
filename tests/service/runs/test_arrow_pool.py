"""The Arrow memory pool of the process that executes a run: jemalloc (``pool.use_jemalloc``),
in a worker process and, with ``DQM_WORKER_PROCESSES=0``, in the serving process, which
switches when its run executors are made; with worker processes it keeps its own pool."""

from __future__ import annotations

from collections.abc import Iterator

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from dqm.service.app import create_app
from dqm.service.db.models import Run
from dqm.service.runs import monitors
from dqm.service.runs.draining import RunPool
from dqm.service.settings import Settings
from tests.service.data import SCHEMA
from tests.service.helpers import make_context
from tests.service.runs.test_kill_replica import PARQUET, big_parquet

ROWS = 50_000


@pytest.fixture
def mimalloc() -> Iterator[None]:
    """The process on mimalloc (the wheels' default) for the test, its own pool after."""
    original = pa.default_memory_pool()
    try:
        pa.jemalloc_memory_pool()
        pa.set_memory_pool(pa.mimalloc_memory_pool())
    except (NotImplementedError, pa.ArrowNotImplementedError):
        pytest.skip("this pyarrow has no jemalloc or no mimalloc")
    yield
    pa.set_memory_pool(original)


def _dataset(settings: Settings) -> int:
    """Dataset ``d`` with one batch of ``ROWS`` rows, and disabled drift monitor ``m`` on it;
    returns the batch's Arrow size."""
    api = settings.model_copy(update={"role": "api"})
    batch = big_parquet(ROWS, 2, 1.0)
    with TestClient(create_app(api)) as client:
        assert client.post("/v1/datasets", json={"name": "d", "schema": SCHEMA}).status_code == 201
        reference = big_parquet(ROWS, 1, 0.0)
        put = client.put("/v1/datasets/d/reference", content=reference, headers=PARQUET)
        assert put.status_code == 201, put.text
        sent = client.post("/v1/datasets/d/batches?batch_id=b1", content=batch, headers=PARQUET)
        assert sent.status_code == 201, sent.text
        monitor = {
            "name": "m",
            "dataset": "d",
            "kind": "drift",
            "schedule": {"every": "1h"},
            "window": {"last_batches": 1},
            "enabled": False,
        }
        assert client.post("/v1/monitors", json=monitor).status_code == 201
    return int(pq.read_table(pa.BufferReader(batch)).get_total_buffer_size())


def test_runs_in_a_thread_of_the_serving_process_allocate_from_jemalloc(
    settings: Settings, mimalloc: None
) -> None:
    window_bytes = _dataset(settings)
    ctx = make_context(settings.model_copy(update={"worker_processes": 0}), "replica")
    runs = RunPool(ctx)  # what the serving process's worker does at start
    assert pa.default_memory_pool().backend_name == "jemalloc"
    jemalloc = pa.jemalloc_memory_pool()
    before = jemalloc.total_bytes_allocated()
    monitors.request_run(ctx, "m")
    (executor,) = runs.executors
    executor.drain()  # claims the run, executes it in a thread of its own
    allocated = jemalloc.total_bytes_allocated() - before
    with ctx.sessions() as session:
        run = session.scalars(select(Run)).one()
    ctx.engine.dispose()
    assert run.status == "succeeded", run.error
    assert run.lease_owner is None and run.attempts == 1
    assert allocated >= window_bytes  # the window was read into jemalloc's buffers


@pytest.mark.parametrize("processes", [1, 3])
def test_a_serving_process_with_worker_processes_keeps_its_pool(
    settings: Settings, mimalloc: None, processes: int
) -> None:
    ctx = make_context(settings.model_copy(update={"worker_processes": processes}), "replica")
    runs = RunPool(ctx)
    try:
        assert len(runs.executors) == processes
        assert pa.default_memory_pool().backend_name == "mimalloc"
    finally:
        runs.close()
        ctx.engine.dispose()
