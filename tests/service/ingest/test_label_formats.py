"""Labels arrive as JSON, CSV, Parquet or an Arrow stream, decoded under the upload limits;
every format stores the same labels, and bad bodies are refused with nothing stored."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import httpx
import pyarrow as pa
import pyarrow.ipc as ipc
import pyarrow.parquet as pq
import pytest
from sqlalchemy import select

from dqm.service.db.models import Label
from dqm.service.settings import Settings
from tests.service.data import SCHEMA, frame, records
from tests.service.helpers import make_context
from tests.support.server import running_server

NUMERIC_SCHEMA = {
    "columns": [
        {"name": "id", "type": "categorical", "role": "id"},
        {"name": "x", "type": "numerical"},
        {"name": "y", "type": "numerical", "role": "target"},
    ]
}


def parquet(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


def arrow(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    with ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue()


def csv(table: pa.Table) -> bytes:
    lines = [",".join(table.column_names)]
    lines += [
        ",".join("" if v is None else str(v) for v in row.values()) for row in table.to_pylist()
    ]
    return ("\n".join(lines) + "\n").encode()


ENCODERS = {
    "text/csv": csv,
    "application/vnd.apache.parquet": parquet,
    "application/vnd.apache.arrow.stream": arrow,
}


@pytest.fixture
def client(settings: Settings) -> Iterator[httpx.Client]:
    settings = settings.model_copy(update={"max_upload_rows": 50})
    with running_server(settings) as c:
        for name, schema in (("d", SCHEMA), ("n", NUMERIC_SCHEMA)):
            assert c.post("/v1/datasets", json={"name": name, "schema": schema}).is_success
        assert c.post("/v1/datasets/d/batches", json=records(frame(10, 2, prefix="p"))).is_success
        yield c


def stored(settings: Settings) -> dict[str, Any]:
    ctx = make_context(settings, "t")
    with ctx.sessions() as session:
        rows = session.execute(select(Label.row_id, Label.value)).all()
    return {r: v["label"] for r, v in rows}


@pytest.mark.parametrize("content_type", sorted(ENCODERS))
def test_each_table_format_stores_the_labels(
    client: httpx.Client, settings: Settings, content_type: str
) -> None:
    table = pa.table({"id": ["p1", "p4", "ghost"], "label": ["yes", None, "no"]})
    answer = client.post(
        "/v1/datasets/d/labels",
        content=ENCODERS[content_type](table),
        headers={"content-type": content_type},
    )
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"matched": 2, "unmatched": 1, "unmatched_ids": ["ghost"]}
    numeric = pa.table({"id": ["a", "b"], "y": [1.5, -2.0]})
    answer = client.post(
        "/v1/datasets/n/labels",
        content=ENCODERS[content_type](numeric),
        headers={"content-type": content_type},
    )
    assert answer.status_code == 200, answer.text
    assert stored(settings) == {"p1": "yes", "p4": None, "ghost": "no", "a": 1.5, "b": -2.0}


def test_bad_bodies_are_refused_and_store_nothing(client: httpx.Client, settings: Settings) -> None:
    def post(body: bytes, content_type: str, name: str = "n") -> httpx.Response:
        return client.post(
            f"/v1/datasets/{name}/labels", content=body, headers={"content-type": content_type}
        )

    not_a_number = post(b"id,y\na,1.5\nb,high\n", "text/csv")
    assert not_a_number.status_code == 422
    assert not_a_number.json()["error"]["details"][0]["index"] == 1
    no_target = post(parquet(pa.table({"id": ["a"], "z": [1.0]})), "application/vnd.apache.parquet")
    assert no_target.status_code == 422
    assert post(b"id\ty\na\t1\n", "text/tab-separated-values").status_code == 415
    assert post(b"not parquet", "application/vnd.apache.parquet").status_code == 422
    assert post(b'{"labels": []}', "application/json").status_code == 422
    assert post(b'{"labels": [1]}', "application/json").status_code == 422
    too_many = csv(pa.table({"id": [f"r{i}" for i in range(51)], "y": [1.0] * 51}))
    assert post(too_many, "text/csv").status_code == 413  # DQM_MAX_UPLOAD_ROWS = 50
    assert post(b"id,y\na,1\n", "text/csv", name="nope").status_code == 404
    assert stored(settings) == {}
