"""Chaos: ``dqm serve`` is killed with SIGKILL at random points while it ingests batches, runs a
monitor every second and delivers webhooks, a few dozen times over. Afterwards every
acknowledged batch is stored exactly once, no run is duplicated or stuck, every webhook reached
the receiver under one stable id, and once the reconciler has run no orphan file remains.

PostgreSQL only: it is the deployment that replicas and restarts are promised on.
"""

from __future__ import annotations

import os
import random
import signal
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from dqm.service.clock import utcnow
from dqm.service.context import Context
from dqm.service.db.models import Batch, Delivery, MetricValue, ReferenceVersion, Run
from dqm.service.ingest.reconciler import reconcile
from dqm.service.settings import Settings
from tests.service.data import SCHEMA, frame, parquet_bytes, records
from tests.service.helpers import make_context
from tests.support.process import logged_dqm_process
from tests.support.receiver import Receiver, running_receiver

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not os.environ.get("DQM_TEST_DATABASE_URL", "").startswith("postgresql"),
        reason="crash recovery is promised on PostgreSQL (set DQM_TEST_DATABASE_URL)",
    ),
]
KILLS = 24
SEED = 20261129
PARQUET = {"content-type": "application/vnd.apache.parquet"}
# Short leases so that work a killed process held is taken up again within the test.
CHAOS_ENV = {
    "DQM_RUN_LEASE_SECONDS": "3",
    "DQM_DELIVERY_LEASE_SECONDS": "3",
    "DQM_WEBHOOK_ALLOWLIST": "127.0.0.1/32",
    "DQM_SCHEDULER_TICK_SECONDS": "0.2",
}


def batch_body(key: str) -> bytes:
    """The content of batch ``key``: the same bytes every time it is sent; every other batch
    is drifted so that the monitor's alert keeps firing and resolving."""
    number = int(key.rsplit("-", 1)[1])
    shift = 2.0 if number % 2 else 0.0
    return parquet_bytes(frame(150, seed=number, shift=shift, prefix=f"{key}-"))


@dataclass
class Uploads:
    """What the client was told: acknowledged batches, and ones it must send again."""

    acknowledged: dict[str, int] = field(default_factory=dict)
    unanswered: list[str] = field(default_factory=list)
    sent: int = 0

    def send(self, client: httpx.Client, key: str) -> bool:
        try:
            response = client.post(
                f"/v1/datasets/d/batches?batch_id={key}", content=batch_body(key), headers=PARQUET
            )
        except httpx.TransportError:
            self.unanswered.append(key)
            return False
        if response.status_code in (200, 201):
            self.acknowledged[key] = response.json()["rows"]
            return True
        assert response.status_code == 503, response.text  # an outage is the only excuse
        self.unanswered.append(key)
        return False

    def keep_sending(self, client: httpx.Client, stop: threading.Event) -> None:
        retry, self.unanswered = self.unanswered, []
        for key in retry:
            if stop.is_set() or not self.send(client, key):
                self.unanswered.extend(k for k in retry if k not in self.acknowledged)
                return
        while not stop.is_set():
            self.sent += 1
            if not self.send(client, f"b-{self.sent}"):
                return


def server_pid(client: httpx.Client) -> int:
    """The pid of the ``dqm serve`` child of this test listening on the client's port."""
    port = str(client.base_url.port)
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            argv = (stat.parent / "cmdline").read_bytes().split(b"\0")
        except (OSError, ValueError):
            continue
        if ppid == os.getpid() and b"serve" in argv and port.encode() in argv:
            return int(stat.parent.name)
    raise AssertionError(f"no dqm serve child on port {port}")


def setup_dataset(client: httpx.Client, receiver: Receiver) -> None:
    assert client.post("/v1/datasets", json={"name": "d", "schema": SCHEMA}).status_code == 201
    reference = client.put("/v1/datasets/d/reference", json=records(frame(600, seed=1)))
    assert reference.status_code == 201, reference.text
    hook = client.post(
        "/v1/hooks",
        json={"name": "h", "url": receiver.url, "events": ["alert.firing", "alert.resolved"]},
    )
    assert hook.status_code == 201, hook.text
    receiver.secrets.append(hook.json()["secret"])
    monitor = client.post(
        "/v1/monitors",
        json={
            "name": "m",
            "dataset": "d",
            "kind": "drift",
            "schedule": {"every": "1s"},
            "window": {"last_batches": 1},
            "rules": [{"metric": "share_drifted_columns", "op": ">=", "value": 0.3}],
            "actions": [
                {"on": "firing", "hook": "h", "event": "alert.firing"},
                {"on": "resolved", "hook": "h", "event": "alert.resolved"},
            ],
        },
    )
    assert monitor.status_code == 201, monitor.text


