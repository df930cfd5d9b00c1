"""``POST /v1/monitors/{name}/run?wait=true`` waits without holding the event loop: while it
waits for a run another replica took, the same process keeps answering other requests."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import event

from dqm.service.app import create_app
from dqm.service.clock import utcnow
from dqm.service.context import Context
from dqm.service.runs import runner
from dqm.service.settings import Settings
from tests.service.data import SCHEMA, drift_monitor, frame, records
from tests.service.helpers import make_context

SLOW_READ_SECONDS = 0.5  # a loaded database: reading one run row takes this long


def _other_replica_claims_first(api: Context, other: Context, claimed: list[int]) -> None:
    """Once the API has queued the run and before it claims it, another replica claims it:
    the outcome of a real race between two processes, made certain."""

    def after_commit(session: Any) -> None:
        if not claimed:
            run_id = runner.claim(other, utcnow())
            assert run_id is not None
            claimed.append(run_id)

    event.listen(api.sessions, "after_commit", after_commit)


def _slow_run_reads(api: Context) -> None:
    def before(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        if "FROM runs \nWHERE runs.id = " in statement:
            time.sleep(SLOW_READ_SECONDS)

    event.listen(api.engine, "before_cursor_execute", before)


def test_other_requests_are_served_while_a_wait_is_in_progress(settings: Settings) -> None:
    api_settings = settings.model_copy(update={"role": "api"})
    api = Context.create(api_settings)
    other = make_context(settings, "replica-b")
    claimed: list[int] = []
    with TestClient(create_app(api_settings, api)) as client, ThreadPoolExecutor(2) as pool:
        assert client.post("/v1/datasets", json={"name": "d", "schema": SCHEMA}).status_code == 201
        reference = records(frame(500, 1))
        assert client.put("/v1/datasets/d/reference", json=reference).status_code == 201
        batch = records(frame(200, 2, prefix="b"))
        assert client.post("/v1/datasets/d/batches?batch_id=b1", json=batch).status_code == 201
        monitor = {**drift_monitor("m", "d", "h"), "actions": [], "enabled": False}
        assert client.post("/v1/monitors", json=monitor).status_code == 201
        _other_replica_claims_first(api, other, claimed)
        _slow_run_reads(api)

        waiting = pool.submit(client.post, "/v1/monitors/m/run", params={"wait": "true"})
        deadline = time.monotonic() + 30
        while not claimed and time.monotonic() < deadline:
            time.sleep(0.01)
        assert claimed, "the other replica never claimed the run"
        latencies = []
        for _ in range(6):
            started = time.monotonic()
            assert client.get("/healthz").status_code == 200
            latencies.append(time.monotonic() - started)
            time.sleep(0.05)
        assert not waiting.done(), "the wait ended before the run did"
        finished = threading.Thread(target=runner.execute, args=(other, claimed[0]))
        finished.start()
        response = waiting.result(timeout=60)
        finished.join()
    other.engine.dispose()
    api.engine.dispose()
    assert response.status_code == 200 and response.json()["status"] == "succeeded"
    assert max(latencies) < SLOW_READ_SECONDS / 2, latencies
