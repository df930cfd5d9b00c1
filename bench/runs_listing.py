"""``GET /v1/monitors/{name}/runs?limit=1000`` against a real ``dqm serve``, SQLite and PostgreSQL.

The runs are those of a real drift monitor: one drift run (``DriftMonitor`` on 25 columns of
which some hold missing values, one of them the target) gives the metric values every stored
run carries, exactly as the runner writes them (drift score with its details, missing share,
effect size, dataset-level shares, target drift): about 80 values per run, 80k per page.
They are inserted directly (``--runs`` runs, 1,000 by default), then a ``dqm serve`` process
(role ``api``) answers ``--repeat`` requests; wall and CPU (bench and server) per request,
median and p99, against the 100 ms target.

Run: ``.venv/bin/python -m bench.runs_listing [--runs 1000] [--repeat 20]
[--postgres postgresql+psycopg://postgres@127.0.0.1:5432/EMPTY_DB]`` (SQLite always; PostgreSQL
too when ``--postgres`` names an EMPTY database).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
from sqlalchemy import func, insert, select

from bench.drift_vs_evidently import make_data
from bench.harness import Bench, Timing, _proc_stat, descendants
from dqm.monitors.base import Metric, as_profile
from dqm.monitors.drift.monitor import DriftMonitor, DriftParams
from dqm.monitors.schema import ColumnSpec, Schema
from dqm.service.clock import utcnow
from dqm.service.db.migrate import upgrade
from dqm.service.db.models import Dataset, MetricValue, Monitor, Run, RunMetricsJson
from dqm.service.db.session import make_engine, make_sessionmaker, transaction
from dqm.service.runs.listing import metrics_json
from dqm.service.runs.runner import metric_rows
from dqm.service.settings import Settings
from tests.support.process import dqm_process

TARGET_SECONDS = 0.1


def real_drift_metrics(features: int, rows: int = 2000) -> list[Metric]:
    """The metrics of one real drift run over ``features`` feature columns plus a target
    (every fifth feature categorical, some numerical ones with missing values)."""
    n_cat = max(1, features // 5)
    reference, current, schema = make_data(rows, features - n_cat, n_cat, seed=7)
    rng = np.random.default_rng(7)
    reference = reference.append_column("label", pa.array(rng.choice(["a", "b"], rows)))
    current = current.append_column("label", pa.array(rng.choice(["a", "b"], rows, p=[0.7, 0.3])))
    schema = Schema(
        columns=[*schema.columns, ColumnSpec(name="label", type="categorical", role="target")]
    )
    profile = as_profile(reference, schema).warm()
    return list(DriftMonitor().run(profile, current, schema, DriftParams()).metrics)


def populate(url: str, runs: int, metrics: list[Metric], documents: bool = True) -> None:
    """A dataset, drift monitor ``m`` and ``runs`` succeeded runs carrying ``metrics``."""
    engine = make_engine(url)
    upgrade(engine)
    sessions = make_sessionmaker(engine)
    now = utcnow()
    with transaction(sessions) as session:
        if session.scalar(select(func.count()).select_from(Run)):
            raise SystemExit(f"{url}: the database is not empty; give an empty one")
        dataset = session.scalars(
            insert(Dataset).returning(Dataset.id), [{"name": "d", "created_at": now}]
        ).one()
        empty: dict[str, Any] = {"items": []}
        monitor = session.scalars(
            insert(Monitor).returning(Monitor.id),
            [
                {
                    "name": "m",
                    "dataset_id": dataset,
                    "kind": "drift",
                    "params": {},
                    "schedule": {"every": "1m"},
                    "window": {"last_batches": 1},
                    "rules": empty,
                    "actions": empty,
                    "enabled": False,
                    "created_at": now,
                    "updated_at": now,
                }
            ],
        ).one()
    window = {"batches": ["b1"], "rows": 2000}
    for start in range(0, runs, 200):  # a few transactions, not one huge one
        with transaction(sessions) as session:
            ats = [now - timedelta(minutes=runs - i) for i in range(start, min(runs, start + 200))]
            ids = session.scalars(
                insert(Run).returning(Run.id, sort_by_parameter_order=True),
                [
                    {
                        "monitor_id": monitor,
                        "scheduled_for": at,
                        "trigger": "schedule",
                        "status": "succeeded",
                        "attempts": 1,
                        "started_at": at,
                        "finished_at": at + timedelta(seconds=1),
                        "reference_version": 1,
                        "window": window,
                        "created_at": at,
                    }
                    for at in ats
                ],
            ).all()
            values = [
                row
                for run_id, at in zip(ids, ats, strict=True)
                for row in metric_rows(metrics, run_id, monitor, at)
            ]
            session.execute(insert(MetricValue), values)
            if documents:  # as the runner writes them with the values
                per_run = len(metrics)
                bodies = [
                    {
                        "run_id": run_id,
                        "body": metrics_json(
                            MetricValue(**row) for row in values[k * per_run : (k + 1) * per_run]
                        ),
                    }
                    for k, run_id in enumerate(ids)
                ]
                session.execute(insert(RunMetricsJson), bodies)
    engine.dispose()


def p99(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]


def server_cpu() -> float:
    """CPU seconds of this process's descendants (the ``dqm serve`` process), from /proc."""
    return sum(s[1] for p in descendants() if (s := _proc_stat(p)) is not None)


