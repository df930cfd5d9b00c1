"""Peak memory of a real drift run on a 1M x 25 window, above the idle process.

The parent process uploads a reference and ``--batches`` Parquet batches (20 numerical and 5
categorical columns, ``--rows`` rows in all) to a throwaway SQLite + data folder through the
API, and creates a drift monitor over the last ``--batches`` batches. A child process (fresh,
so nothing the parent allocated is reused) then executes runs as the service does in one of
its two modes (``DQM_WORKER_PROCESSES``), with the service's own code:

- ``worker`` (N >= 1, the default): a worker process. The child switches pyarrow to jemalloc
  with ``dqm.service.runs.pool.use_jemalloc``, as ``pool.child_main`` does first, and executes
  each run in its main thread (``runner.work_once``: claim, load the window, drift, run record,
  persist).
- ``in-thread`` (0): the serving process. The child makes its run executor as the serving
  process's worker does (``draining.RunPool``, whose ``pool.executors`` also switches pyarrow to
  jemalloc) and executes each run with its ``drain``: claimed there, executed in a new thread
  (``pool.InThread``). The window and drift phases below also run in a new thread.

First a run that reads and caches the reference profile, then the measured phases. Before
each the child frees what it can (``gc``, ``malloc_trim``, Arrow's pool) and reads its RSS:
that is *idle*; it resets the kernel's peak (``/proc/self/clear_refs``), runs the phase and
reads the peak (``VmHWM``). Phases:

- ``window``: ``service.runs.windows.window_of`` reading the batches' Parquet files (the
  window is kept; its Arrow size is the yardstick);
- ``drift``: ``DriftMonitor.run`` on that window, the reference profile cached;
- ``run``: a whole run, with the window of the previous phases dropped first.

The target is a run's peak above idle at most 1x the window's Arrow size. Beside RSS, each
phase reports the peak of Arrow's allocated bytes above idle (pyarrow's pool and Arrow C++'s
default, mimalloc, sampled every millisecond; RSS above that is numpy and Python temporaries,
or pages an allocator keeps) and the absolute peak. An idle process's RSS includes pages
jemalloc kept from its last run, which the next window reuses (so a window costs far less RSS
than its Arrow size). Retention does not lower the absolute peak: over ten in-thread runs,
idle RSS settled ~300 MiB higher with jemalloc than with pyarrow's default pool (mimalloc,
which a serving process kept before it switched for in-thread runs), for about the same peak
(1.61-1.64 against 1.59-1.61 GiB); with mimalloc a run measured 1.5x above idle and its window
read 1.34x, though the Arrow pool's peak was the window's size: mimalloc's freed pages are not
reused by the next run.

Run: ``.venv/bin/python -m bench.run_memory [--rows 1000000] [--batches 4]
[--modes worker,in-thread]``
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
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from bench.harness import Bench, Timing

N_NUM, N_CAT = 20, 5
TARGET_RATIO = 1.0  # peak above idle / the window's Arrow bytes
MODES = {  # how the service executes a run (DQM_WORKER_PROCESSES): the child does the same
    "worker": "worker process",
    "in-thread": "in-thread executor",
}
RUN_PATH = {"worker": "runner.work_once", "in-thread": "the in-thread executor's drain"}
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


def _settings(folder: str, worker_processes: int | None = None) -> Any:
    from dqm.service.settings import Settings

    return Settings(
        database_url=f"sqlite:///{folder}/dqm.db",
        data_dir=f"{folder}/data",
        role="api",
        max_body_bytes=2**31,
        worker_processes=worker_processes,
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
    """The peak of Arrow's allocated bytes, sampled in a thread (``max_memory`` is since the
    process started, with no reset): pyarrow's pool and Arrow C++'s own default (mimalloc),
    which C++ internals such as ``ChunkedArray.to_numpy``'s concatenation use whatever pyarrow's
    pool is."""

    def __init__(self) -> None:
        self.pools = _arrow_pools()
        self.idle = self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def allocated(self) -> int:
        return sum(p.bytes_allocated() for p in self.pools)

    def _sample(self) -> None:
        while not self._stop.wait(0.001):
            self.peak = max(self.peak, self.allocated())

    def __enter__(self) -> ArrowPeak:
        self.idle = self.peak = self.allocated()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.allocated())


def _arrow_pools() -> list[pa.MemoryPool]:
    """pyarrow's pool and the C++ default (the wheels' mimalloc), once each."""
    current = pa.default_memory_pool()
    try:
        builtin = pa.mimalloc_memory_pool()
    except (NotImplementedError, pa.ArrowNotImplementedError):
        return [current]
    return [current] if current.backend_name == builtin.backend_name else [current, builtin]


def child(folder: str, mode: str) -> None:
    """Warm up like the service in ``mode``, then measure each phase; print one JSON line."""
    from sqlalchemy import select

    from dqm.monitors.drift.monitor import DriftMonitor, DriftParams
    from dqm.service.context import Context
    from dqm.service.dataset_schema import schema_of
    from dqm.service.db.models import Batch, Dataset, Monitor
    from dqm.service.ingest.datasets import current_reference
    from dqm.service.runs import monitors, pool, windows

    if mode == "worker":
        pool.use_jemalloc()  # what a worker process does first (pool.child_main)
        ctx = Context.create(_settings(folder, worker_processes=1))
        execute, in_mode = _worker_process(ctx), _here
    else:
        ctx = Context.create(_settings(folder, worker_processes=0))
        execute, in_mode = _in_thread_executor(ctx), _in_a_thread
    monitors.request_run(ctx, "drift")
    execute()  # reads the reference, caches its profile, as the service's first run does
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
            window = in_mode(lambda: windows.window_of(ctx, session, dataset.id, schema, batches))
        out["window"] = _phase(base, started, arrow, window.table.get_total_buffer_size())
    out["window_rows"], out["window_columns"] = window.table.num_rows, window.table.num_columns
    params = DriftParams.model_validate(monitor.params or {})
    base, started = idle(), _clocks()
    with ArrowPeak() as arrow:
        in_mode(partial(DriftMonitor().run, profile, window.table, schema, params))
    out["drift"] = _phase(base, started, arrow)
    del window
    monitors.request_run(ctx, "drift")
    base, started = idle(), _clocks()
    with ArrowPeak() as arrow:
        execute()
    out["run"] = _phase(base, started, arrow)
    out["pool"], out["mode"] = pa.default_memory_pool().backend_name, mode
    print("RESULT " + json.dumps(out), flush=True)


def _worker_process(ctx: Any) -> Callable[[], None]:
    """A worker process's run: claimed and executed in its main thread (``runner.perform``)."""
    from dqm.service.runs import runner

    def execute() -> None:
        assert runner.work_once(ctx)
        _check_last_run(ctx)

    return execute


