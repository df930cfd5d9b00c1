"""The service path over real HTTP: a 1M-row Parquet batch through POST /batches, and a drift
run on a 100k-row × 25-column window, against a real ``dqm serve`` process (SQLite by default, or
``--database-url postgresql+psycopg://...``).

Run: ``.venv/bin/python -m bench.service_path [--rows 1000000] [--window-rows 100000]``.
Prints request wall times (CPU of the bench and the server processes), rows per second, and
the drift runs' request times; results in ``bench/results/service_path.json``.
"""

from __future__ import annotations

import argparse
import io
import tempfile
from collections.abc import Callable

import httpx
import pyarrow as pa
import pyarrow.parquet as pq

from bench.harness import Bench, Timing, time_calls
from bench.ingest import make_table, schema
from dqm.service.db.migrate import upgrade_url
from dqm.service.settings import Settings
from tests.support.process import dqm_process

PARQUET = {"content-type": "application/vnd.apache.parquet"}


def parquet(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


def timed(call: Callable[[], httpx.Response]) -> tuple[httpx.Response, Timing]:
    """One request: its response, wall time and CPU time of the bench and the server."""
    box: list[httpx.Response] = []
    timing = time_calls(lambda: box.append(call()), repeats=1)
    box[0].raise_for_status()
    return box[0], timing


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
    upgrade_url(settings.database_url)
    spec = schema().model_dump(by_alias=True, exclude_none=True)
    reference, window = make_table(args.window_rows, 1), make_table(args.window_rows, 2)
    big = make_table(args.rows, 3)
    # The server is its own process (``dqm serve``), as in production: a client in the same
    # process would compete with it for the GIL while sending 150 MB. CPU times count it (a
    # child of this process) and its worker processes.
    bench = Bench("service_path", description=__doc__)
    database = "PostgreSQL" if args.database_url else "SQLite"
    with dqm_process(settings, DQM_ROLE="api", DQM_MAX_BODY_BYTES=str(2**31)) as client:
        client.post("/v1/datasets", json={"name": "bench", "schema": spec}).raise_for_status()
        body = parquet(reference)
        _, t = timed(
            lambda: client.put("/v1/datasets/bench/reference", content=body, headers=PARQUET)
        )
        bench.add(f"PUT reference, {reference.num_rows:,} rows x 25 Parquet ({database})", t)
        body = parquet(big)
        url = "/v1/datasets/bench/batches?batch_id=big"
        _, t = timed(lambda: client.post(url, content=body, headers=PARQUET))
        bench.add(
            f"POST batch, {big.num_rows:,} rows x 25, "
            f"{len(body) / 2**20:.0f} MiB Parquet ({database})",
            t,
            value=big.num_rows / t.wall,
            unit="rows/s",
        )
        replay, t = timed(lambda: client.post(url, content=body, headers=PARQUET))
        bench.add(f"replay of the same batch (idempotent: {replay.status_code})", t)
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
            run, t = timed(lambda: client.post("/v1/monitors/drift/run?wait=true"))
            assert run.json()["status"] == "succeeded", run.text
            shape = f"{window.num_rows:,} x {window.num_columns}"
            bench.add(f"drift run over HTTP, {shape} window, {label}", t)
    bench.save()


if __name__ == "__main__":
    main()
