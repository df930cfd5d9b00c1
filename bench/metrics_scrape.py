"""Scrape cost of ``GET /metrics`` with 100 monitors x 50 drift scores.

Populates a database directly (a temporary SQLite file, or ``--postgres URL`` naming an EMPTY
database) with monitors that each have ``--history`` succeeded runs of 50 per-feature
``drift_score`` values and 4 dataset-level metrics, then times ``GET /metrics`` in process
(median of ``--repeat`` scrapes, worker not started).

Run: ``.venv/bin/python -m bench.metrics_scrape [--monitors 100] [--features 50] [--history 1]
[--postgres postgresql+psycopg://postgres@127.0.0.1:5432/bench]``.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session, sessionmaker

from dqm.service.app import create_app
from dqm.service.clock import utcnow
from dqm.service.db.migrate import upgrade
from dqm.service.db.models import Dataset, MetricValue, Monitor, Run
from dqm.service.db.session import make_engine, make_sessionmaker, transaction
from dqm.service.settings import Settings

DATASET_METRICS = ("share_drifted_columns", "n_drifted_columns", "domain_auc", "rows")


def _monitor_rows(n: int, datasets: list[int]) -> list[dict[str, Any]]:
    now = utcnow()
    empty: dict[str, Any] = {"items": []}
    return [
        {
            "name": f"m{i:03d}",
            "dataset_id": datasets[i % len(datasets)],
            "kind": "drift",
            "params": {},
            "schedule": {"every": "1h"},
            "window": {"last_batches": 1},
            "rules": empty,
            "actions": empty,
            "enabled": True,
            "created_at": now,
            "updated_at": now,
        }
        for i in range(n)
    ]


def _metric_rows(run_id: int, monitor_id: int, features: int, at: Any) -> list[dict[str, Any]]:
    base = {"run_id": run_id, "monitor_id": monitor_id, "measured_at": at, "status": "ok"}
    rows = [{**base, "name": m, "column": None, "value": 0.1} for m in DATASET_METRICS]
    rows += [
        {**base, "name": "drift_score", "column": f"f{j:02d}", "value": j / 100, "drifted": False}
        for j in range(features)
    ]
    return rows


def populate(sessions: sessionmaker[Session], monitors: int, features: int, history: int) -> None:
    now = utcnow()
    with transaction(sessions) as session:
        if session.scalar(select(func.count()).select_from(Dataset)):
            raise SystemExit("the database is not empty; give an empty one")
        session.execute(insert(Dataset), [{"name": f"d{i}", "created_at": now} for i in range(10)])
        datasets = list(session.scalars(select(Dataset.id).order_by(Dataset.id)))
        session.execute(insert(Monitor), _monitor_rows(monitors, datasets))
        monitor_ids = list(session.scalars(select(Monitor.id).order_by(Monitor.id)))
        for h in range(history):
            at = now - timedelta(hours=history - h)
            run_ids = session.scalars(
                insert(Run).returning(Run.id),
                [
                    {
                        "monitor_id": m,
                        "scheduled_for": at,
                        "trigger": "schedule",
                        "status": "succeeded",
                        "attempts": 1,
                        "started_at": at,
                        "finished_at": at,
                        "created_at": at,
                    }
                    for m in monitor_ids
                ],
            ).all()
            values = [
                row
                for run_id, m in zip(run_ids, monitor_ids, strict=True)
                for row in _metric_rows(run_id, m, features, at)
            ]
            session.execute(insert(MetricValue), values)


def time_scrapes(settings: Settings, repeat: int) -> tuple[float, int]:
    """Median seconds of ``GET /metrics`` and the number of sample lines it returned."""
    client = TestClient(create_app(settings))  # no `with`: the lifespan (worker) is not run
    body = client.get("/metrics").text  # warm-up: imports, connection pool
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        response = client.get("/metrics")
        times.append(time.perf_counter() - started)
        assert response.status_code == 200
    samples = sum(1 for line in body.splitlines() if line and not line.startswith("#"))
    return statistics.median(times), samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--monitors", type=int, default=100)
    parser.add_argument("--features", type=int, default=50)
    parser.add_argument("--history", type=int, default=1, help="succeeded runs per monitor")
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--postgres", help="URL of an EMPTY PostgreSQL database")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="dqm-bench-"))
    url = args.postgres or f"sqlite:///{folder / 'dqm.db'}"
    engine = make_engine(url)
    upgrade(engine)
    started = time.perf_counter()
    populate(make_sessionmaker(engine), args.monitors, args.features, args.history)
    engine.dispose()
    filled = time.perf_counter() - started
    settings = Settings(database_url=url, data_dir=str(folder / "data"))
    median, samples = time_scrapes(settings, args.repeat)
    backend = "postgresql" if args.postgres else "sqlite"
    print(
        f"{backend}: {args.monitors} monitors x {args.features} features, {args.history} run(s) "
        f"each (populated in {filled:.1f} s): GET /metrics median {median * 1000:.1f} ms "
        f"over {args.repeat} scrapes, {samples} samples"
    )


if __name__ == "__main__":
    main()
