"""``GET /metrics`` of a real ``dqm serve`` holding 100 drift monitors x 50 columns, idle and
while runs execute.

The monitors are production ones: each has run for real (``POST /run``) on a 50-column dataset
(40 numerical columns, some with missing values, 9 categorical, and a target), so /metrics holds
every family a drift run writes: ``drift_score``, ``missing_share`` and ``effect_size`` per
column, ``share_drifted_columns``, ``number_drifted_columns``, ``dataset_drift`` and
``target_drift``, plus the run counters, histograms and alerts.

Idle: ``--scrapes`` sequential scrapes. Busy: every monitor is then scheduled every
``--every`` seconds, so the server's worker executes runs throughout while scrapes are timed for
``--busy-seconds`` (30). Printed per phase: scrape wall time p50 / p99 (client side, over
loopback), the server's CPU per scrape (its processes' CPU over the phase / scrapes, from
/proc, and the same above the CPU it uses in 5 s without requests, measured just before: in the
busy phase that background is mostly the runs), runs finished meanwhile, cores and processes;
and the CPU time p50 / p99 of the handler's own work (process families + the snapshot's text),
measured in this process with ``time.thread_time`` against the same database. Target: 100 ms.

Run: ``.venv/bin/python -m bench.metrics_scrape [--monitors 100] [--features 49] [--rows 1000]
[--scrapes 200] [--every 5s] [--busy-seconds 30]
[--postgres postgresql+psycopg://postgres@127.0.0.1:5432/EMPTY_DB]`` (``--features`` feature
columns plus the target).
"""

from __future__ import annotations

import argparse
import io
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from bench.drift_vs_evidently import make_data
from bench.harness import Bench, _proc_stat, descendants
from dqm.service.db.migrate import upgrade
from dqm.service.db.session import make_engine, make_sessionmaker
from dqm.service.durations import duration_seconds
from dqm.service.metrics import PROCESS_TEXT, RUN_DURATION, RUN_LAG
from dqm.service.metrics_snapshot import MetricsSnapshot
from dqm.service.settings import Settings
from tests.support.process import dqm_process

TARGET_SECONDS = 0.1
PARQUET = {"content-type": "application/vnd.apache.parquet"}


