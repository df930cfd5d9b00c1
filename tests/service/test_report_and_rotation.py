"""The run's HTML report (Evidently, rendered on demand and cached), and secret rotation seen
by a real receiver holding either secret."""

from __future__ import annotations

from sqlalchemy import select

import dqm.service.runs.reports as reports
from dqm.service.db.models import Dataset
from dqm.service.settings import Settings
from dqm.service.storage import dataset_prefix
from tests.service.data import SCHEMA, frame, records
from tests.service.helpers import make_context
from tests.support.receiver import running_receiver
from tests.support.server import running_server


def test_report_is_rendered_once_and_served_from_cache(settings: Settings) -> None:
    with running_server(settings) as client:
        client.post("/v1/datasets", json={"name": "d", "schema": SCHEMA}).raise_for_status()
        client.put("/v1/datasets/d/reference", json=records(frame(300, 1))).raise_for_status()
        client.post(
            "/v1/monitors",
            json={"name": "m", "dataset": "d", "kind": "drift", "schedule": {"every": "1h"}},
        ).raise_for_status()
        assert client.post("/v1/monitors/m/run?wait=true").json()["status"] == "skipped"
        no_data = client.get("/v1/runs/1/report")
        assert no_data.status_code == 409 and "skipped" in no_data.json()["error"]["message"]
        client.post("/v1/datasets/d/batches", json=records(frame(200, 2, shift=1.0)))
        run_id = client.post("/v1/monitors/m/run?wait=true").json()["id"]
        report = client.get(f"/v1/runs/{run_id}/report")
        assert report.status_code == 200 and report.headers["content-type"].startswith("text/html")
        assert "<html" in report.text.lower() and "income" in report.text
        ctx = make_context(settings, "t")
        with ctx.sessions() as session:
            dataset_id = session.scalars(select(Dataset.id)).one()
        cached = reports.cache_path(dataset_id, run_id)
        assert cached.startswith(f"{dataset_prefix(dataset_id)}/reports/")
        assert ctx.storage.exists(cached)
        assert client.get(f"/v1/runs/{run_id}/report").text == report.text
        assert client.get("/v1/runs/999/report").status_code == 404


def test_rotated_secret_signs_with_both_until_the_next_rotation(settings: Settings) -> None:
    with (
        running_receiver() as old_side,
        running_receiver() as new_side,
        running_server(settings) as client,
    ):
        created = client.post(
            "/v1/hooks", json={"name": "h", "url": old_side.url, "events": ["alert.firing"]}
        ).json()
        rotated = client.post("/v1/hooks/h/rotate-secret").json()
        assert rotated["secret"] != created["secret"] and rotated["secret"].startswith("whsec_")
        assert client.get("/v1/hooks/h").json()["secret"] is None  # shown once only
        old_side.secrets.append(created["secret"])
        new_side.secrets.append(rotated["secret"])
        client.post("/v1/datasets", json={"name": "d", "schema": SCHEMA}).raise_for_status()
        client.put("/v1/datasets/d/reference", json=records(frame(300, 1))).raise_for_status()
        client.post(
            "/v1/monitors",
            json={
                "name": "m",
                "dataset": "d",
                "kind": "drift",
                "schedule": {"every": "1h"},
                "rules": [{"metric": "share_drifted_columns", "op": ">=", "value": 0.3}],
            },
        ).raise_for_status()
        client.post("/v1/datasets/d/batches", json=records(frame(200, 2, shift=1.0)))
        client.post("/v1/monitors/m/run?wait=true").raise_for_status()
        [delivery] = old_side.wait_for(1, "alert.firing")
        assert delivery.verified  # the receiver still on the old secret accepts it
        assert len(delivery.headers["webhook-signature"].split()) == 2
        assert new_side.verifies(delivery.headers, delivery.body)  # so does the new secret
        client.post("/v1/hooks/h/rotate-secret").raise_for_status()
        log = client.get("/v1/hooks/h/deliveries").json()["items"]
        assert [d["status"] for d in log] == ["delivered"]
        assert log[0]["attempt_log"][0]["status_code"] == 204
