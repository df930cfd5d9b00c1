"""The run page of runs that measured nothing (skipped: no batch in the window) and of runs
from before run records: they render, say why, and claim no plots or recorded params."""

from __future__ import annotations

from sqlalchemy import delete

from dqm.service.db.models import RunRecord
from dqm.service.db.session import transaction
from dqm.service.settings import Settings
from tests.service.data import SCHEMA, frame, records
from tests.service.helpers import make_context
from tests.support.server import running_server


def test_skipped_and_unrecorded_runs_render(settings: Settings) -> None:
    with running_server(settings) as client:
        client.post("/v1/datasets", json={"name": "d", "schema": SCHEMA}).raise_for_status()
        client.put("/v1/datasets/d/reference", json=records(frame(300, 1))).raise_for_status()
        monitor = {"name": "m", "dataset": "d", "kind": "drift", "schedule": {"every": "1h"}}
        client.post("/v1/monitors", json=monitor).raise_for_status()
        skipped = client.post("/v1/monitors/m/run?wait=true").json()
        assert skipped["status"] == "skipped"
        page = client.get(f"/runs/{skipped['id']}")
        assert page.status_code == 200
        assert "no batches in the window" in page.text
        assert "Evidently" not in page.text and "No dataset-level metric." in page.text

        client.post("/v1/datasets/d/batches", json=records(frame(200, 2))).raise_for_status()
        run = client.post("/v1/monitors/m/run?wait=true").json()
        with transaction(make_context(settings, "t").sessions) as session:
            session.execute(delete(RunRecord).where(RunRecord.run_id == run["id"]))
        page = client.get(f"/runs/{run['id']}")
        assert page.status_code == 200
        assert "this run predates recorded parameters" in page.text
        assert "stored no distributions" in page.text and 'class="chart' not in page.text
        assert client.get("/runs/999").status_code == 404
