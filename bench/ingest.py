"""Ingest throughput: decode + validate + write, in rows per second, for 25-column batches.

Run: ``.venv/bin/python -m bench.ingest [--json-rows N] [--parquet-rows N] [--csv-rows N]``.
Besides the two batches of the issue (1M rows as Parquet, 100k rows as JSON) it times JSON
decoding through Arrow's reader against ``json.loads`` + ``pa.Table.from_pylist``.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

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


def timed(step: Callable[[], Any]) -> tuple[Any, float]:
    began = time.perf_counter()
    out = step()
    return out, time.perf_counter() - began


def run(label: str, body: bytes, content_type: str, store: Storage) -> None:
    """Time the three steps; CPU seconds are printed too, as the wall clock of a shared
    machine varies with its load."""
    cpu = time.process_time()
    table, t_decode = timed(lambda: decode(body, content_type))
    valid, t_validate = timed(lambda: validate(table, schema()))
    size, t_write = timed(lambda: store.write_table(f"bench/{label}.parquet", valid))
    cpu = time.process_time() - cpu
    rows, total = valid.num_rows, t_decode + t_validate + t_write
    print(
        f"{label:<8} {rows:>9,} rows  body {len(body) / 1e6:6.1f} MB  "
        f"decode {t_decode:5.2f}s  validate {t_validate:5.2f}s  write {t_write:5.2f}s "
        f"({size / 1e6:5.1f} MB)  => {rows / total:>9,.0f} rows/s wall "
        f"(cpu {cpu:5.2f}s, load {os.getloadavg()[0]:.1f})"
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
    with tempfile.TemporaryDirectory() as folder:
        store = Storage.from_uri(folder)
        big = make_table(max(args.parquet_rows, args.csv_rows, 1))
        if args.parquet_rows:
            body = parquet_body(big.slice(0, args.parquet_rows))
            run("parquet", body, "application/x-parquet", store)
        if args.csv_rows:
            run("csv", csv_body(big.slice(0, args.csv_rows)), "text/csv", store)
        body = json_body(make_table(args.json_rows, seed=1))
        run("json", body, "application/json", store)
        _, ours = timed(lambda: decode(body, "application/json"))
        _, peer = timed(lambda: json_peer(body))
        print(f"json decode: dqm {ours:.2f}s vs json.loads+from_pylist {peer:.2f}s "
              f"(ratio {peer / ours:.1f}x)")  # fmt: skip


if __name__ == "__main__":
    main()
