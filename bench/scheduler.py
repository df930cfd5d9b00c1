"""Does the scheduler keep up? Real ``dqm serve`` processes, drift monitors on ``every``
schedules, start lag, throughput, skipped runs and memory over a few minutes.

    python -m bench.scheduler                       # scenarios a b c, 5 minutes each phase
    python -m bench.scheduler --minutes 1 --scenarios a b
    python -m bench.scheduler --scenarios c --postgres-url postgresql+psycopg://u@host/db

Set-up of every scenario: a fresh database (a SQLite file, or the PostgreSQL database of
``--postgres-url`` / ``DQM_BENCH_POSTGRES_URL``, whose ``public`` schema is dropped and
migrated again), a dataset of 25 columns (20 numerical, 5 categorical of 8-12 levels) with a
reference of ``--reference-rows`` (10,000) and three 10,000-row batches, then N drift monitors
(default Evidently-identical policy, ``window: {last_batches: 1}``) created one after the other
over one interval, so their schedules are spread evenly over it as they would be for monitors
created at different times (``--aligned`` creates them at once: every monitor due at the same
instant, a burst the workers drain). ``dqm serve`` runs with its defaults (scheduler tick 5 s,
runner poll 1 s) and ``DQM_WORKER_PROCESSES`` as given. Measured from the first due time after
creation for ``--minutes``: over the scheduled runs due in that window, the start lag
(``started_at - scheduled_for``, from the database) as median, p90, p99 and max; runs finished
per second; runs skipped (``dqm_runs_skipped_total`` from every replica's ``/metrics``, by
reason) and failed; the runs still queued at the end and their wait; the peak RSS of the
server process trees (serving processes, forkserver, worker processes; sampled every 0.5 s
from /proc), also as PSS (pages the worker processes share with the forkserver counted once);
wall and CPU time of the trees (from /proc: PostgreSQL's own CPU is not included), cores and
processes.

Scenarios:

(a) SQLite, 60 monitors every 10 s: median lag ≤ 0.5 s, p99 ≤ 2 s.
(b) SQLite, 200 monitors every 5 s: more work than 2 cores do, so the lag must stay bounded
    (p99 ≤ the 5 s interval) with the runs that could not start in time skipped and counted.
(c) PostgreSQL, 400 monitors every 5 s (80 runs/s: more than two worker processes finish on
    2 cores, so both set-ups are saturated) with replicas of ONE worker process each
    (``DQM_WORKER_PROCESSES=1``): first one replica, then, on a fresh database, two; two must
    finish ≥ 1.8× the runs of one. One worker process per replica makes the comparison about
    replicas, not about the pool inside one (a replica with the default pool already uses
    every core of this machine); the serving processes and PostgreSQL share the same cores.

``--databases`` runs (a) and (b) on PostgreSQL as well. Each scenario prints a line per
measurement with its target and PASS/FAIL, and the results go to bench/results/scheduler.json.
The machine's load matters: the bench prints ``uptime`` before and after.
"""

from __future__ import annotations

import argparse
import io
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import create_engine, text

from bench.harness import Bench, Timing, descendants

PARQUET = {"content-type": "application/vnd.apache.parquet"}
NUMERIC, CATEGORICAL = 20, 5
DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/dqm_bench"
_TICK = os.sysconf("SC_CLK_TCK")
_PAGE = os.sysconf("SC_PAGE_SIZE")


@dataclass(frozen=True)
class Scenario:
    key: str
    database: str  # sqlite | postgresql
    monitors: int
    every: float
    replicas: int
    processes: int | None  # DQM_WORKER_PROCESSES; None: the default (the cores)


@dataclass
class Result:
    lags: list[float]
    due: int
    finished: int
    failed: int
    skipped: dict[str, float]
    queued_at_end: int
    oldest_wait: float
    seconds: float
    cpu: float
    peak_rss: int
    peak_pss: int
    processes: int
    notes: list[str] = field(default_factory=list)

    def percentile(self, q: float) -> float:
        if not self.lags:
            return float("nan")
        return float(np.percentile(self.lags, q))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# ---------------------------------------------------------------- data


