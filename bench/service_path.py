"""The service path over real HTTP: a 1M-row Parquet batch through POST /batches, and a drift
run on a 100k-row × 25-column window, against a real ``dqm serve`` process (SQLite by default, or
``--database-url postgresql+psycopg://...``).

Run: ``.venv/bin/python -m bench.service_path [--rows 1000000] [--window-rows 100000]``.
Prints request wall times and rows per second, and the run's own duration.
"""

from __future__ import annotations

import argparse
import io
import tempfile
import time

import httpx
import pyarrow as pa
import pyarrow.parquet as pq

from bench.ingest import make_table, schema
from dqm.service.cli import migrate
from dqm.service.settings import Settings
from tests.support.process import dqm_process

PARQUET = {"content-type": "application/vnd.apache.parquet"}


def parquet(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


def timed_post(client: httpx.Client, url: str, body: bytes) -> tuple[httpx.Response, float]:
    started = time.perf_counter()
    response = client.post(url, content=body, headers=PARQUET)
    return response, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--window-rows", type=int, default=100_000)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="dqm-bench-")
    settings = Settings(
        database_url=args.database_url or f"sqlite:///{folder}/dqm.db",
        data_dir=f"{folder}/data",
        role="api",
        max_body_bytes=2**31,
    )
    migrate(settings)
    spec = schema().model_dump(by_alias=True, exclude_none=True)
    reference, window = make_table(args.window_rows, 1), make_table(args.window_rows, 2)
    big = make_table(args.rows, 3)
    # The server is its own process (``dqm serve``), as in production: a client in the same
    # process would compete with it for the GIL while sending 150 MB.
    with dqm_process(settings, DQM_ROLE="api", DQM_MAX_BODY_BYTES=str(2**31)) as client:
        client.post("/v1/datasets", json={"name": "bench", "schema": spec}).raise_for_status()
        body = parquet(reference)
        started = time.perf_counter()
        client.put("/v1/datasets/bench/reference", content=body, headers=PARQUET).raise_for_status()
        print(f"reference {reference.num_rows:>9,} rows: {time.perf_counter() - started:6.2f} s")
        body = parquet(big)
        response, seconds = timed_post(client, "/v1/datasets/bench/batches?batch_id=big", body)
        response.raise_for_status()
        print(
            f"batch     {big.num_rows:>9,} rows, {len(body) / 2**20:6.1f} MiB Parquet: "
            f"{seconds:6.2f} s = {big.num_rows / seconds:,.0f} rows/s"
        )
        response, _ = timed_post(client, "/v1/datasets/bench/batches?batch_id=big", body)
        print(f"replay of the same batch (idempotent, 200): {response.status_code}")
        client.post(
            "/v1/datasets/bench/batches?batch_id=window", content=parquet(window), headers=PARQUET
        ).raise_for_status()
        client.post(
            "/v1/monitors",
            json={
                "name": "drift",
                "dataset": "bench",
                "kind": "drift",
                "schedule": {"every": "1h"},
                "window": {"last_batches": 1},
            },
        ).raise_for_status()
        for label in ("first run (builds the reference profile)", "second run (profile cached)"):
            started = time.perf_counter()
            run = client.post("/v1/monitors/drift/run?wait=true").json()
            wall = time.perf_counter() - started
            assert run["status"] == "succeeded", run
            print(
                f"drift {window.num_rows:,} x {window.num_columns} {label}: {wall:6.2f} s "
                f"wall, {len(run['metrics'])} metrics"
            )


if __name__ == "__main__":
    main()
