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
(c) PostgreSQL, 400 monitors every 5 s (80 runs/s: more than two worker processes finish, so
    both set-ups are saturated) with replicas of ONE worker process each
    (``DQM_WORKER_PROCESSES=1``): first one replica, then, on a fresh database, two; two must
    finish ≥ 1.8× the runs of one. Replicas in production run on nodes of their own: here each
    replica's whole process tree (dqm serve, its forkserver and worker processes) runs in a
    cgroup of its own with a CPU quota of ``--replica-cpus`` cores (default 0.5, the same in
    both phases, so two replicas and PostgreSQL fit in 2 cores; PostgreSQL is not capped) and
    a high weight, so that the budget holds on a loaded machine too (``bench.cpu_cgroup``; the
    process enters its group before its first instruction, and the bench checks from /proc
    every 0.5 s that no process of the trees is outside it). Without a budget the replicas
    share the machine's cores with each other and PostgreSQL, and on 2 cores one replica
    already fills them: the ratio would measure the machine, not the replicas. Where cgroups
    are not writable (or with ``--replica-cpus 0``) the bench says so and measures uncapped
    replicas, labelled as such. Per replica it reports the tree's CPU in cores (at most the
    quota), the cgroup's own count and how often the quota held it back; for PostgreSQL, the
    CPU of its backends and what they were doing (pg_stat_activity sampled every 0.5 s: lock
    waits would show there). One worker process per replica makes the comparison about
    replicas, not about the pool inside one.

``--databases`` runs (a) and (b) on PostgreSQL as well. Each scenario prints a line per
measurement with its target and PASS/FAIL, and the results go to bench/results/scheduler.json.
The machine's load matters: the bench prints ``uptime`` before and after.
"""

from __future__ import annotations

import argparse
import contextlib
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

from bench import cpu_cgroup
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
    replicas: list[ReplicaCpu] = field(default_factory=list)
    postgres: PostgresLoad | None = None

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
    """Peak RSS and PSS and most processes of the server trees, every 0.5 s in a thread; with
    cgroups (``groups``: root pid -> its group), also the processes of each tree found outside
    their group (from /proc/<pid>/cgroup) and how many processes were checked."""

    def __init__(
        self, pids: list[int], groups: dict[int, cpu_cgroup.CpuGroup] | None = None
    ) -> None:
        self.pids, self.peak, self.peak_pss, self.processes = pids, 0, 0, 0
        self.groups = groups or {}
        self.escaped: set[int] = set()
        self.checked = 0  # most processes of the trees checked in one sample
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.5):
            rss, pss, count = tree_rss(self.pids)
            self.peak, self.peak_pss = max(self.peak, rss), max(self.peak_pss, pss)
            self.processes = max(self.processes, count)
            checked = 0
            for root, group in self.groups.items():
                members = tree(root)
                self.escaped |= set(group.escaped(members))
                checked += len(members)
            self.checked = max(self.checked, checked)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


@dataclass(frozen=True)
class CpuSnapshot:
    at: float  # time.monotonic()
    tree: float  # CPU seconds of the tree, from /proc
    serving: float  # of the serving process itself
    group: float | None  # the cgroup's own count (exited processes included)
    throttled: tuple[int, float] | None


def cpu_snapshot(root: int, group: cpu_cgroup.CpuGroup | None) -> CpuSnapshot:
    fields = _proc_stat(root)
    serving = sum(int(f) for f in fields[11:13]) / _TICK if fields else 0.0
    return CpuSnapshot(
        time.monotonic(),
        tree_cpu([root]),
        serving,
        group.usage() if group else None,
        group.throttled() if group else None,
    )


@dataclass(frozen=True)
class ReplicaCpu:
    """One replica's CPU over the measured window."""

    seconds: float
    tree: float
    serving: float
    group: float | None
    throttled: tuple[int, float] | None
    cpus: float | None  # its quota; None: not capped

    @staticmethod
    def between(a: CpuSnapshot, b: CpuSnapshot, cpus: float | None) -> ReplicaCpu:
        group = b.group - a.group if a.group is not None and b.group is not None else None
        throttled = None
        if a.throttled is not None and b.throttled is not None:
            throttled = (b.throttled[0] - a.throttled[0], b.throttled[1] - a.throttled[1])
        return ReplicaCpu(
            b.at - a.at, b.tree - a.tree, b.serving - a.serving, group, throttled, cpus
        )


