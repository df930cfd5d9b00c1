"""Database bytes per run, without and with retention (SQLite by default, or
``--database-url postgresql+psycopg://...``, which is emptied first).

Run: ``.venv/bin/python -m bench.storage_per_run [--runs 300]``. Creates a drift and a
data-quality monitor (the data-quality one flags rows, so runs have findings), executes
``--runs`` runs of each in-process, and prints the bytes the database grew by per run. Then it
ages every run past the retention, lets retention fold them into hourly points and delete them,
and prints what is left per hourly point; results in ``bench/results/storage_per_run.json``.
"""

from __future__ import annotations

import argparse
import tempfile
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, text

from bench.harness import Bench, time_calls
from dqm.service.app import create_app
from dqm.service.clock import utcnow
from dqm.service.context import Context
from dqm.service.db.migrate import upgrade
from dqm.service.db.models import Finding, MetricValue, Run
from dqm.service.db.session import make_engine, transaction
from dqm.service.runs import monitors, retention, runner
from dqm.service.settings import Settings
from tests.service.data import SCHEMA, frame, records


def database_bytes(engine: Engine) -> int:
    """Bytes the database takes once compacted (VACUUM, outside any transaction)."""
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        if engine.dialect.name == "sqlite":
            for statement in ("PRAGMA wal_checkpoint(TRUNCATE)", "VACUUM"):
                cur.execute(statement)
            pages = cur.execute("PRAGMA page_count").fetchone()[0]
            return int(pages) * int(cur.execute("PRAGMA page_size").fetchone()[0])
        raw.driver_connection.autocommit = True  # type: ignore[union-attr]
        cur.execute("VACUUM FULL")
        cur.execute(
            "SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'public' AND c.relkind = 'r'"
        )
        row = cur.fetchone()
        assert row is not None
        return int(row[0])
    finally:
        raw.close()


def setup(client: TestClient, rows: int) -> None:
    assert client.post("/v1/datasets", json={"name": "d", "schema": SCHEMA}).status_code == 201
    assert client.put("/v1/datasets/d/reference", json=records(frame(rows, 1))).status_code == 201
    batch = frame(rows, 2, shift=0.5, prefix="b")
    batch["age"] = [None if i % 10 == 0 else v for i, v in enumerate(batch["age"])]
    assert client.post("/v1/datasets/d/batches?batch_id=b1", json=records(batch)).status_code == 201
    for kind in ("drift", "data_quality"):
        monitor: dict[str, Any] = {
            "name": kind,
            "dataset": "d",
            "kind": kind,
            "schedule": {"every": "1h"},
            "window": {"last_batches": 1},
            "rules": [],
            "enabled": False,
        }
        response = client.post("/v1/monitors", json=monitor)
        assert response.status_code == 201, response.text


def run_all(ctx: Context, runs: int) -> None:
    for _ in range(runs):
        for name in ("drift", "data_quality"):
            monitors.request_run(ctx, name)
            assert runner.work_once(ctx)


def age_everything(ctx: Context, by: timedelta) -> None:
    """Move every run (with its metric values and findings) ``by`` plus one hour per run into
    the past: each run lands in an hour of its own, the most hourly points retention keeps."""
    with transaction(ctx.sessions) as session:
        runs = list(session.scalars(select(Run).order_by(Run.id)))
        shift = {r.id: by + timedelta(hours=i) for i, r in enumerate(runs)}
        for run in runs:
            run.scheduled_for -= shift[run.id]
        for value in session.scalars(select(MetricValue)):
            value.measured_at -= shift[value.run_id]
        for finding in session.scalars(select(Finding)):
            finding.created_at -= shift[finding.run_id]


def counts(ctx: Context) -> str:
    tables = ("runs", "metric_values", "findings", "metric_rollups")
    with ctx.sessions() as session:
        rows = {t: session.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in tables}
    return ", ".join(f"{n} {t}" for t, n in rows.items())


def rollups(ctx: Context) -> int:
    with ctx.sessions() as session:
        return int(session.execute(text("SELECT count(*) FROM metric_rollups")).scalar_one())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=300, help="runs per monitor")
    parser.add_argument("--rows", type=int, default=500, help="rows in the batch")
    parser.add_argument("--database-url")
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="dqm-bench-")
    url = args.database_url or f"sqlite:///{folder}/dqm.db"
    engine = make_engine(url)
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public"))
    upgrade(engine)
    settings = Settings(database_url=url, data_dir=f"{folder}/data", role="api")
    ctx = Context.create(settings)
    with TestClient(create_app(settings, ctx)) as client:
        setup(client, args.rows)
    bench = Bench("storage_per_run", description=__doc__)
    before = database_bytes(engine)
    timing = time_calls(lambda: run_all(ctx, args.runs), repeats=1)
    total_runs = 2 * args.runs
    grown = database_bytes(engine) - before
    dialect = engine.dialect.name
    print(f"{dialect}: {before:,} bytes before the runs; then {counts(ctx)}")
    bench.add(
        f"{total_runs} in-process runs (drift on 4 columns, data_quality), {dialect}",
        timing,
        value=grown / total_runs,
        unit="bytes per run",
    )
    age_everything(ctx, timedelta(days=8))
    while retention.purge(ctx, utcnow())["runs"]:
        pass
    kept = database_bytes(engine) - before
    print(f"after retention: {counts(ctx)}; {kept:,} bytes above the start")
    bench.add(
        f"after retention, {dialect}: bytes per hourly point of one series",
        value=kept / max(1, rollups(ctx)),
        unit="bytes",
    )
    bench.save()
    ctx.engine.dispose()
    engine.dispose()


if __name__ == "__main__":
    main()
