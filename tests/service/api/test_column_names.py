"""A column name with a control character or a lone surrogate is a 422 wherever a schema is
made (create, PATCH, inferred from a reference), never a 500 from the database."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from dqm.service.settings import Settings
from tests.support.server import running_server

BAD_NAMES = ["a\u0000b", "tab\there", "x\udbbe"]
JSON = {"content-type": "application/json"}


def send(client: httpx.Client, method: str, url: str, body: dict[str, Any]) -> httpx.Response:
    """``body`` as ASCII JSON, so a lone surrogate travels as its escape (as a fuzzer sends)."""
    return client.request(method, url, content=json.dumps(body), headers=JSON)


@pytest.mark.parametrize("name", BAD_NAMES, ids=["nul", "tab", "surrogate"])
def test_a_name_that_cannot_be_stored_is_refused_everywhere(settings: Settings, name: str) -> None:
    bad = {"columns": [{"name": name, "type": "numerical"}]}
    good = {"columns": [{"name": "x", "type": "numerical"}]}
    with running_server(settings) as client:
        created = send(client, "POST", "/v1/datasets", {"name": "d", "schema": bad})
        assert created.status_code == 422, created.text
        assert any(
            d["field"].endswith("columns.0.name") for d in created.json()["error"]["details"]
        )
        assert client.post("/v1/datasets", json={"name": "d", "schema": good}).status_code == 201
        patched = send(client, "PATCH", "/v1/datasets/d", bad)
        assert patched.status_code == 422, patched.text
        schema = client.get("/v1/datasets/d").json()["schema"]
        assert [c["name"] for c in schema["columns"]] == ["x"]  # nothing changed
        inferred = client.post("/v1/datasets", json={"name": "e"})
        assert inferred.status_code == 201
        csv = f"{name},y\n1,2\n3,4\n".encode("utf-8", "surrogatepass")
        upload = client.put(
            "/v1/datasets/e/reference", content=csv, headers={"content-type": "text/csv"}
        )
        assert upload.status_code == 422, upload.text
