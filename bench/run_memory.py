"""Peak memory of a real drift run on a 1M x 25 window, above the idle process.

The parent process uploads a reference and ``--batches`` Parquet batches (20 numerical and 5
categorical columns, ``--rows`` rows in all) to a throwaway SQLite + data folder through the
API, and creates a drift monitor over the last ``--batches`` batches. A child process (fresh,
so nothing the parent allocated is reused) then works as a worker does: a first run (reads and
caches the reference profile), then the measured ones. Before each measured phase the child
frees what it can (``gc``, ``malloc_trim``, Arrow's pool) and reads its RSS: that is *idle*;
it resets the kernel's peak (``/proc/self/clear_refs``), runs the phase and reads the peak
(``VmHWM``). Phases:

- ``window``: ``service.runs.windows.window_of`` reading the batches' Parquet files (the
  window is kept; its Arrow size is the yardstick);
- ``drift``: ``DriftMonitor.run`` on that window, the reference profile cached;
- ``run``: a whole run as the worker does it (``runner.work_once``: claim, load the window,
  drift, run record, persist), with the window of the previous phases dropped first.

The target is a run's peak above idle at most 1x the window's Arrow size. The child runs once
per Arrow memory pool, since the pool decides much of the peak:

- ``jemalloc``: as the service runs a run, in a worker process (``DQM_WORKER_PROCESSES`` >= 1,
  the default), which switches Arrow to jemalloc at start
  (``dqm.service.runs.pool._use_jemalloc``; the child calls that same function);
- ``mimalloc``: the pool as installed (the pyarrow wheels' default), as a run executes in a
  thread of the serving process with ``DQM_WORKER_PROCESSES=0``.

Beside RSS, each phase reports the peak of the Arrow pool's allocated bytes above idle (sampled
every millisecond): RSS above that is numpy and Python temporaries, or pages an allocator keeps.
An idle worker's RSS includes the pages its allocator kept from its last run: jemalloc reuses
them for the next window (so a window costs far less RSS than its Arrow size), mimalloc mostly
does not.

Run: ``.venv/bin/python -m bench.run_memory [--rows 1000000] [--batches 4]``
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import io
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from bench.harness import Bench, Timing

N_NUM, N_CAT = 20, 5
TARGET_RATIO = 1.0  # peak above idle / the window's Arrow bytes
PARQUET = {"content-type": "application/vnd.apache.parquet"}


def make_table(n: int, seed: int) -> pa.Table:
    """20 numerical columns (some with NaN) and 5 categorical ones of 12 levels."""
    rng = np.random.default_rng(seed)
    columns: dict[str, Any] = {}
    for i in range(N_NUM):
        values = rng.normal(0.1 * seed * (i % 3 == 0), 1 + i % 4, n)
        if i % 7 == 2:
            values[rng.random(n) < 0.05] = np.nan
        columns[f"num_{i}"] = pa.array(values, from_pandas=True)
    levels = np.array([f"cat_value_{k}" for k in range(12)])
    for j in range(N_CAT):
        weights = np.arange(1, 13, dtype=float) ** (1 + j % 2)
        columns[f"cat_{j}"] = pa.array(levels[rng.choice(12, n, p=weights / weights.sum())])
    return pa.table(columns)


def schema() -> dict[str, Any]:
    columns = [{"name": f"num_{i}", "type": "numerical"} for i in range(N_NUM)]
    columns += [{"name": f"cat_{j}", "type": "categorical"} for j in range(N_CAT)]
    return {"columns": columns}


def parquet(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


def prepare(folder: str, rows: int, reference_rows: int, batches: int) -> None:
    """Dataset, reference, batches and the drift monitor, through the API."""
    from fastapi.testclient import TestClient

    from dqm.service.app import create_app
    from dqm.service.context import Context
    from dqm.service.db.migrate import upgrade
    from dqm.service.db.session import make_engine

    settings = _settings(folder)
    upgrade(make_engine(settings.database_url))
    ctx = Context.create(settings)
    with TestClient(create_app(settings, ctx)) as client:
        client.post("/v1/datasets", json={"name": "d", "schema": schema()}).raise_for_status()
        body = parquet(make_table(reference_rows, 0))
        client.put("/v1/datasets/d/reference", content=body, headers=PARQUET).raise_for_status()
        for b in range(batches):
            body = parquet(make_table(rows // batches, b + 1))
            client.post(
                f"/v1/datasets/d/batches?batch_id=b{b}", content=body, headers=PARQUET
            ).raise_for_status()
        monitor = {
            "name": "drift",
            "dataset": "d",
            "kind": "drift",
            "schedule": {"every": "24h"},
            "window": {"last_batches": batches},
            "enabled": False,
        }
        client.post("/v1/monitors", json=monitor).raise_for_status()
    ctx.engine.dispose()


def _settings(folder: str) -> Any:
    from dqm.service.settings import Settings

    return Settings(
        database_url=f"sqlite:///{folder}/dqm.db",
        data_dir=f"{folder}/data",
        role="api",
        max_body_bytes=2**31,
    )


def _status(key: str) -> int:
    """A field of /proc/self/status in bytes (VmRSS, VmHWM)."""
    found = re.search(rf"^{key}:\s+(\d+) kB", Path("/proc/self/status").read_text(), re.M)
    assert found is not None
    return int(found.group(1)) * 1024


def idle() -> int:
    """Free what can be freed, reset the peak, return the resident bytes."""
    gc.collect()
    pa.default_memory_pool().release_unused()
    ctypes.CDLL("libc.so.6").malloc_trim(0)
    Path("/proc/self/clear_refs").write_text("5")
    return _status("VmRSS")


class ArrowPeak:
    """The peak of the Arrow pool's allocated bytes, sampled in a thread (``max_memory`` is
    since the process started, with no reset)."""

    def __init__(self) -> None:
        self.pool = pa.default_memory_pool()
        self.idle = self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(0.001):
            self.peak = max(self.peak, self.pool.bytes_allocated())

    def __enter__(self) -> ArrowPeak:
        self.idle = self.peak = self.pool.bytes_allocated()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.pool.bytes_allocated())


def child(folder: str, pool: str) -> None:
    """Warm up like a worker, then measure each phase; print one JSON line."""
    if pool == "jemalloc":
        from dqm.service.runs.pool import _use_jemalloc

        _use_jemalloc()  # what a worker process does first
        assert pa.default_memory_pool().backend_name == "jemalloc", "no jemalloc in pyarrow"
    from sqlalchemy import select

    from dqm.monitors.drift.monitor import DriftMonitor, DriftParams
    from dqm.service.context import Context
    from dqm.service.dataset_schema import schema_of
    from dqm.service.db.models import Batch, Dataset, Monitor
    from dqm.service.ingest.datasets import current_reference
    from dqm.service.runs import monitors, runner, windows

    ctx = Context.create(_settings(folder))
    monitors.request_run(ctx, "drift")
    assert runner.work_once(ctx)  # reads the reference, caches its profile, as a worker does
    out: dict[str, Any] = {}
    with ctx.sessions() as session:
        dataset = session.scalars(select(Dataset)).one()
        monitor = session.scalars(select(Monitor)).one()
        schema = schema_of(dataset)
        profile = ctx.profiles.get(current_reference(session, dataset).path)
        assert profile is not None
        batches = list(session.scalars(select(Batch).order_by(Batch.id)))
        base, started = idle(), _clocks()
        with ArrowPeak() as arrow:
            window = windows.window_of(ctx, session, dataset.id, schema, batches)
        out["window"] = _phase(base, started, arrow, window.table.get_total_buffer_size())
    out["window_rows"], out["window_columns"] = window.table.num_rows, window.table.num_columns
    params = DriftParams.model_validate(monitor.params or {})
    base, started = idle(), _clocks()
    with ArrowPeak() as arrow:
        DriftMonitor().run(profile, window.table, schema, params)
    out["drift"] = _phase(base, started, arrow)
    del window
    monitors.request_run(ctx, "drift")
    base, started = idle(), _clocks()
    with ArrowPeak() as arrow:
        assert runner.work_once(ctx)
    out["run"] = _phase(base, started, arrow)
    out["pool"] = pa.default_memory_pool().backend_name
    print("RESULT " + json.dumps(out), flush=True)


def _clocks() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def _phase(
    base: int, started: tuple[float, float], arrow: ArrowPeak, arrow_bytes: int | None = None
) -> dict[str, Any]:
    wall, cpu = time.perf_counter() - started[0], time.process_time() - started[1]
    peak = _status("VmHWM")
    return {
        "idle": base,
        "peak": peak,
        "above_idle": peak - base,
        "arrow_above_idle": arrow.peak - arrow.idle,
        "wall": wall,
        "cpu": cpu,
        "arrow_bytes": arrow_bytes,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--reference-rows", type=int, default=1_000_000)
    parser.add_argument("--batches", type=int, default=4)
    parser.add_argument(
        "--arrow-pools",
        default="jemalloc,mimalloc",
        help="Arrow memory pools to measure with, comma-separated: jemalloc (a worker "
        "process, as the service runs runs) and mimalloc (as installed: a serving process's "
        "thread with DQM_WORKER_PROCESSES=0)",
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--pool", default="mimalloc", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.pool)
        return
    bench = Bench("run_memory", description=__doc__)
    pools = args.arrow_pools.split(",")
    outs = {}
    with tempfile.TemporaryDirectory(prefix="dqm-bench-") as folder:
        prepare(folder, args.rows, args.reference_rows, args.batches)
        for pool in pools:
            outs[pool] = measure(folder, pool)
    for out in outs.values():
        report(bench, out, args.batches)
    bench.save()


def measure(folder: str, pool: str) -> dict[str, Any]:
    """The child's phases with Arrow's memory pool ``pool`` (``jemalloc``: switched to as a
    worker process does; ``mimalloc``: as installed)."""
    if pool not in ("jemalloc", "mimalloc"):
        sys.exit(f"unknown Arrow pool {pool!r}: jemalloc or mimalloc")
    env = {k: v for k, v in os.environ.items() if k != "ARROW_DEFAULT_MEMORY_POOL"}
    cmd = [sys.executable, "-m", "bench.run_memory", "--child", folder, "--pool", pool]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False, env=env)
    if done.returncode != 0:
        sys.exit(f"child failed:\n{done.stderr}")
    line = next(x for x in done.stdout.splitlines() if x.startswith("RESULT "))
    return dict(json.loads(line.removeprefix("RESULT ")))


def report(bench: Bench, out: dict[str, Any], batches: int) -> None:
    window = out["window"]["arrow_bytes"]
    shape = f"{out['window_rows']:,} x {out['window_columns']} in {batches} batches"
    mib = 2**20
    idle_mib = out["run"]["idle"] / mib
    print(f"window Arrow size {window / mib:.0f} MiB ({shape}); idle RSS {idle_mib:.0f} MiB")
    where = {"jemalloc": "worker process", "mimalloc": "in-thread executor"}.get(out["pool"], "")
    for phase, what in (
        ("window", "read the window (windows.window_of)"),
        ("drift", "drift monitor on the loaded window"),
        ("run", "whole run (runner.work_once)"),
    ):
        above, arrow = out[phase]["above_idle"], out[phase]["arrow_above_idle"]
        wall, cpu = out[phase]["wall"], out[phase]["cpu"]
        bench.add(
            f"{what}, {shape}, Arrow pool {out['pool']} ({where}): "
            "peak RSS above idle / window Arrow size",
            Timing(wall, cpu, [wall], [cpu]),
            value=above / window,
            unit="x",
            target=TARGET_RATIO if phase == "run" else None,
            target_of="value",
            note=f"{above / mib:.0f} MiB above an idle RSS of {idle_mib:.0f} MiB; "
            f"Arrow pool peak {arrow / mib:.0f} MiB above idle",
        )


if __name__ == "__main__":
    main()