def started_runs(ctx: Context) -> int:
    """Runs that a worker has started, whatever became of them."""
    with ctx.sessions() as session:
        count = session.scalar(
            select(func.count()).select_from(Run).where(Run.started_at.is_not(None))
        )
    return count or 0


def wait_until(condition: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} within {timeout} s")
        time.sleep(0.2)


def test_sigkill_at_random_points_loses_and_duplicates_nothing(
    settings: Settings, tmp_path: Path
) -> None:
    rng = random.Random(SEED)
    uploads = Uploads()
    ctx = make_context(settings, "checker")
    with running_receiver() as receiver:
        for round_ in range(KILLS):
            log = tmp_path / f"serve-{round_}.log"
            started = started_runs(ctx)
            with logged_dqm_process(settings, log, CHAOS_ENV) as client:
                if round_ == 0:
                    setup_dataset(client, receiver)
                stop = threading.Event()
                sender = threading.Thread(target=uploads.keep_sending, args=(client, stop))
                sender.start()
                # Each round kills a server that has started work: its worker processes take
                # a moment to come up after /healthz answers (they are forked from a
                # forkserver), and a round killed before would test ingest alone.
                wait_until(lambda n=started: started_runs(ctx) > n, 30, "a run started")
                time.sleep(rng.uniform(0.3, 2.5))  # the kill lands at a random point
                os.kill(server_pid(client), signal.SIGKILL)
                stop.set()
                sender.join(timeout=60)
                assert not sender.is_alive()

        with logged_dqm_process(settings, tmp_path / "serve-final.log", CHAOS_ENV) as client:
            for key in list(uploads.unanswered):
                assert uploads.send(client, key), f"batch {key} was refused on the last try"
            assert client.patch("/v1/monitors/m", json={"enabled": False}).status_code == 200

            def settled() -> bool:
                with ctx.sessions() as session:
                    open_runs = session.scalar(
                        select(func.count())
                        .select_from(Run)
                        .where(Run.status.in_(("queued", "running")))
                    )
                    pending = session.scalar(
                        select(func.count())
                        .select_from(Delivery)
                        .where(Delivery.status != "delivered")
                    )
                return open_runs == 0 and pending == 0

            wait_until(settled, 90, "every run finished and every webhook delivered")

        with ctx.sessions() as session:
            batches = session.execute(select(Batch.batch_key, Batch.rows)).all()
            runs = session.scalars(select(Run)).all()
            metric_counts = dict(
                session.execute(
                    select(MetricValue.run_id, func.count()).group_by(MetricValue.run_id)
                ).all()
            )
            deliveries = session.execute(select(Delivery.webhook_id, Delivery.status)).all()
            paths = set(session.scalars(select(Batch.path))) | set(
                session.scalars(select(ReferenceVersion.path))
            )
        received = list(receiver.received)

    # Every acknowledged batch is stored once, with its rows; nothing else is stored.
    assert uploads.unanswered == [] or all(k in uploads.acknowledged for k in uploads.unanswered)
    stored = Counter(key for key, _ in batches)
    assert all(n == 1 for n in stored.values())
    assert set(stored) == set(uploads.acknowledged)
    assert {b.batch_key: b.rows for b in batches} == uploads.acknowledged
    assert len(uploads.acknowledged) > KILLS  # the rounds did ingest something

    # No run is duplicated or stuck, and each finished run wrote one set of metrics.
    scheduled = Counter((r.monitor_id, r.scheduled_for) for r in runs)
    assert all(n == 1 for n in scheduled.values())
    assert {r.status for r in runs} <= {"succeeded", "failed", "skipped"}
    succeeded = [r for r in runs if r.status == "succeeded"]
    assert len(succeeded) >= KILLS // 2
    assert len({metric_counts.get(r.id, 0) for r in succeeded}) == 1

    # Every webhook arrived, verified, under one id whose body never changed across retries.
    assert deliveries and all(status == "delivered" for _, status in deliveries)
    bodies: dict[str, set[bytes]] = defaultdict(set)
    for r in received:
        assert r.verified
        bodies[r.webhook_id].add(r.body)
    assert set(bodies) == {webhook_id for webhook_id, _ in deliveries}
    assert all(len(b) == 1 for b in bodies.values())

    # After the reconciler, the data folder holds exactly the files rows point to.
    removed = reconcile(ctx, now=utcnow() + timedelta(seconds=settings.orphan_grace_seconds + 60))
    print(  # the figures behind the closing note; shown with -s
        f"chaos: {KILLS} kills, {len(uploads.acknowledged)} batches acknowledged, "
        f"{len(runs)} runs ({len(succeeded)} succeeded), {len(deliveries)} webhooks "
        f"({len(received)} receipts), orphans removed by the reconciler: {dict(removed)}"
    )
    root = Path(settings.data_dir)
    files = {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}
    data_files = {f for f in files if f.endswith(".parquet") or f.endswith(".tmp")}
    assert data_files == paths