def _table(rows: int, seed: int, shift: float) -> pa.Table:
    rng = np.random.default_rng(seed)
    columns: dict[str, Any] = {}
    for i in range(NUMERIC):
        columns[f"n{i}"] = rng.normal(shift * (i % 3) * 0.1, 1 + i % 4, rows).round(3)
    for i in range(CATEGORICAL):
        levels = [f"c{i}_{k}" for k in range(8 + i)]
        columns[f"c{i}"] = rng.choice(levels, rows)
    return pa.table(columns)


def _parquet(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


def _schema() -> dict[str, Any]:
    cols = [{"name": f"n{i}", "type": "numerical"} for i in range(NUMERIC)]
    cols += [{"name": f"c{i}", "type": "categorical"} for i in range(CATEGORICAL)]
    return {"columns": cols}


# ---------------------------------------------------------------- processes


def _proc_stat(pid: int) -> list[str] | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat[stat.rindex(")") + 2 :].split()


def tree(pid: int) -> list[int]:
    return [pid, *descendants(pid)]


def tree_cpu(pids: list[int]) -> float:
    """CPU seconds of the live processes of the trees and of the children they waited for."""
    total = 0.0
    for root in pids:
        for pid in tree(root):
            fields = _proc_stat(pid)
            if fields is not None:
                total += sum(int(f) for f in fields[11:15]) / _TICK
    return total


def tree_rss(pids: list[int]) -> tuple[int, int, int]:
    """(resident bytes, proportional bytes, processes) of the trees. The worker processes share
    the forkserver's pages copy-on-write: the RSS sum counts them once per process, PSS splits
    them among the sharers (from /proc/<pid>/smaps_rollup)."""
    rss = pss = count = 0
    for root in pids:
        for pid in tree(root):
            fields = _proc_stat(pid)
            if fields is None:
                continue
            rss, count = rss + int(fields[21]) * _PAGE, count + 1
            try:
                rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
            except OSError:
                continue
            found = re.search(r"^Pss:\s+(\d+) kB", rollup, re.M)
            pss += int(found.group(1)) * 1024 if found else 0
    return rss, pss, count


class Sampler:
    """Peak RSS and PSS and most processes of the server trees, every 0.5 s in a thread."""

    def __init__(self, pids: list[int]) -> None:
        self.pids, self.peak, self.peak_pss, self.processes = pids, 0, 0, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.5):
            rss, pss, count = tree_rss(self.pids)
            self.peak, self.peak_pss = max(self.peak, rss), max(self.peak_pss, pss)
            self.processes = max(self.processes, count)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


