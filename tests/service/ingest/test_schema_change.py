"""PATCH /v1/datasets/{name}: roles are fixed in place; added columns and changed types make
the current reference, cast, a new version; old batches keep their files and are read with the
added columns null and changed types cast; what does not cast is a 422 that changes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from dqm.monitors.schema import Schema
from dqm.service.clock import utcnow
from dqm.service.runs.windows import load_window
from dqm.service.settings import Settings
from tests.service.data import SCHEMA, frame, records
from tests.service.helpers import make_context
from tests.support.server import running_server


@pytest.fixture
def client(settings: Settings) -> Iterator[httpx.Client]:
    with running_server(settings) as c:
        assert c.post("/v1/datasets", json={"name": "d", "schema": SCHEMA}).status_code == 201
        assert c.put("/v1/datasets/d/reference", json=records(frame(200, 1))).status_code == 201
        old = records(frame(50, 2, prefix="old"))
        assert c.post("/v1/datasets/d/batches?batch_id=old", json=old).status_code == 201
        yield c


def versions(client: httpx.Client) -> list[int]:
    return [r["version"] for r in client.get("/v1/datasets/d/references").json()["items"]]


def columns(client: httpx.Client) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in client.get("/v1/datasets/d").json()["schema"]["columns"]}


def test_fixing_a_role_changes_only_the_schema(client: httpx.Client) -> None:
    fix = [{"name": "city", "type": "categorical", "role": "prediction"}]
    response = client.patch("/v1/datasets/d", json={"columns": fix})
    assert response.status_code == 200, response.text
    assert columns(client)["city"]["role"] == "prediction"
    assert versions(client) == [1]


def test_an_added_column_is_null_in_old_batches_and_the_reference(
    client: httpx.Client, settings: Settings
) -> None:
    added = {"name": "score", "type": "numerical"}
    response = client.patch("/v1/datasets/d", json={"columns": [added]})
    assert response.status_code == 200, response.text
    assert list(columns(client)) == ["id", "age", "income", "city", "label", "score"]
    assert versions(client) == [2, 1]
    assert client.get("/v1/datasets/d").json()["current_reference_version"] == 2
    # producers now send the column; a batch without it is refused
    without = client.post("/v1/datasets/d/batches", json=records(frame(5, 3, prefix="x")))
    assert without.status_code == 422
    new = frame(50, 4, prefix="new")
    new["score"] = [0.5] * 50
    assert client.post("/v1/datasets/d/batches?batch_id=new", json=records(new)).status_code == 201
    monitor = {"name": "m", "dataset": "d", "kind": "drift", "window": {"last_batches": 2}}
    monitor["schedule"] = {"every": "1h"}
    assert client.post("/v1/monitors", json=monitor).status_code == 201
    run = client.post("/v1/monitors/m/run?wait=true").json()
    assert run["status"] == "succeeded", run
    assert run["window"]["batch_ids"] == ["old", "new"]
    scored = {m["column"]: m for m in run["metrics"] if m["name"] == "drift_score"}
    assert scored["score"]["status"].startswith("skipped")  # the reference has no values
    ctx = make_context(settings, "t")
    with ctx.sessions() as session:
        schema = Schema.model_validate({"columns": list(columns(client).values())})
        window = load_window(ctx, session, 1, schema, {"last_batches": 2}, utcnow())
    assert window is not None
    assert window.table.column("score").to_pylist() == [None] * 50 + [0.5] * 50


def test_a_changed_type_casts_the_reference_and_old_batches(
    client: httpx.Client, settings: Settings
) -> None:
    refused = client.patch(
        "/v1/datasets/d", json={"columns": [{"name": "city", "type": "numerical"}]}
    )
    assert refused.status_code == 422
    error = refused.json()["error"]
    assert "reference does not cast" in error["message"] or "batch" in error["message"]
    assert error["details"][0]["column"] == "city"
    assert columns(client)["city"]["type"] == "categorical" and versions(client) == [1]

    retyped = client.patch(
        "/v1/datasets/d", json={"columns": [{"name": "age", "type": "categorical"}]}
    )
    assert retyped.status_code == 200, retyped.text
    assert columns(client)["age"]["type"] == "categorical" and versions(client) == [2, 1]
    ctx = make_context(settings, "t")
    with ctx.sessions() as session:
        schema = Schema.model_validate({"columns": list(columns(client).values())})
        window = load_window(ctx, session, 1, schema, {"last_batches": 1}, utcnow())
    assert window is not None
    ages = window.table.column("age").to_pylist()
    assert all(isinstance(a, str) for a in ages)
    assert [float(a) for a in ages] == frame(50, 2)["age"]


def test_a_column_added_then_retyped_is_checked_only_where_stored(client: httpx.Client) -> None:
    added = client.patch("/v1/datasets/d", json={"columns": [{"name": "0", "type": "numerical"}]})
    assert added.status_code == 200, added.text
    retyped = client.patch("/v1/datasets/d", json={"columns": [{"name": "0", "type": "datetime"}]})
    assert retyped.status_code == 200, retyped.text  # the old batch has no column "0"
    assert columns(client)["0"]["type"] == "datetime" and versions(client) == [3, 2, 1]


def test_bad_patches(client: httpx.Client) -> None:
    two_ids = [{"name": "city", "type": "categorical", "role": "id"}]
    assert client.patch("/v1/datasets/d", json={"columns": two_ids}).status_code == 422
    assert client.patch("/v1/datasets/d", json={"columns": []}).status_code == 422
    assert client.patch("/v1/datasets/d", json={"drop": ["age"]}).status_code == 422
    nope = client.patch("/v1/datasets/nope", json={"columns": [{"name": "a", "type": "numerical"}]})
    assert nope.status_code == 404
    assert versions(client) == [1] and len(columns(client)) == 5
