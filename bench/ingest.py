"""Ingest throughput: decode + validate + write, in rows per second, for 25-column batches.

Run: ``.venv/bin/python -m bench.ingest [--json-rows N] [--parquet-rows N] [--csv-rows N]``
(one timed pass each; results in ``bench/results/ingest.json``, see ``bench.harness``).
Besides the two batches of the issue (1M rows as Parquet, 100k rows as JSON) it times JSON
decoding through Arrow's reader against ``json.loads`` + ``pa.Table.from_pylist``.
"""

from __future__ import annotations

import argparse
import io
import json
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

from bench.harness import Bench, Timing, time_calls
from dqm.monitors.schema import ColumnSpec, Schema
from dqm.service.ingest.validate import decode, validate
from dqm.service.storage import Storage

N_NUMERIC, N_CATEGORICAL = 18, 4  # + id, ts, target = 25 columns


def make_table(rows: int, seed: int = 0) -> pa.Table:
    rng = np.random.default_rng(seed)
    start = datetime(2024, 1, 1, tzinfo=UTC)
    columns: dict[str, Any] = {
        "id": pa.array([f"r{i}" for i in range(rows)]),
        "ts": pa.array([start + timedelta(seconds=i) for i in range(rows)]),
    }
    for i in range(N_NUMERIC):
        values = rng.normal(size=rows)
        values[rng.random(rows) < 0.01] = np.nan
        columns[f"num{i}"] = pa.array(values, from_pandas=True)
    words = np.array(["alpha", "beta", "gamma", "delta", "epsilon"], dtype=object)
    for i in range(N_CATEGORICAL):
        columns[f"cat{i}"] = pa.array(words[rng.integers(0, 5, rows)])
    columns["target"] = pa.array(rng.integers(0, 2, rows))
    return pa.table(columns)


def schema() -> Schema:
    specs = [
        ColumnSpec(name="id", type="categorical", role="id"),
        ColumnSpec(name="ts", type="datetime", role="timestamp"),
    ]
    specs += [ColumnSpec(name=f"num{i}", type="numerical") for i in range(N_NUMERIC)]
    specs += [ColumnSpec(name=f"cat{i}", type="categorical") for i in range(N_CATEGORICAL)]
    specs.append(ColumnSpec(name="target", type="categorical", role="target"))
    return Schema(columns=specs)


def json_body(table: pa.Table) -> bytes:
    rows = table.to_pylist()
    for row in rows:
        row["ts"] = row["ts"].isoformat()
    return json.dumps({"rows": rows}).encode()


def parquet_body(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="zstd")
    return sink.getvalue()


def csv_body(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    pcsv.write_csv(table, sink)
    return sink.getvalue()


def timed(step: Callable[[], Any]) -> tuple[Any, Timing]:
    """One call of ``step``: its result and its wall and CPU time."""
    box: list[Any] = []
    timing = time_calls(lambda: box.append(step()), repeats=1)
    return box[0], timing


def run(bench: Bench, label: str, body: bytes, content_type: str, store: Storage) -> None:
    """Decode, validate and write one body; a row with the rows per second of the three."""
    table, t_decode = timed(lambda: decode(body, content_type))
    valid, t_validate = timed(lambda: validate(table, schema()))
    size, t_write = timed(lambda: store.write_table(f"bench/{label}.parquet", valid))
    steps = (t_decode, t_validate, t_write)
    wall, cpu = sum(t.wall for t in steps), sum(t.cpu for t in steps)
    total = Timing(wall, cpu, [wall], [cpu], max(t.threads for t in steps))
    rows = valid.num_rows
    bench.add(
        f"ingest {label}, {rows:,} rows x 25, body {len(body) / 1e6:.1f} MB",
        total,
        value=rows / wall,
        unit="rows/s",
        note=f"decode {t_decode.wall:.2f} s, validate {t_validate.wall:.2f} s, "
        f"write {t_write.wall:.2f} s ({size / 1e6:.1f} MB)",
    )


def json_peer(body: bytes) -> None:
    """The obvious alternative: the standard library, then Arrow from Python objects."""
    rows = json.loads(body)["rows"]
    pa.Table.from_pylist(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--parquet-rows", type=int, default=1_000_000)
    parser.add_argument("--json-rows", type=int, default=100_000)
    parser.add_argument("--csv-rows", type=int, default=1_000_000)
    args = parser.parse_args()
    bench = Bench("ingest", description=__doc__)
    with tempfile.TemporaryDirectory() as folder:
        store = Storage.from_uri(folder)
        big = make_table(max(args.parquet_rows, args.csv_rows, 1))
        if args.parquet_rows:
            body = parquet_body(big.slice(0, args.parquet_rows))
            run(bench, "parquet", body, "application/x-parquet", store)
        if args.csv_rows:
            run(bench, "csv", csv_body(big.slice(0, args.csv_rows)), "text/csv", store)
        body = json_body(make_table(args.json_rows, seed=1))
        run(bench, "json", body, "application/json", store)
        _, ours = timed(lambda: decode(body, "application/json"))
        _, peer = timed(lambda: json_peer(body))
        name = f"JSON decode, {args.json_rows:,} rows"
        bench.add(name, ours, peer=("json.loads + pa.Table.from_pylist", peer))
    bench.save()


if __name__ == "__main__":
    main()
