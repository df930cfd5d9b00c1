"""Alerts that people trust, over real HTTP with a real receiver: `for`, baselines, failed
runs that change nothing, cooldown across monitors, and the retrain loop closing."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select

from dqm.service.db.models import Batch
from dqm.service.settings import Settings
from tests.service.data import SCHEMA, frame, records
from tests.service.helpers import make_context
from tests.service.scrape import scrape_until
from tests.support.receiver import Receiver, running_receiver
from tests.support.server import running_server

DRIFT_RULE = {"metric": "share_drifted_columns", "op": ">=", "value": 0.3}


def _dataset(client: httpx.Client, receiver: Receiver) -> None:
    assert client.post("/v1/datasets", json={"name": "d", "schema": SCHEMA}).status_code == 201
    assert client.put("/v1/datasets/d/reference", json=records(frame(2000, 1))).status_code == 201
    hook = client.post(
        "/v1/hooks",
        json={"name": "trainer", "url": receiver.url, "events": ["alert.firing", "alert.resolved"]},
    )
    receiver.secrets.append(hook.json()["secret"])


def _monitor(
    client: httpx.Client,
    name: str,
    rules: list[dict[str, Any]],
    actions: list[dict[str, Any]] | None = None,
) -> None:
    response = client.post(
        "/v1/monitors",
        json={
            "name": name,
            "dataset": "d",
            "kind": "drift",
            "schedule": {"every": "1h"},
            "window": {"last_batches": 1},
            "rules": rules,
            "actions": actions or [],
        },
    )
    assert response.status_code == 201, response.text


def _push(client: httpx.Client, key: str, shift: float, seed: int) -> None:
    body = records(frame(500, seed, shift=shift, prefix=key))
    assert client.post(f"/v1/datasets/d/batches?batch_id={key}", json=body).status_code == 201


def _run(client: httpx.Client, monitor: str) -> dict[str, Any]:
    run: dict[str, Any] = client.post(f"/v1/monitors/{monitor}/run?wait=true").json()
    return run


def _states(client: httpx.Client) -> list[str]:
    return [a["state"] for a in client.get("/v1/alerts").json()["items"]]


def test_for_two_runs_goes_pending_then_firing(settings: Settings) -> None:
    with running_receiver() as receiver, running_server(settings) as client:
        _dataset(client, receiver)
        _monitor(client, "m", [{**DRIFT_RULE, "for": 2}])
        _push(client, "b1", 1.0, 2)
        _run(client, "m")
        assert _states(client) == ["pending"]
        _push(client, "b2", 1.0, 3)
        _run(client, "m")
        assert _states(client) == ["firing"]
        assert len(receiver.wait_for(1, "alert.firing")) == 1


def test_a_failed_run_neither_fires_nor_resolves(settings: Settings) -> None:
    with running_receiver() as receiver, running_server(settings) as client:
        _dataset(client, receiver)
        _monitor(client, "m", [DRIFT_RULE])
        _push(client, "b1", 1.0, 2)
        _run(client, "m")
        assert _states(client) == ["firing"]
        _push(client, "b2", 0.0, 3)  # clean: would resolve the alert ...
        ctx = make_context(settings, "test")
        with ctx.sessions() as session:
            path = session.scalar(select(Batch.path).where(Batch.batch_key == "b2"))
        assert path is not None and ctx.storage.delete(path)  # ... but the run fails on it
        failed = _run(client, "m")
        assert failed["status"] == "failed" and "no stored file" in failed["error"]
        assert _states(client) == ["firing"]
        receiver.wait_for(1, "alert.firing")
        assert receiver.delivered("alert.resolved") == []
        scrape_until(client, 'dqm_runs_total{dataset="d",monitor="m",outcome="failed"} 1.0')


def test_history_baseline_fires_on_an_outlier(settings: Settings) -> None:
    rule = {
        "metric": "drift_score",
        "column": "age",
        "baseline": {"baseline": "history", "runs": 10, "min_runs": 3, "sigma": 3},
        "op": ">",
    }
    with running_receiver() as receiver, running_server(settings) as client:
        _dataset(client, receiver)
        _monitor(client, "m", [rule])
        for i in range(4):
            _push(client, f"c{i}", 0.0, 10 + i)
            _run(client, "m")
        assert _states(client) == []
        _push(client, "shifted", 0.6, 20)
        run = _run(client, "m")
        firing = client.get("/v1/alerts?state=firing").json()["items"]
        assert [(a["metric"], a["column"]) for a in firing] == [("drift_score", "age")]
        score = next(
            m["value"]
            for m in run["metrics"]
            if m["column"] == "age" and m["name"] == "drift_score"
        )
        assert firing[0]["value"] == score and firing[0]["threshold"] < score


def test_reference_baseline_learns_bounds_from_reference_chunks(settings: Settings) -> None:
    rule = {
        "metric": "drift_score",
        "column": "income",
        "baseline": {"baseline": "reference", "sigma": 3},
        "op": ">",
    }
    with running_receiver() as receiver, running_server(settings) as client:
        _dataset(client, receiver)
        _monitor(client, "m", [rule])
        _push(client, "clean", 0.0, 5)
        _run(client, "m")
        assert _states(client) == []
        _push(client, "shifted", 1.0, 6)
        _run(client, "m")
        assert [a["column"] for a in client.get("/v1/alerts?state=firing").json()["items"]] == [
            "income"
        ]


def test_cooldown_holds_across_monitors_and_the_loop_closes(settings: Settings) -> None:
    retrain = {"on": "firing", "hook": "trainer", "event": "retrain.requested", "cooldown": "6h"}
    with running_receiver() as receiver, running_server(settings) as client:
        _dataset(client, receiver)
        _monitor(client, "m1", [DRIFT_RULE], [retrain])
        _monitor(client, "m2", [{**DRIFT_RULE, "value": 0.2}], [retrain])
        _push(client, "b1", 1.0, 2)
        _run(client, "m1")
        _run(client, "m2")
        assert len(receiver.wait_for(2, "alert.firing")) == 2  # both monitors fired
        [request] = receiver.wait_for(1, "retrain.requested")  # ... one retrain request
        assert request.verified
        [listed] = client.get("/v1/retrain-requests?dataset=d").json()["items"]
        assert listed["id"] == request.event["data"]["request_id"] and listed["monitor"] == "m1"
        assert listed["status"] == "acknowledged"  # the 2xx acknowledged it

        # The pipeline retrains on the new data and uploads it as the new reference.
        new_ref = records(frame(2000, 30, shift=1.0, prefix="n"))
        assert client.put("/v1/datasets/d/reference", json=new_ref).json()["version"] == 2
        assert (
            client.get(f"/v1/retrain-requests/{listed['id']}").json()["new_reference_version"] == 2
        )
        _push(client, "b2", 1.0, 31)
        _run(client, "m1")
        closed = client.get(f"/v1/retrain-requests/{listed['id']}").json()
        assert closed["status"] == "resolved" and closed["checked_run_id"] is not None
        assert len(receiver.wait_for(1, "alert.resolved")) >= 1
        assert len(receiver.delivered("retrain.requested")) == 1


def test_request_still_firing_after_a_reference_that_did_not_help(settings: Settings) -> None:
    retrain = {"on": "firing", "hook": "trainer", "event": "retrain.requested"}
    with running_receiver() as receiver, running_server(settings) as client:
        _dataset(client, receiver)
        _monitor(client, "m", [DRIFT_RULE], [retrain])
        _push(client, "b1", 1.0, 2)
        _run(client, "m")
        receiver.wait_for(1, "retrain.requested")
        client.put("/v1/datasets/d/reference", json=records(frame(2000, 40)))
        _push(client, "b2", 1.0, 41)
        _run(client, "m")
        [request] = client.get("/v1/retrain-requests").json()["items"]
        assert request["status"] == "still_firing"
        ack = client.post(f"/v1/retrain-requests/{request['id']}/acknowledge")
        assert ack.status_code == 409