def _postgres_cpu(pids: set[int] | None = None) -> float:
    """CPU seconds of the PostgreSQL processes on this machine (``pids``, or every process named
    postgres: the postmaster's waited children count the backends that exited)."""
    if pids is None:
        pids = set()
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    if (entry / "comm").read_text().strip() == "postgres":
                        pids.add(int(entry.name))
                except OSError:
                    continue
    total = 0.0
    for pid in pids:
        fields = _proc_stat(pid)
        if fields is not None:
            total += sum(int(f) for f in fields[11:15]) / _TICK
    return total


@dataclass
class PostgresLoad:
    """PostgreSQL over the window: CPU seconds of the bench database's backends (those alive at
    the end) and of every PostgreSQL process on this machine (other databases'
    too), and what the bench database's non-idle backends were doing, sampled every 0.5 s
    from pg_stat_activity (``state/wait event``, ``CPU`` when not waiting)."""

    seconds: float = 0.0
    backends_cpu: float = 0.0
    cluster_cpu: float = 0.0
    samples: int = 0
    waits: dict[str, int] = field(default_factory=dict)


class PostgresWatch:
    """Fills a ``PostgresLoad`` over the ``with`` block (a thread samples pg_stat_activity)."""

    QUERY = text(
        "SELECT pid, state, wait_event_type, wait_event FROM pg_stat_activity "
        "WHERE datname = current_database() AND pid <> pg_backend_pid()"
    )

    def __init__(self, url: str) -> None:
        self.engine = create_engine(url, pool_size=1)
        self.load = PostgresLoad()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _backends(self) -> dict[int, str]:
        with self.engine.connect() as conn:
            rows = conn.execute(self.QUERY).all()
        return {
            int(pid): f"{state}/{kind}:{event}" if event else f"{state}/CPU"
            for pid, state, kind, event in rows
        }

    def _run(self) -> None:
        while not self._stop.wait(0.5):
            self.load.samples += 1
            for what in self._backends().values():
                if not what.startswith("idle/"):
                    self.load.waits[what] = self.load.waits.get(what, 0) + 1

    def __enter__(self) -> PostgresWatch:
        self._start = (time.monotonic(), _postgres_cpu())
        self._cpu_start = {pid: _postgres_cpu({pid}) for pid in self._backends()}
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        began, cluster = self._start
        end = set(self._backends())
        self.load.seconds = time.monotonic() - began
        self.load.cluster_cpu = _postgres_cpu() - cluster
        # a backend that exited meanwhile is lost here (its CPU is in the cluster's)
        self.load.backends_cpu = sum(
            _postgres_cpu({pid}) - self._cpu_start.get(pid, 0.0) for pid in end
        )
        self.engine.dispose()