def dataset(features: int, rows: int, seed: int) -> tuple[bytes, dict[str, Any]]:
    """Parquet bytes of ``features`` columns plus a target, and the dataset's schema."""
    n_cat = max(1, features // 5)
    table, _, schema = make_data(rows, features - n_cat, n_cat, seed=seed)
    rng = np.random.default_rng(seed)
    table = table.append_column("label", pa.array(rng.choice(["a", "b"], rows)))
    sink = io.BytesIO()
    pq.write_table(table, sink)
    columns = [{"name": c.name, "type": c.type} for c in schema.columns]
    columns.append({"name": "label", "type": "categorical", "role": "target"})
    return sink.getvalue(), {"columns": columns}


def populate(client: httpx.Client, monitors: int, features: int, rows: int) -> int:
    """A dataset, ``monitors`` drift monitors (disabled), one real run each; the values."""
    reference, schema = dataset(features, rows, 1)
    batch, _ = dataset(features, rows, 2)
    client.post("/v1/datasets", json={"name": "d", "schema": schema}).raise_for_status()
    client.put("/v1/datasets/d/reference", content=reference, headers=PARQUET).raise_for_status()
    client.post("/v1/datasets/d/batches", content=batch, headers=PARQUET).raise_for_status()
    values = 0
    for i in range(monitors):
        spec = {
            "name": f"m{i:03d}",
            "dataset": "d",
            "kind": "drift",
            "schedule": {"every": "1h"},
            "window": {"last_batches": 1},
            "enabled": False,
        }
        client.post("/v1/monitors", json=spec).raise_for_status()
        run = client.post(f"/v1/monitors/m{i:03d}/run?wait=true").json()
        assert run["status"] == "succeeded", run
        values = sum(1 for m in run["metrics"] if m["value"] is not None)
    return values


def server_cpu() -> float:
    return sum(s[1] for p in descendants() if (s := _proc_stat(p)) is not None)


def runs_finished(client: httpx.Client) -> float:
    """``dqm_runs_total`` summed over monitors and outcomes."""
    lines = client.get("/metrics").text.splitlines()
    return sum(float(line.rsplit(" ", 1)[1]) for line in lines if line.startswith("dqm_runs_total"))


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def background_cpu(seconds: float = 5.0) -> float:
    """CPU seconds per second the server's processes use without any request (its worker's
    loops, the snapshot's refresh, runs when they are scheduled)."""
    before = server_cpu()
    time.sleep(seconds)
    return (server_cpu() - before) / seconds


def phase(
    bench: Bench, name: str, client: httpx.Client, scrapes: int, seconds: float = 0.0
) -> None:
    """Time sequential scrapes, at least ``scrapes`` and for ``seconds``; rows with wall
    p50/p99 and server CPU."""
    background = background_cpu()
    runs_before, cpu_before = runs_finished(client), server_cpu()
    walls: list[float] = []
    sizes: list[int] = []
    started = time.perf_counter()
    while len(walls) < scrapes or time.perf_counter() - started < seconds:
        t = time.perf_counter()
        response = client.get("/metrics")
        walls.append(time.perf_counter() - t)
        response.raise_for_status()
        sizes.append(len(response.content))
    elapsed = time.perf_counter() - started
    cpu = server_cpu() - cpu_before
    scrapes = len(walls)
    per_scrape = max(0.0, cpu - background * elapsed) / scrapes
    runs = runs_finished(client) - runs_before
    samples = sum(1 for line in response.text.splitlines() if line and line[0] != "#")
    bench.add(
        f"{name}: GET /metrics p50",
        value=statistics.median(walls),
        target=TARGET_SECONDS,
        processes=1 + len(descendants()),
        note=f"p99 {pct(walls, 0.99) * 1e3:.1f} ms, max {max(walls) * 1e3:.1f} ms; dqm serve "
        f"CPU {cpu / scrapes * 1e3:.1f} ms per scrape, {per_scrape * 1e3:.1f} ms above its "
        f"background ({background * 1e3:.0f} ms CPU per s without requests); {runs:.0f} runs "
        f"finished in {elapsed:.1f} s; {samples} samples, {sizes[-1] / 1e6:.2f} MB",
    )
    bench.add(f"{name}: GET /metrics p99", value=pct(walls, 0.99), target=TARGET_SECONDS)


def handler_cpu(bench: Bench, url: str, monitors: int, scrapes: int) -> None:
    """CPU of the handler's own work, in this process: process families (with a run duration
    and lag observed for every monitor, as in the server) + the snapshot's text; and the cost
    of the snapshot's refreshes, which run in the background."""
    for i in range(monitors):
        RUN_DURATION.labels(f"m{i:03d}").observe(0.2)
        RUN_LAG.labels(f"m{i:03d}").observe(0.3)
    sessions = make_sessionmaker(make_engine(url))
    snapshot = MetricsSnapshot(sessions, 50, refresh_seconds=3600, resync_seconds=3600)
    full = timed(lambda: snapshot.refresh(full=True))
    incremental = timed(lambda: snapshot.refresh(full=False))
    cpus, walls = [], []
    for _ in range(scrapes):
        t, c = time.perf_counter(), time.thread_time()
        body = PROCESS_TEXT.render() + snapshot.exposition()
        cpus.append(time.thread_time() - c)
        walls.append(time.perf_counter() - t)
    bench.add(
        "handler CPU p50 (in process)",
        value=statistics.median(cpus),
        target=TARGET_SECONDS,
        threads=1,
        note=f"p99 {pct(cpus, 0.99) * 1e3:.2f} ms CPU, wall p50 "
        f"{statistics.median(walls) * 1e3:.2f} ms, {len(body) / 1e6:.2f} MB; background "
        f"refresh: full {full * 1e3:.0f} ms, incremental with nothing new {incremental * 1e3:.1f}"
        " ms (CPU)",
    )


def timed(fn: Any) -> float:
    """CPU seconds of one call in this thread."""
    started = time.thread_time()
    fn()
    return time.thread_time() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--monitors", type=int, default=100)
    parser.add_argument("--features", type=int, default=49, help="feature columns (+1 target)")
    parser.add_argument("--rows", type=int, default=1000, help="reference and batch rows")
    parser.add_argument("--scrapes", type=int, default=200)
    parser.add_argument("--every", default="5s", help="schedule of every monitor when busy")
    parser.add_argument("--busy-seconds", type=float, default=30.0, help="scrape this long")
    parser.add_argument("--postgres", help="URL of an EMPTY PostgreSQL database")
    args = parser.parse_args()
    backend = "postgresql" if args.postgres else "sqlite"
    bench = Bench(f"metrics_scrape_{backend}", description=(__doc__ or "").splitlines()[0])
    folder = Path(tempfile.mkdtemp(prefix="dqm-bench-"))
    url = args.postgres or f"sqlite:///{folder / 'dqm.db'}"
    settings = Settings(database_url=url, data_dir=str(folder / "data"))
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    with dqm_process(settings) as client:
        started = time.perf_counter()
        values = populate(client, args.monitors, args.features, args.rows)
        print(
            f"[{bench.name}] {args.monitors} monitors ran once ({values} values each) in "
            f"{time.perf_counter() - started:.1f} s",
            flush=True,
        )
        last = f'metric="share_drifted_columns",monitor="m{args.monitors - 1:03d}"'
        deadline = time.monotonic() + 60
        while last not in client.get("/metrics").text:  # the snapshot has every run
            assert time.monotonic() < deadline, "the snapshot never showed the runs"
            time.sleep(0.2)
        label = f"{backend}, {args.monitors} monitors x {args.features + 1} columns"
        phase(bench, f"{label}, idle", client, args.scrapes)
        for i in range(args.monitors):
            patch = {"enabled": True, "schedule": {"every": args.every}}
            client.patch(f"/v1/monitors/m{i:03d}", json=patch).raise_for_status()
        time.sleep(duration_seconds(args.every))  # the scheduled runs are under way
        busy = f"{label}, runs executing (each monitor every {args.every})"
        phase(bench, busy, client, args.scrapes, args.busy_seconds)
        for i in range(args.monitors):
            client.patch(f"/v1/monitors/m{i:03d}", json={"enabled": False}).raise_for_status()
    handler_cpu(bench, url, args.monitors, args.scrapes)
    bench.save()


if __name__ == "__main__":
    main()