@contextmanager
def serving(env: dict[str, str], log: Path) -> Iterator[tuple[httpx.Client, int]]:
    """``dqm serve`` with ``env`` added; yields a client and its pid; SIGTERM at the end."""
    port = free_port()
    environ = {k: v for k, v in os.environ.items() if not k.startswith("DQM_")}
    environ |= {"DQM_LOG_LEVEL": "warning", **env}
    command = [sys.executable, "-m", "dqm.service.cli", "serve", "--port", str(port)]
    with log.open("ab") as output:
        proc = subprocess.Popen(
            [*command, "--no-migrate"], env=environ, stdout=output, stderr=output
        )
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if client.get("/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"dqm serve did not start (exit {proc.poll()}); see {log}")
            time.sleep(0.1)
        yield client, proc.pid
    finally:
        client.close()
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def postgres_unavailable(url: str) -> str | None:
    """Why the bench's PostgreSQL database cannot be used, or None."""
    engine = create_engine(url, connect_args={"connect_timeout": 5})
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - any reason is printed and the scenario skipped
        return f"{url}: {type(exc).__name__}: {str(exc).splitlines()[0]}"
    finally:
        engine.dispose()
    return None


def fresh_database(kind: str, folder: Path, postgres_url: str) -> str:
    """A migrated, empty database; returns its URL."""
    if kind == "sqlite":
        path = folder / "dqm.db"
        path.unlink(missing_ok=True)
        url = f"sqlite:///{path}"
    else:
        url = postgres_url
        engine = create_engine(url)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DQM_")}
    env |= {"DQM_DATABASE_URL": url, "DQM_LOG_LEVEL": "warning"}
    subprocess.run([sys.executable, "-m", "dqm.service.cli", "migrate"], env=env, check=True)
    return url


# ---------------------------------------------------------------- one phase


def set_up(client: httpx.Client, scenario: Scenario, reference_rows: int, aligned: bool) -> None:
    """The dataset, its reference and batches, and the monitors (spread over one interval)."""
    created = client.post("/v1/datasets", json={"name": "bench", "schema": _schema()})
    created.raise_for_status()
    reference = _parquet(_table(reference_rows, 1, 0.0))
    client.put(
        "/v1/datasets/bench/reference", content=reference, headers=PARQUET
    ).raise_for_status()
    for b in range(3):
        batch = _parquet(_table(10_000, 2 + b, 1.0))
        client.post(
            f"/v1/datasets/bench/batches?batch_id=b{b}", content=batch, headers=PARQUET
        ).raise_for_status()
    start = time.monotonic()
    for i in range(scenario.monitors):
        if not aligned:
            time.sleep(max(0.0, start + i * scenario.every / scenario.monitors - time.monotonic()))
        monitor = {
            "name": f"m{i:03d}",
            "dataset": "bench",
            "kind": "drift",
            "schedule": {"every": f"{scenario.every:g}s"},
            "window": {"last_batches": 1},
        }
        client.post("/v1/monitors", json=monitor).raise_for_status()


SKIPPED = re.compile(r"^dqm_runs_skipped_total\{(?P<labels>[^}]*)\} (?P<value>\S+)$", re.M)


def skipped_counts(clients: list[httpx.Client]) -> dict[str, float]:
    """``dqm_runs_skipped_total`` summed over the replicas, by reason."""
    counts: dict[str, float] = {}
    for client in clients:
        page = client.get("/metrics")
        for _ in range(20):  # a scrape may fail while the database is busy: try again
            if page.status_code == 200:
                break
            time.sleep(0.5)
            page = client.get("/metrics")
        page.raise_for_status()
        for found in SKIPPED.finditer(page.text):
            reason = re.search(r'reason="([^"]*)"', found["labels"])
            key = reason.group(1) if reason else ""
            counts[key] = counts.get(key, 0.0) + float(found["value"])
    return counts


def collect(url: str, start: datetime, end: datetime) -> dict[str, Any]:
    """Lags and statuses of the scheduled runs due in [start, end), from the database."""
    engine = create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT scheduled_for, started_at, finished_at, status, error FROM runs "
                "WHERE trigger = 'schedule' AND scheduled_for >= :start AND scheduled_for < :end"
            ),
            {"start": _db_time(url, start), "end": _db_time(url, end)},
        ).all()
        finished = conn.execute(
            text(
                "SELECT count(*) FROM runs WHERE status = 'succeeded' "
                "AND finished_at >= :start AND finished_at < :end"
            ),
            {"start": _db_time(url, start), "end": _db_time(url, end)},
        ).scalar_one()
    engine.dispose()
    now = datetime.now(UTC)
    lags, waiting, failed, skipped = [], [], 0, 0
    for scheduled_value, started_value, _, status, _error in rows:
        scheduled, started = _aware(scheduled_value), _aware(started_value)
        assert scheduled is not None
        if status == "queued":
            waiting.append((now - scheduled).total_seconds())
        elif started is not None:
            lags.append((started - scheduled).total_seconds())
        failed += status == "failed"
        skipped += status == "skipped"
    return {
        "lags": lags,
        "due": len(rows),
        "finished": int(finished),
        "failed": failed,
        "skipped_in_db": skipped,
        "queued": len(waiting),
        "oldest_wait": max(waiting, default=0.0),
    }