def server_faults() -> int:
    """Minor page faults of this process's descendants, from /proc: memory the allocator
    returned to the kernel and took back (zero-filled) shows here."""
    total = 0
    for pid in descendants():
        try:
            text = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        total += int(text[text.rindex(")") + 2 :].split()[7])
    return total


def measure(bench: Bench, backend: str, url: str, folder: Path, args: Any) -> None:
    settings = Settings(database_url=url, data_dir=str(folder / "data"), role="api")
    with dqm_process(settings, DQM_ROLE="api") as client:
        path = f"/v1/monitors/m/runs?limit={args.limit}"

        def get() -> None:
            response = client.get(path)
            response.raise_for_status()

        first = client.get(path)
        first.raise_for_status()
        size, items = len(first.content), len(first.json()["items"])
        before, faults = server_cpu(), server_faults()
        t: Timing = bench.time(get, repeats=args.repeat, warmup=2)
        served = (server_cpu() - before) / (args.repeat + 2)
        faulted = (server_faults() - faults) / (args.repeat + 2)
    bench.add(
        f"{backend}: GET runs?limit={args.limit}, {items} runs x {args.values} values",
        t,
        target=TARGET_SECONDS,
        processes=2,
        note=f"p99 wall {p99(t.walls) * 1e3:.1f} ms, p99 CPU {p99(t.cpus) * 1e3:.1f} ms, "
        f"mean wall {statistics.mean(t.walls) * 1e3:.1f} ms, dqm serve alone "
        f"{served * 1e3:.1f} ms CPU and {faulted:.0f} page faults per request (mean), "
        f"body {size / 1e6:.1f} MB; "
        "CPU = bench client + dqm serve (clock ticks), the database server's own not counted",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--limit", type=int, default=1000)
    parser.add_argument("--features", type=int, default=24, help="feature columns (+1 target)")
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--postgres", help="URL of an EMPTY PostgreSQL database")
    args = parser.parse_args()
    bench = Bench("runs_listing", description="GET /v1/monitors/{name}/runs?limit=1000")
    metrics = real_drift_metrics(args.features)
    args.values = len(metrics)
    backends = [("sqlite", None), *([("postgresql", args.postgres)] if args.postgres else [])]
    for backend, given in backends:
        folder = Path(tempfile.mkdtemp(prefix="dqm-bench-"))
        url = given or f"sqlite:///{folder / 'dqm.db'}"
        populate(url, args.runs, metrics)
        measure(bench, backend, url, folder, args)
    bench.save()


if __name__ == "__main__":
    main()