def _in_thread_executor(ctx: Any) -> Callable[[], None]:
    """The serving process's run executor with ``DQM_WORKER_PROCESSES=0``, as its worker loop
    drives it: ``pool.executors`` (which sets the process's Arrow pool) and ``drain``, which
    claims the run and executes it in a thread of its own."""
    from dqm.service.runs.draining import RunPool

    (executor,) = RunPool(ctx).executors

    def execute() -> None:
        executor.drain()
        _check_last_run(ctx)

    return execute


def _check_last_run(ctx: Any) -> None:
    from sqlalchemy import select

    from dqm.service.db.models import Run

    with ctx.sessions() as session:
        run = session.scalars(select(Run).order_by(Run.id.desc()).limit(1)).one()
        assert run.status == "succeeded", (run.status, run.error)


T = TypeVar("T")


def _here(work: Callable[[], T]) -> T:
    return work()


def _in_a_thread(work: Callable[[], T]) -> T:
    """``work`` in a new thread, as ``pool.InThread`` executes each run."""
    done: list[T] = []
    thread = threading.Thread(target=lambda: done.append(work()))
    thread.start()
    thread.join()
    assert done, "the phase failed in its thread"
    return done[0]


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
        "--modes",
        default=",".join(MODES),
        help="how runs execute, comma-separated: worker (a worker process, "
        "DQM_WORKER_PROCESSES >= 1, the default) and in-thread (a thread of the serving "
        "process, DQM_WORKER_PROCESSES=0)",
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--mode", default="worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.mode)
        return
    modes = args.modes.split(",")
    if unknown := set(modes) - set(MODES):
        sys.exit(f"unknown modes {sorted(unknown)}: {', '.join(MODES)}")
    bench = Bench("run_memory", description=__doc__)
    outs = {}
    with tempfile.TemporaryDirectory(prefix="dqm-bench-") as folder:
        prepare(folder, args.rows, args.reference_rows, args.batches)
        for mode in modes:
            outs[mode] = measure(folder, mode)
    for out in outs.values():
        report(bench, out, args.batches)
    bench.save()


def measure(folder: str, mode: str) -> dict[str, Any]:
    """The child's phases, its runs executed as in ``mode`` (``MODES``)."""
    env = {k: v for k, v in os.environ.items() if k != "ARROW_DEFAULT_MEMORY_POOL"}
    cmd = [sys.executable, "-m", "bench.run_memory", "--child", folder, "--mode", mode]
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
    where = MODES[out["mode"]]
    for phase, what in (
        ("window", "read the window (windows.window_of)"),
        ("drift", "drift monitor on the loaded window"),
        ("run", f"whole run ({RUN_PATH[out['mode']]})"),
    ):
        above, arrow = out[phase]["above_idle"], out[phase]["arrow_above_idle"]
        wall, cpu = out[phase]["wall"], out[phase]["cpu"]
        bench.add(
            f"{what}, {shape}, {where}, Arrow pool {out['pool']}: "
            "peak RSS above idle / window Arrow size",
            Timing(wall, cpu, [wall], [cpu]),
            value=above / window,
            unit="x",
            target=TARGET_RATIO if phase == "run" else None,
            target_of="value",
            note=f"{above / mib:.0f} MiB above an idle RSS of "
            f"{out[phase]['idle'] / mib:.0f} MiB (peak {out[phase]['peak'] / mib:.0f} MiB); "
            f"Arrow pools' peak {arrow / mib:.0f} MiB above idle",
        )


if __name__ == "__main__":
    main()
