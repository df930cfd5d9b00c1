"""The console's heaviest pages against a real ``dqm serve`` with a long history.

``--monitors`` drift monitors (50) on one dataset, each with ``--runs`` finished runs (500)
of one dataset-level metric and ``--columns`` per-column effect sizes (20), inserted directly,
and an alert episode every 10th run. A ``dqm serve`` process (role ``api``) then answers
``--repeat`` requests of the overview (every monitor's last run, key metric and sparkline),
a monitor page (metric history of 200 runs, a 20-column × 30-run heatmap, 50 runs) and the
alerts page (500 episodes); median wall and CPU (bench and server) per request.

Run: ``.venv/bin/python -m bench.console_pages [--monitors 50] [--runs 500] [--repeat 10]``.
"""

from __future__ import annotations

import argparse
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert

from bench.harness import Bench
from dqm.service.clock import utcnow
from dqm.service.db.migrate import upgrade
from dqm.service.db.models import Alert, Dataset, MetricValue, Monitor, Run
from dqm.service.db.session import make_engine, make_sessionmaker, transaction
from dqm.service.settings import Settings
from tests.support.process import dqm_process

TARGETS = {"overview": 1.0, "monitor": 1.0, "alerts": 1.0}  # seconds per page


def _monitor(i: int, dataset_id: int, now: Any) -> dict[str, Any]:
    rule = {"metric": "share_drifted_columns", "op": ">=", "value": 0.3}
    return {
        "id": i + 1,
        "name": f"m{i}",
        "dataset_id": dataset_id,
        "kind": "drift",
        "params": {},
        "schedule": {"every": "1h"},
        "window": {"last_batches": 1},
        "rules": {"items": [rule]},
        "actions": {"items": []},
        "enabled": True,
        "next_run_at": now + timedelta(hours=1),
        "created_at": now,
        "updated_at": now,
    }


def populate(url: str, monitors: int, runs: int, columns: int) -> None:
    engine = make_engine(url)
    upgrade(engine)
    sessions = make_sessionmaker(engine)
    now = utcnow()
    with transaction(sessions) as session:
        session.add(Dataset(id=1, name="d", schema_json=None, created_at=now))
    run_id = 0
    for m in range(monitors):
        run_rows, values, alerts = [], [], []
        for r in range(runs):
            run_id += 1
            at = now - timedelta(hours=runs - r)
            run_rows.append(
                {
                    "id": run_id,
                    "monitor_id": m + 1,
                    "scheduled_for": at,
                    "trigger": "schedule",
                    "status": "succeeded",
                    "attempts": 1,
                    "started_at": at + timedelta(seconds=1),
                    "finished_at": at + timedelta(seconds=2),
                    "reference_version": 1,
                    "created_at": at,
                }
            )
            share = (r % 10) / 10
            base = {"run_id": run_id, "monitor_id": m + 1, "measured_at": at, "status": "ok"}
            values.append({**base, "name": "share_drifted_columns", "column": None, "value": share})
            values += [
                {**base, "name": "effect_size", "column": f"c{c}", "value": share * c / columns}
                for c in range(columns)
            ]
            if r % 10 == 0:
                alerts.append(
                    {
                        "fingerprint": f"{m}-{r}",
                        "monitor_id": m + 1,
                        "rule": "share_drifted_columns>=0.3",
                        "metric": "share_drifted_columns",
                        "severity": "warning",
                        "state": "resolved",
                        "value": 0.5,
                        "threshold": 0.3,
                        "started_at": at,
                        "firing_at": at,
                        "resolved_at": at + timedelta(hours=3),
                        "last_run_id": run_id,
                    }
                )
        with transaction(sessions) as session:
            session.add(Monitor(**_monitor(m, 1, now)))
            session.flush()
            session.execute(insert(Run), run_rows)
            session.execute(insert(MetricValue), values)
            session.execute(insert(Alert), alerts)
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--monitors", type=int, default=50)
    parser.add_argument("--runs", type=int, default=500)
    parser.add_argument("--columns", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()
    bench = Bench("console_pages", description=__doc__ or "")
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'dqm.db'}"
        populate(url, args.monitors, args.runs, args.columns)
        settings = Settings(database_url=url, data_dir=str(Path(folder) / "data"))
        with dqm_process(settings, DQM_ROLE="api") as client:
            pages = {
                "overview": "/",
                "monitor": "/monitors/m0",
                "alerts": "/alerts",
            }
            size = f"{args.monitors} monitors x {args.runs} runs, SQLite"
            for name, path in pages.items():
                assert client.get(path).status_code == 200, path

                def fetch(path: str = path) -> None:
                    client.get(path).raise_for_status()

                timing = bench.time(fetch, repeats=args.repeat, warmup=1)
                bench.add(f"console {name} page ({size})", timing, target=TARGETS[name])
    bench.save()


if __name__ == "__main__":
    main()
