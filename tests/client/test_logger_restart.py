"""The Logger against a real ``dqm serve`` that is stopped for 5 s and started again while
8 threads log 100k rows: every row arrives exactly once, and ``log()`` stays fast."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import select

from dqm.service.db.models import Batch
from dqm.service.db.session import make_engine
from dqm.service.settings import Settings
from dqm_client import Client, Logger, Retry
from tests.client.servers import ServeProcess

THREADS = 8
# rows per thread logged before the stop, during the outage, and after the restart
PHASES = (4000, 5000, 3500)
CHUNK = 100
SCHEMA = {
    "columns": [
        {"name": "id", "type": "categorical", "role": "id"},
        {"name": "x", "type": "numerical"},
        {"name": "prediction", "type": "numerical", "role": "prediction"},
    ]
}


def _stored_ids(settings: Settings) -> tuple[list[str], dict[str, int]]:
    """Every stored row id, read from the batches' Parquet files, and rows per batch id."""
    engine = make_engine(settings.database_url)
    try:
        with engine.connect() as conn:
            batches = conn.execute(select(Batch.batch_key, Batch.rows, Batch.path)).all()
    finally:
        engine.dispose()
    tables = [pq.read_table(Path(settings.data_dir) / b.path, columns=["id"]) for b in batches]
    ids = pa.concat_tables(tables).column("id").to_pylist() if tables else []
    return ids, {b.batch_key: b.rows for b in batches}


def _wait(condition: object, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


@pytest.mark.slow
def test_100k_rows_from_8_threads_across_a_restart_arrive_exactly_once(
    settings: Settings, tmp_path: Path
) -> None:
    server = ServeProcess(settings, tmp_path / "serve.log")
    server.start()
    client = Client(server.url, retry=Retry(attempts=3, backoff=0.05, max_backoff=0.5))
    client.create_dataset("svc", SCHEMA)
    logger = Logger(client, "svc", flush_rows=1000, flush_seconds=0.2, max_backoff=0.5)
    gates = [threading.Barrier(THREADS + 1) for _ in PHASES]
    durations: list[list[int]] = [[] for _ in range(THREADS)]

    def work(t: int) -> None:
        clock, spent, i = time.perf_counter_ns, durations[t], 0
        for phase, rows in enumerate(PHASES):
            gates[phase].wait()
            for _ in range(rows // CHUNK):
                for _ in range(CHUNK):
                    row = {"id": f"{t}-{i}", "x": i * 0.5, "prediction": (i % 7) / 7}
                    start = clock()
                    logger.log(row)
                    spent.append(clock() - start)
                    i += 1
                time.sleep(0.02)  # a request rate, not a wait for a condition

    threads = [threading.Thread(target=work, args=(t,)) for t in range(THREADS)]
    wall, cpu = time.monotonic(), time.process_time()
    try:
        for thread in threads:
            thread.start()
        gates[0].wait()
        _wait(lambda: logger.sent_rows >= 8000, 60, "rows sent before the stop")
        server.stop()  # while threads log and the sender is sending
        gates[1].wait()
        stopped_at = time.monotonic()
        time.sleep(5.0)  # the outage under test: the server is down for 5 s
        assert logger.pending > 0 and logger.retries > 0  # rows waited, sends failed
        server.start()
        outage = time.monotonic() - stopped_at
        gates[2].wait()
        for thread in threads:
            thread.join(timeout=120)
        assert logger.flush(timeout=120), "rows were left unsent"
        wall, cpu = time.monotonic() - wall, time.process_time() - cpu
        ids, per_batch = _stored_ids(settings)
    finally:
        logger.close(timeout=5)
        client.close()
        server.stop()

    total = THREADS * sum(PHASES)
    expected = {f"{t}-{i}" for t in range(THREADS) for i in range(sum(PHASES))}
    assert logger.dropped == 0 and logger.failed == 0
    assert len(ids) == total, f"{len(ids)} rows stored for {total} logged"
    assert set(ids) == expected  # with the count: each exactly once
    assert sum(per_batch.values()) == total and len(per_batch) == logger.sent_batches
    assert all(key.startswith(logger.logger_id + "-") for key in per_batch)

    calls = sorted(d for spent in durations for d in spent)
    assert len(calls) == total
    p50, p99, worst = (calls[int(q * (len(calls) - 1))] for q in (0.5, 0.99, 1.0))
    print(
        f"\nlog(): {len(calls)} calls from {THREADS} threads, p50 {p50 / 1000:.1f} µs, "
        f"p99 {p99 / 1000:.1f} µs, max {worst / 1000:.0f} µs; outage {outage:.1f} s, "
        f"{logger.sent_batches} batches, {logger.retries} failed sends retried; logging to "
        f"flushed: {wall:.1f} s wall, {cpu:.1f} s CPU (this process), {os.cpu_count()} cores, "
        f"load {os.getloadavg()[0]:.1f}"
    )
    assert p99 < 50_000, f"log() p99 {p99 / 1000:.1f} µs"
