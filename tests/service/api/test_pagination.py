"""Every list endpoint answers one shape, {"items", "next_cursor"}, and walking the cursors
visits each row exactly once in the list's order, also while rows are added meanwhile."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import pytest

import dqm.service.paging as paging
from dqm.monitors.errors import InvalidInputError
from dqm.service.settings import Settings
from tests.service.data import SCHEMA, frame, records
from tests.support.server import running_server


def walk(client: httpx.Client, path: str, limit: int) -> list[list[dict[str, Any]]]:
    """The pages of ``path``, following next_cursor until it is null."""
    pages: list[list[dict[str, Any]]] = []
    params: dict[str, Any] = {"limit": limit}
    while True:
        response = client.get(path, params=params)
        assert response.status_code == 200, response.text
        body = response.json()
        assert set(body) == {"items", "next_cursor"}
        pages.append(body["items"])
        if body["next_cursor"] is None:
            return pages
        assert len(body["items"]) == limit
        params = {"limit": limit, "cursor": body["next_cursor"]}


def test_cursor_round_trip_and_malformed_cursors() -> None:
    from datetime import UTC, datetime

    at = datetime(2026, 11, 29, 21, 30, 0, 123456, tzinfo=UTC)
    cursor = paging.encode("batches", (at, 7))
    assert paging.decode(cursor, "batches", [datetime, int]) == (at, 7)
    for bad in ["", "!!", "bm90IGpzb24", cursor + "x", paging.encode("hooks", ("a",))]:
        with pytest.raises(InvalidInputError):
            paging.decode(bad, "batches", [datetime, int])
    forged = base64.urlsafe_b64encode(json.dumps({"s": "batches", "k": ["x", 1]}).encode())
    with pytest.raises(InvalidInputError):
        paging.decode(forged.decode(), "batches", [datetime, int])


@pytest.fixture
def client(settings: Settings):  # type: ignore[no-untyped-def]
    with running_server(settings) as c:
        yield c


def test_lists_page_through_every_row_once(client: httpx.Client) -> None:
    names = [f"d{i:02d}" for i in range(7)]
    for name in reversed(names):
        assert client.post("/v1/datasets", json={"name": name, "schema": SCHEMA}).status_code == 201
    pages = walk(client, "/v1/datasets", 3)
    assert [len(p) for p in pages] == [3, 3, 1]
    assert [d["name"] for p in pages for d in p] == names

    assert client.put("/v1/datasets/d00/reference", json=records(frame(30, 1))).status_code == 201
    posted: dict[str, int] = {}
    for i in range(5):
        response = client.post(f"/v1/datasets/d00/batches?batch_id=b{i}", json=records(frame(5, i)))
        assert response.status_code == 201
        assert response.json()["bytes"] > 0
        posted[f"b{i}"] = response.json()["bytes"]
    first = client.get("/v1/datasets/d00/batches", params={"limit": 2}).json()
    # a batch arriving between pages goes to the front, never into a later page twice
    client.post("/v1/datasets/d00/batches?batch_id=late", json=records(frame(5, 9)))
    rest = walk_from(client, "/v1/datasets/d00/batches", 2, first["next_cursor"])
    seen = [b["batch_id"] for b in first["items"]] + [b["batch_id"] for b in rest]
    assert seen == ["b4", "b3", "b2", "b1", "b0"]
    full = client.get("/v1/datasets/d00/batches").json()
    listed = {b["batch_id"]: b["bytes"] for b in full["items"]}
    assert {k: listed[k] for k in posted} == posted  # POST answers the stored size
    assert [b["batch_id"] for b in full["items"]][0] == "late"
    assert full["next_cursor"] is None

    for i in range(3):
        monitor = {"name": f"m{i}", "dataset": "d00", "kind": "drift", "schedule": {"every": "1h"}}
        assert client.post("/v1/monitors", json=monitor).status_code == 201
    assert [m["name"] for p in walk(client, "/v1/monitors", 2) for m in p] == ["m0", "m1", "m2"]


def walk_from(client: httpx.Client, path: str, limit: int, cursor: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    while cursor is not None:
        body = client.get(path, params={"limit": limit, "cursor": cursor}).json()
        items += body["items"]
        cursor = body["next_cursor"]
    return items


@pytest.mark.parametrize(
    "path",
    [
        "/v1/datasets",
        "/v1/datasets/d/references",
        "/v1/datasets/d/batches",
        "/v1/datasets/d/relabel-queue",
        "/v1/monitors",
        "/v1/monitors/m/runs",
        "/v1/alerts",
        "/v1/hooks",
        "/v1/hooks/h/deliveries",
        "/v1/keys",
        "/v1/retrain-requests",
    ],
)
def test_every_list_has_the_one_shape_and_refuses_foreign_cursors(
    client: httpx.Client, path: str
) -> None:
    client.post("/v1/datasets", json={"name": "d", "schema": SCHEMA})
    client.put("/v1/datasets/d/reference", json=records(frame(30, 1)))
    monitor = {"name": "m", "dataset": "d", "kind": "drift", "schedule": {"every": "1h"}}
    assert client.post("/v1/monitors", json=monitor).status_code == 201
    client.post(
        "/v1/hooks", json={"name": "h", "url": "http://127.0.0.1:9/x", "events": ["alert.firing"]}
    )
    body = client.get(path).json()
    assert set(body) == {"items", "next_cursor"}
    assert isinstance(body["items"], list) and body["next_cursor"] is None
    foreign = paging.encode("elsewhere", (1,))
    for cursor in ["not-a-cursor", foreign]:
        response = client.get(path, params={"cursor": cursor})
        assert response.status_code == 422, (path, response.text)
        assert response.json()["error"]["details"][0]["field"] == "cursor"
