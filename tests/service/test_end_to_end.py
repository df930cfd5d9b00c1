"""The whole path over real HTTP: ingest → drift monitor → stored run → alert → signed
webhooks → /metrics, with a real receiver verifying signatures."""

from __future__ import annotations

import httpx

from dqm.service.settings import Settings
from tests.service.data import SCHEMA, drift_monitor, frame, parquet_bytes, records
from tests.service.scrape import scrape_until
from tests.support.receiver import running_receiver
from tests.support.server import running_server

PARQUET = {"content-type": "application/vnd.apache.parquet"}


def _setup(client: httpx.Client, hook_url: str) -> str:
    assert client.post("/v1/datasets", json={"name": "churn", "schema": SCHEMA}).status_code == 201
    ref = client.put(
        "/v1/datasets/churn/reference", content=parquet_bytes(frame(2000, 1)), headers=PARQUET
    )
    assert ref.status_code == 201, ref.text
    assert ref.json()["version"] == 1 and ref.json()["rows"] == 2000
    hook = client.post(
        "/v1/hooks",
        json={"name": "trainer", "url": hook_url, "events": ["alert.firing", "alert.resolved"]},
    )
    assert hook.status_code == 201, hook.text
    secret: str = hook.json()["secret"]
    assert secret.startswith("whsec_")
    monitor = client.post("/v1/monitors", json=drift_monitor("churn-drift", "churn", "trainer"))
    assert monitor.status_code == 201, monitor.text
    return secret


def test_drifted_batch_fires_and_clean_batch_resolves(settings: Settings) -> None:
    with running_receiver() as receiver, running_server(settings) as client:
        receiver.secrets.append(_setup(client, receiver.url))

        clean = client.post(
            "/v1/datasets/churn/batches?batch_id=b1", json={"rows": records(frame(500, 2))}
        )
        assert clean.status_code == 201, clean.text
        run = client.post("/v1/monitors/churn-drift/run?wait=true")
        assert run.status_code == 200, run.text
        body = run.json()
        assert body["status"] == "succeeded", body
        share = next(m for m in body["metrics"] if m["name"] == "share_drifted_columns")
        assert share["value"] < 0.3 and share["column"] is None
        assert client.get("/v1/alerts?state=firing").json()["items"] == []

        drifted = client.post(
            "/v1/datasets/churn/batches?batch_id=b2",
            content=parquet_bytes(frame(500, 3, shift=1.0, prefix="d")),
            headers=PARQUET,
        )
        assert drifted.status_code == 201, drifted.text
        body = client.post("/v1/monitors/churn-drift/run?wait=true").json()
        scores = {m["column"]: m for m in body["metrics"] if m["name"] == "drift_score"}
        assert scores["age"]["drifted"] and scores["age"]["method"] == "wasserstein"
        firing = client.get("/v1/alerts?state=firing").json()["items"]
        assert [a["metric"] for a in firing] == ["share_drifted_columns"]

        retrain = receiver.wait_for(1, "retrain.requested")[0]
        assert retrain.verified
        assert retrain.event["data"]["window"]["batch_ids"] == ["b2"]
        alert = receiver.wait_for(1, "alert.firing")[0]
        assert alert.verified and alert.event["data"]["alert"]["metric"] == "share_drifted_columns"

        client.post("/v1/datasets/churn/batches?batch_id=b3", json=records(frame(500, 4)))
        body = client.post("/v1/monitors/churn-drift/run?wait=true").json()
        assert body["status"] == "succeeded"
        resolved = receiver.wait_for(1, "alert.resolved")[0]
        assert resolved.verified
        assert client.get("/v1/alerts?state=firing").json()["items"] == []
        assert len(client.get("/v1/alerts?state=resolved").json()["items"]) == 1

        scrape_until(
            client,
            'dqm_monitor_metric{dataset="churn",metric="share_drifted_columns",monitor="churn-drift"}',
            'dqm_monitor_column_metric{dataset="churn",feature="age",metric="drift_score",monitor="churn-drift"}',
            'dqm_runs_total{dataset="churn",monitor="churn-drift",outcome="succeeded"} 3.0',
            'dqm_ingested_batches_total{dataset="churn"}',
        )
        series = client.get(
            "/v1/monitors/churn-drift/series", params={"metric": "drift_score", "column": "age"}
        ).json()
        assert [p["drifted"] for p in series["points"]] == [False, True, False]
