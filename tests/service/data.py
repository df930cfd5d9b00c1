"""Generated data for service tests."""

from __future__ import annotations

import io
from itertools import cycle
from typing import Any

import httpx
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

SCHEMA: dict[str, Any] = {
    "columns": [
        {"name": "id", "type": "categorical", "role": "id"},
        {"name": "age", "type": "numerical"},
        {"name": "income", "type": "numerical"},
        {"name": "city", "type": "categorical"},
        {"name": "label", "type": "categorical", "role": "target"},
    ]
}


def frame(n: int, seed: int, shift: float = 0.0, prefix: str = "r") -> dict[str, list[Any]]:
    """Rows of the test schema; ``shift`` moves age and income by that many std devs."""
    rng = np.random.default_rng(seed)
    return {
        "id": [f"{prefix}{i}" for i in range(n)],
        "age": (rng.normal(40, 10, n) + 10 * shift).round(1).tolist(),
        "income": (rng.normal(50_000, 8_000, n) + 8_000 * shift).round(0).tolist(),
        "city": rng.choice(
            ["paris", "lyon", "nice", "lille"],
            n,
            p=[0.4, 0.3, 0.2, 0.1] if shift == 0 else [0.1, 0.2, 0.3, 0.4],
        ).tolist(),
        "label": rng.choice(["yes", "no"], n).tolist(),
    }


def records(columns: dict[str, list[Any]]) -> list[dict[str, Any]]:
    names = list(columns)
    return [dict(zip(names, row, strict=True)) for row in zip(*columns.values(), strict=True)]


def parquet_bytes(columns: dict[str, list[Any]]) -> bytes:
    sink = io.BytesIO()
    pq.write_table(pa.table(columns), sink)
    return sink.getvalue()


def drift_monitor(name: str, dataset: str, hook: str) -> dict[str, Any]:
    """The monitor most service tests use: drift on the last batch, firing at a drifted share
    of 0.3, asking ``hook`` to retrain."""
    return {
        "name": name,
        "dataset": dataset,
        "kind": "drift",
        "schedule": {"every": "1h"},
        "window": {"last_batches": 1},
        "rules": [{"metric": "share_drifted_columns", "op": ">=", "value": 0.3}],
        "actions": [{"on": "firing", "hook": hook, "event": "retrain.requested"}],
    }


def monitor_every_second(*clients: httpx.Client, batch_rows: int = 100) -> dict[str, Any]:
    """Dataset ``d`` (a 300-row reference and one batch) and drift monitor ``m`` due every
    second on the last batch, each request sent by the next of ``clients`` (replicas share the
    work); returns the created monitor."""
    client = cycle(clients)
    assert (
        next(client).post("/v1/datasets", json={"name": "d", "schema": SCHEMA}).status_code == 201
    )
    reference = next(client).put("/v1/datasets/d/reference", json=records(frame(300, 1)))
    assert reference.status_code == 201, reference.text
    batch = next(client).post("/v1/datasets/d/batches", json=records(frame(batch_rows, 2)))
    assert batch.status_code == 201, batch.text
    monitor = {
        "name": "m",
        "dataset": "d",
        "kind": "drift",
        "schedule": {"every": "1s"},
        "window": {"last_batches": 1},
    }
    created = next(client).post("/v1/monitors", json=monitor)
    assert created.status_code == 201, created.text
    body: dict[str, Any] = created.json()
    return body