@contextmanager
def serving(
    env: dict[str, str], log: Path, group: cpu_cgroup.CpuGroup | None = None
) -> Iterator[tuple[httpx.Client, int]]:
    """``dqm serve`` with ``env`` added, inside ``group`` from its first instruction when
    given; yields a client and its pid; SIGTERM at the end."""
    port = free_port()
    environ = {k: v for k, v in os.environ.items() if not k.startswith("DQM_")}
    environ |= {"DQM_LOG_LEVEL": "warning", **env}
    command = [sys.executable, "-m", "dqm.service.cli", "serve", "--port", str(port)]
    command.append("--no-migrate")
    with log.open("ab") as output:
        proc = subprocess.Popen(
            group.command(command) if group else command, env=environ, stdout=output, stderr=output
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


def run_phase(
    scenario: Scenario,
    args: argparse.Namespace,
    folder: Path,
    replicas: int,
    cpus: float | None = None,
) -> Result:
    """One measurement: fresh database, ``replicas`` dqm serve, set-up, ``--minutes`` of runs.
    With ``cpus``, each replica's whole process tree runs in a cgroup of its own limited to
    ``cpus`` cores (removed at the end, also on error)."""
    url = fresh_database(scenario.database, folder, args.postgres_url)
    env = {"DQM_DATABASE_URL": url, "DQM_DATA_DIR": str(folder / "data")}
    if scenario.processes is not None:
        env["DQM_WORKER_PROCESSES"] = str(scenario.processes)
    log = folder / f"serve-{scenario.key}-{scenario.database}-{replicas}.log"
    with ExitStack() as stack:
        groups: list[cpu_cgroup.CpuGroup | None] = [
            stack.enter_context(cpu_cgroup.cpu_group(_group_name(replicas, i), cpus))
            if cpus
            else None
            for i in range(replicas)
        ]
        # entered after the groups, so each server stops before its group is removed
        servers = [stack.enter_context(serving(env, log, group)) for group in groups]
        clients, pids = [c for c, _ in servers], [p for _, p in servers]
        capped = {pid: group for pid, group in zip(pids, groups, strict=True) if group}
        set_up(clients[0], scenario, args.reference_rows, args.aligned)
        start = datetime.now(UTC) + timedelta(seconds=scenario.every)
        time.sleep(max(0.0, (start - datetime.now(UTC)).total_seconds()))
        skipped_before, cpu_before, wall_before = skipped_counts(clients), tree_cpu(pids), start
        watch = PostgresWatch(url) if scenario.database == "postgresql" else None
        with Sampler(pids, capped) as sampler, watch or contextlib.nullcontext():
            before = [cpu_snapshot(pid, group) for pid, group in zip(pids, groups, strict=True)]
            time.sleep(args.minutes * 60)
            after = [cpu_snapshot(pid, group) for pid, group in zip(pids, groups, strict=True)]
            end = datetime.now(UTC)
            cpu = tree_cpu(pids) - cpu_before
        skipped_after = skipped_counts(clients)
        time.sleep(scenario.every)  # runs due just before the end get their chance to start
        found = collect(url, start, end)
        seconds = (end - wall_before).total_seconds()
        notes = [f"{found['skipped_in_db']} due runs skipped in the database"]
        if capped:
            # every process of the trees, checked every 0.5 s, and the groups' members now
            outside = sorted(
                sampler.escaped
                | {pid for root, group in capped.items() for pid in group.escaped(tree(root))}
            )
            members = sum(len(group.pids()) for group in capped.values())
            notes.append(
                f"cgroups: {members} processes in them at the end, up to {sampler.checked} "
                f"checked per 0.5 s sample, {len(outside)} outside"
                + (f" (pids {outside})" if outside else "")
            )
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
        notes=notes,
        replicas=[ReplicaCpu.between(a, b, cpus) for a, b in zip(before, after, strict=True)],
        postgres=watch.load if watch else None,
    )


def _group_name(replicas: int, index: int) -> str:
    return f"dqm-bench-scheduler-{os.getpid()}-{replicas}r-{index}"


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
    for i, replica in enumerate(result.replicas):
        _report_replica_cpu(bench, f"{name}: replica {i + 1} CPU", replica)
    if result.postgres is not None:
        _report_postgres(bench, f"{name}: PostgreSQL", result.postgres)
    bench.add(
        f"{name}: peak RSS",
        value=result.peak_rss / 2**20,
        unit="MiB",
        note=f"sum over {result.processes} processes; PSS {result.peak_pss / 2**20:.0f} MiB",
    )


