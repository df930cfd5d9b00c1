"""``Logger`` against a real server: deterministic batch ids, flush on size and on demand, a
full queue drops and counts, refused batches are counted, the exit hook sends what is left."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import httpx

from dqm_client import Client, Logger, Retry
from tests.support.server import free_port

SCHEMA = {
    "columns": [
        {"name": "id", "type": "categorical", "role": "id"},
        {"name": "x", "type": "numerical"},
    ]
}


def _rows_by_batch(client: Client, dataset: str) -> dict[str, int]:
    return {b.batch_id: b.rows for b in client.batches(dataset)}


def test_batches_have_deterministic_ids_and_flush_sends_the_rest(client: Client) -> None:
    client.create_dataset("svc", SCHEMA)
    logger = Logger(client, "svc", flush_rows=10, flush_seconds=60, logger_id="svc-a")
    try:
        for i in range(25):
            logger.log({"id": f"r{i}", "x": float(i)})
        logger.log([{"id": f"s{i}", "x": 0.5} for i in range(5)])
        assert logger.flush(timeout=30)
        assert logger.pending == 0
    finally:
        assert logger.close()
    sent = _rows_by_batch(client, "svc")
    assert sum(sent.values()) == 30 and logger.sent_rows == 30
    assert set(sent) == {f"svc-a-{i}" for i in range(1, logger.sent_batches + 1)}
    assert all(rows <= 10 for rows in sent.values())
    assert (logger.dropped, logger.failed) == (0, 0)


def test_a_full_queue_drops_and_counts_and_log_never_raises() -> None:
    unreachable = Client(f"http://127.0.0.1:{free_port()}", retry=Retry(attempts=1))
    logger = Logger(unreachable, "svc", flush_rows=1000, max_queue=100, max_backoff=0.05)
    try:
        for i in range(150):
            logger.log({"id": i})
        assert logger.dropped == 50 and logger.pending == 100
        logger.log(None)  # type: ignore[arg-type]
        logger.log([1, 2])  # type: ignore[list-item]
        logger.log("not rows")  # type: ignore[arg-type]
        assert logger.dropped == 54
        assert logger.flush(timeout=0.3) is False  # nothing can be sent
    finally:
        assert logger.close(timeout=0.1) is False
    logger.log({"id": "late"})  # after close: dropped, not raised
    assert logger.dropped == 55


def test_a_refused_batch_is_counted_and_the_next_ones_still_go(client: Client) -> None:
    client.create_dataset("svc", SCHEMA)
    logger = Logger(client, "svc", flush_rows=100, flush_seconds=60, logger_id="svc-b")
    try:
        logger.log({"id": "bad", "x": "not a number"})
        assert logger.flush(timeout=30)
        assert logger.failed == 1 and logger.sent_rows == 0
        logger.log({"id": "good", "x": 1.0})
        assert logger.flush(timeout=30)
    finally:
        logger.close()
    assert _rows_by_batch(client, "svc") == {"svc-b-2": 1}


def test_the_exit_hook_sends_rows_left_in_the_queue(client: Client, server: httpx.Client) -> None:
    client.create_dataset("svc", SCHEMA)
    script = textwrap.dedent(
        f"""
        from dqm_client import Client, Logger
        logger = Logger(Client({str(server.base_url)!r}), "svc", flush_seconds=3600,
                        logger_id="exiting")
        for i in range(7):
            logger.log({{"id": f"e{{i}}", "x": float(i)}})
        """
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert _rows_by_batch(client, "svc") == {"exiting-1": 7}
