"""Changing a monitor's rules resolves its firing alerts the way a run would: receivers get
``alert.resolved``, over real HTTP, for each alert they were told was firing."""

from __future__ import annotations

import httpx

from dqm.service.settings import Settings
from tests.service.data import SCHEMA, frame, records
from tests.support.receiver import running_receiver
from tests.support.server import running_server

DRIFT_RULE = {"metric": "share_drifted_columns", "op": ">=", "value": 0.3}


def _firing_monitor(client: httpx.Client, hook_url: str) -> str:
    """A drift monitor whose alert fires on its first run; returns the hook's secret."""
    assert client.post("/v1/datasets", json={"name": "d", "schema": SCHEMA}).status_code == 201
    assert client.put("/v1/datasets/d/reference", json=records(frame(2000, 1))).status_code == 201
    hook = client.post(
        "/v1/hooks",
        json={"name": "h", "url": hook_url, "events": ["alert.firing", "alert.resolved"]},
    )
    monitor = {
        "name": "m",
        "dataset": "d",
        "kind": "drift",
        "schedule": {"every": "1h"},
        "window": {"last_batches": 1},
        "rules": [DRIFT_RULE],
    }
    assert client.post("/v1/monitors", json=monitor).status_code == 201
    body = records(frame(500, 2, shift=1.0, prefix="b"))
    assert client.post("/v1/datasets/d/batches?batch_id=b1", json=body).status_code == 201
    run = client.post("/v1/monitors/m/run?wait=true").json()
    assert run["status"] == "succeeded", run
    secret: str = hook.json()["secret"]
    return secret


def test_new_firing_alert_has_its_firing_time(settings: Settings) -> None:
    with running_receiver() as receiver, running_server(settings) as client:
        receiver.secrets.append(_firing_monitor(client, receiver.url))
        [alert] = client.get("/v1/alerts").json()["items"]
    assert alert["state"] == "firing"
    assert alert["firing_at"] is not None and alert["firing_at"] == alert["started_at"]


def test_patching_rules_sends_alert_resolved(settings: Settings) -> None:
    with running_receiver() as receiver, running_server(settings) as client:
        receiver.secrets.append(_firing_monitor(client, receiver.url))
        [fired] = receiver.wait_for(1, "alert.firing")
        patched = client.patch("/v1/monitors/m", json={"rules": [{**DRIFT_RULE, "value": 0.9}]})
        assert patched.status_code == 200, patched.text
        [resolved] = receiver.wait_for(1, "alert.resolved")
        [alert] = client.get("/v1/alerts").json()["items"]
    assert resolved.verified
    data, firing_data = resolved.event["data"], fired.event["data"]
    assert data["alert"]["id"] == firing_data["alert"]["id"]
    assert data["alert"]["state"] == "ok"
    assert data["alert"]["started_at"] == firing_data["alert"]["started_at"]
    assert data["alert"]["resolved_at"] == alert["resolved_at"].replace("+00:00", "Z")
    assert data["run_id"] == firing_data["run_id"]
    assert data["run_url"] == firing_data["run_url"]
    assert alert["state"] == "resolved"
