"""Ingestion over HTTP: the four formats, schema inference, clear 4xx errors that store
nothing, idempotent batch keys and the body cap."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pyarrow as pa
import pyarrow.ipc as ipc
import pytest

from dqm.service.settings import Settings
from tests.service.data import SCHEMA, frame, parquet_bytes, records
from tests.support.server import running_server


def arrow_stream(columns: dict[str, list[object]]) -> bytes:
    table = pa.table(columns)
    sink = io.BytesIO()
    with ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue()


def csv_bytes(columns: dict[str, list[object]]) -> bytes:
    names = list(columns)
    lines = [",".join(names)] + [
        ",".join(str(v) for v in row) for row in zip(*columns.values(), strict=True)
    ]
    return ("\n".join(lines) + "\n").encode()


@pytest.fixture
def client(settings: Settings):  # type: ignore[no-untyped-def]
    with running_server(settings) as c:
        assert c.post("/v1/datasets", json={"name": "d", "schema": SCHEMA}).status_code == 201
        assert c.put("/v1/datasets/d/reference", json=records(frame(100, 1))).status_code == 201
        yield c


@pytest.mark.parametrize(
    ("content_type", "encode"),
    [
        (
            "application/json",
            lambda cols: __import__("json").dumps({"rows": records(cols)}).encode(),
        ),
        ("application/json", lambda cols: __import__("json").dumps(records(cols)).encode()),
        ("text/csv", csv_bytes),
        ("application/vnd.apache.parquet", parquet_bytes),
        ("application/vnd.apache.arrow.stream", arrow_stream),
    ],
)
def test_every_format_is_accepted(client, content_type, encode) -> None:  # type: ignore[no-untyped-def]
    cols = frame(50, 2)
    response = client.post(
        "/v1/datasets/d/batches?batch_id=k1",
        content=encode(cols),
        headers={"content-type": content_type},
    )
    assert response.status_code == 201, response.text
    assert response.json()["rows"] == 50 and response.json()["batch_id"] == "k1"
    listed = client.get("/v1/datasets/d/batches").json()["items"]
    assert [b["batch_id"] for b in listed] == ["k1"]


def test_same_key_same_content_replays_other_content_conflicts(client) -> None:  # type: ignore[no-untyped-def]
    body = {"rows": records(frame(20, 3))}
    first = client.post("/v1/datasets/d/batches?batch_id=same", json=body)
    again = client.post("/v1/datasets/d/batches", json=body, headers={"Idempotency-Key": "same"})
    assert first.status_code == 201 and again.status_code == 200
    assert again.json() == first.json()
    other = client.post(
        "/v1/datasets/d/batches?batch_id=same", json={"rows": records(frame(20, 4))}
    )
    assert other.status_code == 409
    assert other.json()["error"]["code"] == "conflict"
    assert len(client.get("/v1/datasets/d/batches").json()["items"]) == 1


def test_bad_rows_are_rejected_with_rows_and_columns_and_nothing_is_stored(client) -> None:  # type: ignore[no-untyped-def]
    rows = records(frame(10, 5))
    rows[3]["age"] = "forty"
    rows[7]["age"] = "old"
    del rows[0]["income"]
    rows[1]["unexpected"] = 1
    response = client.post("/v1/datasets/d/batches?batch_id=bad", json=rows)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_input"
    by_column = {d["column"]: d for d in error["details"]}
    assert by_column["age"]["rows"] == [3, 7]
    assert "unexpected" in by_column
    assert client.get("/v1/datasets/d/batches").json()["items"] == []


def test_missing_target_is_allowed_in_batches(client) -> None:  # type: ignore[no-untyped-def]
    cols = frame(10, 6)
    del cols["label"]
    assert client.post("/v1/datasets/d/batches", json=records(cols)).status_code == 201


def test_unsupported_media_type_and_malformed_json(client) -> None:  # type: ignore[no-untyped-def]
    xml = client.post(
        "/v1/datasets/d/batches", content=b"<rows/>", headers={"content-type": "application/xml"}
    )
    assert xml.status_code == 415 and xml.json()["error"]["code"] == "unsupported_media_type"
    broken = client.post(
        "/v1/datasets/d/batches",
        content=b'{"rows": [',
        headers={"content-type": "application/json"},
    )
    assert broken.status_code == 422
    assert client.get("/v1/datasets/d/batches").json()["items"] == []


def test_unknown_dataset_is_404(client) -> None:  # type: ignore[no-untyped-def]
    response = client.post("/v1/datasets/nope/batches", json=records(frame(2, 1)))
    assert response.status_code == 404
    assert response.json()["error"]["details"] == [{"dataset": "nope"}]


def test_first_reference_defines_the_schema(settings: Settings) -> None:
    with running_server(settings) as c:
        assert c.post("/v1/datasets", json={"name": "inferred"}).status_code == 201
        ref = c.put(
            "/v1/datasets/inferred/reference",
            content=parquet_bytes(frame(30, 1)),
            headers={"content-type": "application/vnd.apache.parquet"},
        )
        assert ref.status_code == 201, ref.text
        schema = {
            col["name"]: col for col in c.get("/v1/datasets/inferred").json()["schema"]["columns"]
        }
        assert schema["age"]["type"] == "numerical"
        assert schema["city"]["type"] == "categorical"
        assert schema["id"]["role"] == "id"
        second = c.put("/v1/datasets/inferred/reference", json=records(frame(30, 2)))
        assert second.json()["version"] == 2
        versions = c.get("/v1/datasets/inferred/references").json()["items"]
        assert [(v["version"], v["current"]) for v in versions] == [(2, True), (1, False)]


def test_an_inferred_schema_gives_ids_targets_and_predictions_their_roles(
    settings: Settings,
) -> None:
    n = 60
    rows = [
        {
            "penguin_id": 1000 + 7 * i,
            "species": ["Adelie", "Gentoo"][i % 2],
            "body_mass_g": 3500.0 + 10 * i,
            "class": ["Adelie", "Gentoo"][i % 3 % 2],
            "y_pred": ["Adelie", "Gentoo"][i % 2],
            "proba_Gentoo": (i % 10) / 10,
        }
        for i in range(n)
    ]
    with running_server(settings) as c:
        assert c.post("/v1/datasets", json={"name": "penguins"}).status_code == 201
        response = c.put("/v1/datasets/penguins/reference", json=rows)
        assert response.status_code == 201, response.text
        returned = response.json()["schema"]["columns"]
        assert [(col["name"], col["type"], col["role"], col.get("class")) for col in returned] == [
            ("penguin_id", "categorical", "id", None),
            ("species", "categorical", "feature", None),
            ("body_mass_g", "numerical", "feature", None),
            ("class", "categorical", "target", None),
            ("y_pred", "categorical", "prediction", None),
            ("proba_Gentoo", "numerical", "prediction_probability", "Gentoo"),
        ]
        dataset = c.get("/v1/datasets/penguins").json()
        assert dataset["schema"]["columns"] == returned and dataset["schema_inferred"] is True


def test_body_cap_gives_413_for_declared_and_chunked_bodies(settings: Settings) -> None:
    small = settings.model_copy(update={"max_body_bytes": 1000})
    with running_server(small) as c:
        c.post("/v1/datasets", json={"name": "d", "schema": SCHEMA})
        big = records(frame(100, 1))
        declared = c.put("/v1/datasets/d/reference", json=big)
        assert declared.status_code == 413
        assert declared.json()["error"]["code"] == "payload_too_large"

        def chunks() -> Iterator[bytes]:
            for _ in range(10):
                yield b" " * 500

        chunked = c.put(
            "/v1/datasets/d/reference",
            content=chunks(),
            headers={"content-type": "application/json"},
        )
        assert chunked.status_code == 413
