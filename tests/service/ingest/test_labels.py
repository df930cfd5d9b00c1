"""Late labels: joined by row id, counted as matched or unmatched, validated, and visible to
monitors in the window with their delay."""

from __future__ import annotations

from datetime import timedelta

from dqm.monitors.schema import Schema
from dqm.service.clock import utcnow
from dqm.service.runs.windows import LABEL_DELAY_COLUMN, load_window
from dqm.service.settings import Settings
from tests.service.data import SCHEMA, frame, records
from tests.service.helpers import make_context
from tests.support.server import running_server


def test_labels_match_rows_and_join_into_the_window(settings: Settings) -> None:
    with running_server(settings) as client:
        client.post("/v1/datasets", json={"name": "d", "schema": SCHEMA})
        client.put("/v1/datasets/d/reference", json=records(frame(50, 1)))
        cols = frame(10, 2, prefix="p")
        del cols["label"]
        assert (
            client.post("/v1/datasets/d/batches?batch_id=b", json=records(cols)).status_code == 201
        )
        answer = client.post(
            "/v1/datasets/d/labels",
            json={
                "labels": [
                    {"id": "p1", "label": "yes"},
                    {"id": "p4", "label": "no"},
                    {"id": "ghost", "label": "no"},
                ]
            },
        )
        assert answer.status_code == 200, answer.text
        assert answer.json() == {"matched": 2, "unmatched": 1, "unmatched_ids": ["ghost"]}
        relabel = client.post(
            "/v1/datasets/d/labels", json={"labels": [{"id": "p1", "label": "no"}]}
        )
        assert relabel.json()["matched"] == 1

        bad = client.post("/v1/datasets/d/labels", json={"labels": [{"label": "no"}, {"id": "p2"}]})
        assert bad.status_code == 422
        assert [d["index"] for d in bad.json()["error"]["details"]] == [0, 1]

    ctx = make_context(settings, "t")
    with ctx.sessions() as session:
        window = load_window(
            ctx,
            session,
            1,
            Schema.model_validate(SCHEMA),
            {"last_batches": 1},
            utcnow() + timedelta(seconds=1),
        )
    assert window is not None
    labels = dict(
        zip(
            window.table.column("id").to_pylist(),
            window.table.column("label").to_pylist(),
            strict=True,
        )
    )
    assert labels["p1"] == "no" and labels["p4"] == "no" and labels["p0"] is None
    delays = dict(
        zip(
            window.table.column("id").to_pylist(),
            window.table.column(LABEL_DELAY_COLUMN).to_pylist(),
            strict=True,
        )
    )
    assert delays["p0"] is None and 0 <= delays["p4"] < 30
    assert window.row_batch_keys.to_pylist() == ["b"] * 10


def test_labels_need_id_and_target_roles(settings: Settings) -> None:
    with running_server(settings) as client:
        client.post(
            "/v1/datasets",
            json={"name": "plain", "schema": {"columns": [{"name": "x", "type": "numerical"}]}},
        )
        response = client.post("/v1/datasets/plain/labels", json={"labels": [{"id": 1, "x": 2}]})
        assert response.status_code == 422
        assert {d["missing_role"] for d in response.json()["error"]["details"]} == {"id", "target"}