CPU_SLACK = 1.01  # the clock-tick resolution of /proc over a window of a minute or more


def _report_replica_cpu(bench: Bench, name: str, cpu: ReplicaCpu) -> None:
    """The replica tree's CPU in cores over the window, at most its quota when capped."""
    parts = [f"serving process {cpu.serving / cpu.seconds:.2f} cores"]
    if cpu.group is not None:
        parts.append(f"cgroup's own count {cpu.group / cpu.seconds:.3f} cores")
    if cpu.throttled is not None:
        periods, held = cpu.throttled
        parts.append(f"throttled in {periods} periods ({held:.1f} s held back)")
    quota = f"quota {cpu.cpus:g} cores" if cpu.cpus else "NOT capped"
    bench.add(
        f"{name} ({quota})",
        value=cpu.tree / cpu.seconds,
        unit="cores",
        target=cpu.cpus * CPU_SLACK if cpu.cpus else None,
        note="; ".join(parts),
    )


def _report_postgres(bench: Bench, name: str, load: PostgresLoad) -> None:
    busiest = sorted(load.waits.items(), key=lambda kv: -kv[1])[:6]
    per_sample = ", ".join(f"{k} {v / max(1, load.samples):.2f}" for k, v in busiest)
    bench.add(
        f"{name} CPU, bench database's backends",
        value=load.backends_cpu / load.seconds,
        unit="cores",
        note=f"all PostgreSQL processes {load.cluster_cpu / load.seconds:.2f} cores "
        "(other databases included)",
    )
    bench.add(
        f"{name} non-idle backends per sample",
        value=sum(load.waits.values()) / max(1, load.samples),
        unit="backends",
        note=f"{load.samples} samples of pg_stat_activity; state/wait event: "
        + (per_sample or "none"),
    )


def _load_note() -> str:
    return "load " + " ".join(f"{x:.2f}" for x in os.getloadavg())


SCENARIOS: dict[str, tuple[int, float]] = {"a": (60, 10.0), "b": (200, 5.0), "c": (400, 5.0)}


def replica_budget(cpus: float) -> float | None:
    """``cpus`` when replicas can be capped by cgroups here (checked by making a group), else
    None, printed: the replicas then share every core, with each other and PostgreSQL."""
    if cpus <= 0:
        print("[scheduler] (c) --replica-cpus 0: replicas NOT capped", flush=True)
        return None
    try:
        with cpu_cgroup.cpu_group(_group_name(0, 0), cpus) as group:
            kind = f"cgroup v{group.version}"
    except cpu_cgroup.CgroupUnavailable as exc:
        print(
            f"[scheduler] (c) cgroups unavailable ({exc}): replicas NOT capped; they share the "
            f"{os.cpu_count()} cores with each other and PostgreSQL, so on a small machine the "
            "ratio measures the machine, not replica scaling",
            flush=True,
        )
        return None
    print(
        f"[scheduler] (c) each replica (dqm serve, its forkserver and worker processes) in a "
        f"{kind} of its own, quota {cpus:g} cores; PostgreSQL not capped",
        flush=True,
    )
    return cpus


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
    parser.add_argument(
        "--replica-cpus",
        type=float,
        default=0.5,
        help="(c): each replica's CPU quota in cores, as a node of its own would have "
        "(cgroup; 0: not capped)",
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
            cpus = replica_budget(args.replica_cpus)
            label = f"{cpus:g} cores each (cgroup quota)" if cpus else "NOT capped"
            one = run_phase(scenario, args, folder, 1, cpus)
            report(bench, scenario, one, f"1 replica x 1 worker process, {label}")
            two = run_phase(scenario, args, folder, 2, cpus)
            report(bench, scenario, two, f"2 replicas x 1 worker process, {label}")
            bench.add(
                f"(c) postgresql: runs finished, 2 replicas / 1, {label}",
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
