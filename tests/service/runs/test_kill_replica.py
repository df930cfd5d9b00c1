"""Two ``dqm serve`` replicas on one PostgreSQL database: SIGKILL the one running a monitor
mid-run, and the other finishes the run once the lease expires; each webhook goes out once.

PostgreSQL only: two processes sharing a SQLite file is not a supported deployment.
"""

from __future__ import annotations

import io
import os
import signal
import time
from contextlib import ExitStack
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from dqm.service.db.models import Delivery, Run
from dqm.service.db.session import make_engine, make_sessionmaker
from dqm.service.settings import Settings
from tests.service.data import SCHEMA, drift_monitor
from tests.support.process import dqm_process
from tests.support.receiver import running_receiver

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not os.environ.get("DQM_TEST_DATABASE_URL", "").startswith("postgresql"),
        reason="two replicas on one database need PostgreSQL (set DQM_TEST_DATABASE_URL)",
    ),
]
PARQUET = {"content-type": "application/vnd.apache.parquet"}
ROWS = 500_000  # a run of about 2 s: long enough to be killed mid-run


def big_parquet(n: int, seed: int, shift: float) -> bytes:
    rng = np.random.default_rng(seed)
    table = pa.table(
        {
            "id": pa.array(np.char.add(f"s{seed}-", np.arange(n).astype(str))),
            "age": rng.normal(40 + 10 * shift, 10, n).round(1),
            "income": rng.normal(50_000 + 8_000 * shift, 8_000, n).round(0),
            "city": rng.choice(["paris", "lyon", "nice", "lille"], n),
            "label": rng.choice(["yes", "no"], n),
        }
    )
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


def pid_of(lease_owner: str) -> int:
    """The pid inside ``Context.worker_id`` ("{hostname}-{pid}-{random}")."""
    pid = int(lease_owner.rsplit("-", 2)[1])
    ppid = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    assert ppid == os.getpid(), "the lease owner is not a replica this test started"
    return pid


def wait_for_run(sessions: sessionmaker[Session], run_id: int, until: float) -> Run:
    """Poll the run row until ``until`` (monotonic); returns the last row seen."""
    while True:
        with sessions() as session:
            run = session.get_one(Run, run_id)
        if time.monotonic() > until or run.status in ("succeeded", "failed"):
            return run
        if run.status == "running" and run.lease_owner:
            return run
        time.sleep(0.02)


def test_killed_replica_run_is_finished_by_the_other(settings: Settings) -> None:
    engine = make_engine(settings.database_url)
    sessions = make_sessionmaker(engine)
    lease = {"DQM_RUN_LEASE_SECONDS": "2"}
    with ExitStack() as stack:
        stack.callback(engine.dispose)
        receiver = stack.enter_context(running_receiver())
        first = stack.enter_context(dqm_process(settings, **lease))
        stack.enter_context(dqm_process(settings, **lease))
        assert first.post("/v1/datasets", json={"name": "d", "schema": SCHEMA}).status_code == 201
        ref = first.put(
            "/v1/datasets/d/reference", content=big_parquet(ROWS, 1, 0), headers=PARQUET
        )
        assert ref.status_code == 201, ref.text
        batch = first.post(
            "/v1/datasets/d/batches?batch_id=b1", content=big_parquet(ROWS, 2, 1.0), headers=PARQUET
        )
        assert batch.status_code == 201, batch.text
        hook = first.post(
            "/v1/hooks", json={"name": "h", "url": receiver.url, "events": ["alert.firing"]}
        )
        receiver.secrets.append(hook.json()["secret"])
        monitor = drift_monitor("m", "d", "h")
        assert first.post("/v1/monitors", json=monitor).status_code == 201
        run_id = first.post("/v1/monitors/m/run").json()["run_id"]

        claimed = wait_for_run(sessions, run_id, time.monotonic() + 30)
        assert claimed.status == "running" and claimed.lease_owner, claimed.status
        killed = pid_of(claimed.lease_owner)
        os.kill(killed, signal.SIGKILL)

        finished = wait_for_run_end(sessions, run_id, time.monotonic() + 60)
        assert finished.status == "succeeded", finished.error
        assert finished.attempts == 2 and finished.error is None

        received = receiver.wait_for(1, "retrain.requested") + receiver.wait_for(1, "alert.firing")
        time.sleep(1.0)  # room for a duplicate to show up if one were sent
        with sessions() as session:
            deliveries = session.scalars(select(Delivery).where(Delivery.run_id == run_id)).all()
    ids = sorted(r.webhook_id for r in receiver.received)  # every request, not only 2xx
    assert ids == sorted(d.webhook_id for d in deliveries) == sorted(r.webhook_id for r in received)
    assert len(set(ids)) == 2 and all(d.status == "delivered" for d in deliveries)
    assert all(r.verified for r in receiver.received)


def wait_for_run_end(sessions: sessionmaker[Session], run_id: int, until: float) -> Run:
    while True:
        with sessions() as session:
            run = session.get_one(Run, run_id)
        if run.status in ("succeeded", "failed") or time.monotonic() > until:
            return run
        time.sleep(0.1)