def _db_time(url: str, t: datetime) -> Any:
    # SQLite stores naive UTC text (dqm's UTCDateTime); PostgreSQL compares aware values.
    return t.replace(tzinfo=None).isoformat(sep=" ") if url.startswith("sqlite") else t


def _aware(value: datetime | str | None) -> datetime | None:
    if value is None:
        return None
    when = datetime.fromisoformat(value) if isinstance(value, str) else value
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def run_phase(scenario: Scenario, args: argparse.Namespace, folder: Path, replicas: int) -> Result:
    """One measurement: fresh database, ``replicas`` dqm serve, set-up, ``--minutes`` of runs."""
    url = fresh_database(scenario.database, folder, args.postgres_url)
    env = {"DQM_DATABASE_URL": url, "DQM_DATA_DIR": str(folder / "data")}
    if scenario.processes is not None:
        env["DQM_WORKER_PROCESSES"] = str(scenario.processes)
    log = folder / f"serve-{scenario.key}-{scenario.database}-{replicas}.log"
    with ExitStack() as stack:
        servers = [stack.enter_context(serving(env, log)) for _ in range(replicas)]
        clients, pids = [c for c, _ in servers], [p for _, p in servers]
        set_up(clients[0], scenario, args.reference_rows, args.aligned)
        start = datetime.now(UTC) + timedelta(seconds=scenario.every)
        time.sleep(max(0.0, (start - datetime.now(UTC)).total_seconds()))
        skipped_before, cpu_before, wall_before = skipped_counts(clients), tree_cpu(pids), start
        with Sampler(pids) as sampler:
            time.sleep(args.minutes * 60)
            end = datetime.now(UTC)
            cpu = tree_cpu(pids) - cpu_before
            skipped_after = skipped_counts(clients)
            time.sleep(scenario.every)  # runs due just before the end get their chance to start
            found = collect(url, start, end)
        seconds = (end - wall_before).total_seconds()
    skipped = {
        reason: skipped_after.get(reason, 0.0) - skipped_before.get(reason, 0.0)
        for reason in skipped_after
    }
    return Result(
        lags=found["lags"],
        due=found["due"],
        finished=found["finished"],
        failed=found["failed"],
        skipped=skipped,
        queued_at_end=found["queued"],
        oldest_wait=found["oldest_wait"],
        seconds=seconds,
        cpu=cpu,
        peak_rss=sampler.peak,
        peak_pss=sampler.peak_pss,
        processes=sampler.processes,
        notes=[f"{found['skipped_in_db']} due runs skipped in the database"],
    )


# ---------------------------------------------------------------- report


