"""The relabel queue over HTTP: label-quality findings rank rows, one entry per row, capped
per slice, exported with the rows' data; a label posted back closes the item; a firing
label-quality alert sends the queue as relabel.requested."""

from __future__ import annotations

import csv
import io

import httpx
import pyarrow.parquet as pq

from dqm.service.settings import Settings
from tests.support.pets import SCHEMA, rows
from tests.support.receiver import running_receiver
from tests.support.server import running_server


def _setup(client: httpx.Client, hook_url: str) -> str:
    client.post("/v1/datasets", json={"name": "pets", "schema": SCHEMA}).raise_for_status()
    client.put("/v1/datasets/pets/reference", json=rows(400, 1, "r")).raise_for_status()
    hook = client.post(
        "/v1/hooks", json={"name": "labelers", "url": hook_url, "events": ["relabel.requested"]}
    )
    secret: str = hook.json()["secret"]
    client.post(
        "/v1/monitors",
        json={
            "name": "labels",
            "dataset": "pets",
            "kind": "label_quality",
            "schedule": {"every": "1h"},
            "window": {"last_batches": 1},
            "rules": [{"metric": "label_issue_share", "op": ">", "value": 0.05}],
            "actions": [
                {"on": "firing", "hook": "labelers", "event": "relabel.requested", "budget": 5}
            ],
        },
    ).raise_for_status()
    return secret


def test_queue_ranks_exports_caps_slices_and_closes_on_labels(settings: Settings) -> None:
    with running_receiver() as receiver, running_server(settings) as client:
        receiver.secrets.append(_setup(client, receiver.url))
        batch = rows(200, 2, "p", flipped=20)
        client.post("/v1/datasets/pets/batches?batch_id=b1", json=batch).raise_for_status()
        run = client.post("/v1/monitors/labels/run?wait=true").json()
        assert run["status"] == "succeeded", run
        share = next(m["value"] for m in run["metrics"] if m["name"] == "label_issue_share")
        assert share > 0.05

        queue = client.get("/v1/datasets/pets/relabel-queue", params={"limit": 1000})
        items = queue.json()["items"]
        assert queue.json()["next_cursor"] is None
        flipped = {f"p{i}" for i in range(20)}
        assert int(queue.headers["x-total-count"]) == len(items) >= 15
        assert {i["row_id"] for i in items} <= flipped  # only the rows whose labels are wrong
        assert len({i["row_id"] for i in items}) == len(items)  # one entry per row
        paged, params = [], {"limit": 4}
        while True:  # pages of 4 follow the cursor through the same queue, in the same order
            page = client.get("/v1/datasets/pets/relabel-queue", params=params).json()
            paged += page["items"]
            if page["next_cursor"] is None:
                break
            params["cursor"] = page["next_cursor"]
        assert [i["row_id"] for i in paged] == [i["row_id"] for i in items]
        exported = client.get(
            "/v1/datasets/pets/relabel-queue", params={"format": "csv", "limit": 4}
        )
        assert exported.headers["x-next-cursor"]
        priorities = [i["priority"] for i in items]
        assert priorities == sorted(priorities, reverse=True)
        top = items[0]
        assert top["reasons"] == ["label_issue"] and top["batch_id"] == "b1"
        assert top["row"]["id"] == top["row_id"]
        expected = 1 - (1 - top["label_issue"]) * (1 - top["uncertainty"])
        assert abs(top["priority"] - expected) < 1e-12
        assert abs(top["uncertainty"] - (1 - max(top["row"]["p_cat"], top["row"]["p_dog"]))) < 1e-9

        capped = client.get(
            "/v1/datasets/pets/relabel-queue",
            params={"limit": 8, "slice_column": "segment", "max_slice_share": 0.5},
        )
        segments = [i["row"]["segment"] for i in capped.json()["items"]]
        assert len(segments) == 8 and max(segments.count("a"), segments.count("b")) <= 4

        exported = client.get("/v1/datasets/pets/relabel-queue", params={"format": "csv"})
        lines = list(csv.DictReader(io.StringIO(exported.text)))
        assert [r["row_id"] for r in lines] == [i["row_id"] for i in items[:100]]
        assert lines[0]["data.label"] == items[0]["row"]["label"]
        parquet = client.get("/v1/datasets/pets/relabel-queue", params={"format": "parquet"})
        table = pq.read_table(io.BytesIO(parquet.content))
        assert table.column("row_id").to_pylist() == [i["row_id"] for i in items[:100]]

        [event] = receiver.wait_for(1, "relabel.requested")
        data = event.event["data"]
        assert event.verified and data["count"] == len(items) and len(data["rows"]) == 5
        assert data["truncated"] and data["export_url"].endswith("relabel-queue?format=csv")
        assert [r["id"] for r in data["rows"]] == [i["row_id"] for i in items[:5]]

        fixed = client.post(
            "/v1/datasets/pets/labels", json={"labels": [{"id": top["row_id"], "label": "dog"}]}
        )
        assert fixed.json()["matched"] == 1
        after = client.get("/v1/datasets/pets/relabel-queue", params={"limit": 1000}).json()[
            "items"
        ]
        assert top["row_id"] not in {i["row_id"] for i in after}
        assert len(after) == len(items) - 1

        bad = client.get("/v1/datasets/pets/relabel-queue", params={"slice_column": "nope"})
        assert bad.status_code == 422