def report(bench: Bench, scenario: Scenario, result: Result, label: str) -> None:
    name = f"({scenario.key}) {scenario.database}, {scenario.monitors} monitors every "
    name += f"{scenario.every:g} s, {label}"
    timing = Timing(result.seconds, result.cpu, [result.seconds], [result.cpu])
    lag_target = {"a": (0.5, 2.0), "b": (None, scenario.every)}.get(scenario.key, (None, None))
    bench.add(f"{name}: window", timing, processes=result.processes, note=_load_note())
    bench.add(
        f"{name}: lag median",
        value=statistics.median(result.lags) if result.lags else float("nan"),
        unit="s",
        target=lag_target[0],
    )
    bench.add(f"{name}: lag p90", value=result.percentile(90), unit="s")
    bench.add(f"{name}: lag p99", value=result.percentile(99), unit="s", target=lag_target[1])
    bench.add(f"{name}: lag max", value=max(result.lags, default=float("nan")), unit="s")
    bench.add(
        f"{name}: runs finished",
        value=result.finished / result.seconds,
        unit="runs/s",
        note=f"{result.finished} runs; {result.due} due, {len(result.lags)} started",
    )
    skipped = sum(result.skipped.values())
    reasons = ", ".join(f"{k} {v:g}" for k, v in sorted(result.skipped.items()) if v)
    bench.add(
        f"{name}: runs skipped",
        value=skipped,
        unit="runs",
        note=f"{reasons or 'none'}; {'; '.join(result.notes)}",
    )
    bench.add(f"{name}: runs failed", value=result.failed, unit="runs", target=0)
    bench.add(
        f"{name}: runs queued at the end",
        value=result.queued_at_end,
        unit="runs",
        target=scenario.monitors,
        note=f"oldest waited {result.oldest_wait:.1f} s",
    )
    bench.add(
        f"{name}: peak RSS",
        value=result.peak_rss / 2**20,
        unit="MiB",
        note=f"sum over {result.processes} processes; PSS {result.peak_pss / 2**20:.0f} MiB",
    )


def _load_note() -> str:
    return "load " + " ".join(f"{x:.2f}" for x in os.getloadavg())


SCENARIOS: dict[str, tuple[int, float]] = {"a": (60, 10.0), "b": (200, 5.0), "c": (400, 5.0)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenarios", nargs="+", default=["a", "b", "c"], choices="abc")
    parser.add_argument("--minutes", type=float, default=5.0, help="measured per phase")
    parser.add_argument(
        "--databases",
        nargs="+",
        default=["sqlite"],
        choices=["sqlite", "postgresql"],
        help="for scenarios a and b",
    )
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("DQM_BENCH_POSTGRES_URL", DEFAULT_POSTGRES),
        help="its public schema is dropped",
    )
    parser.add_argument(
        "--processes",
        type=int,
        default=None,
        help="DQM_WORKER_PROCESSES for a and b (default: dqm's, the cores)",
    )
    parser.add_argument("--reference-rows", type=int, default=10_000)
    parser.add_argument("--aligned", action="store_true", help="create the monitors at once")
    parser.add_argument("--keep", action="store_true", help="keep the work folder and logs")
    args = parser.parse_args(argv)
    bench = Bench("scheduler", description="real dqm serve, drift monitors on every schedules")
    folder = Path(tempfile.mkdtemp(prefix="dqm-bench-scheduler-"))
    print(f"[scheduler] work folder {folder}; {os.cpu_count()} cores", flush=True)
    for key in args.scenarios:
        monitors, every = SCENARIOS[key]
        if key == "c" or "postgresql" in args.databases:
            reason = postgres_unavailable(args.postgres_url)
            if reason:
                print(f"[scheduler] ({key}) on PostgreSQL SKIPPED: {reason}", flush=True)
                if key == "c":
                    continue
        if key == "c":
            scenario = Scenario("c", "postgresql", monitors, every, 1, 1)
            one = run_phase(scenario, args, folder, 1)
            report(bench, scenario, one, "1 replica x 1 worker process")
            two = run_phase(scenario, args, folder, 2)
            report(bench, scenario, two, "2 replicas x 1 worker process")
            bench.add(
                "(c) postgresql: runs finished, 2 replicas / 1",
                value=two.finished / max(1, one.finished),
                unit="x",
                target=1.8,
                at_least=True,
                note=f"{two.finished} vs {one.finished} runs in {args.minutes:g} min",
            )
            continue
        for database in args.databases:
            if database == "postgresql" and postgres_unavailable(args.postgres_url):
                continue
            scenario = Scenario(key, database, monitors, every, 1, args.processes)
            result = run_phase(scenario, args, folder, 1)
            processes = args.processes if args.processes is not None else os.cpu_count()
            report(bench, scenario, result, f"{processes} worker processes")
    bench.save()
    if not args.keep:
        import shutil

        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
