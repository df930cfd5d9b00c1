"""infer_schema() rules and content_hash(), against hand-written expectations and hashlib."""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime

import pyarrow as pa
import pytest

from dqm.monitors.errors import InvalidInputError, UnsupportedMediaError
from dqm.service.ingest.validate import content_hash, decode, infer_schema, validate
from tests.service.ingest.test_ingest_decode import parquet_bytes


def described(table: pa.Table) -> list[tuple[str, str, str]]:
    return [(c.name, c.type, c.role) for c in infer_schema(table).columns]


def test_types_from_arrow_types() -> None:
    table = pa.table(
        {
            "i": pa.array([1, 2], pa.uint16()),
            "f": [0.5, None],
            "b": [True, False],
            "s": ["a", "b"],
            "d": pa.array([date(2024, 1, 1), None]),
            "t": pa.array([datetime(2024, 1, 1), None]),
            "e": pa.array([[1, 2], None], pa.list_(pa.int8())),
            "cat": pa.array(["x", "y"]).dictionary_encode(),
        }
    )
    assert described(table) == [
        ("i", "numerical", "feature"),
        ("f", "numerical", "feature"),
        ("b", "categorical", "feature"),
        ("s", "categorical", "feature"),
        ("d", "datetime", "feature"),
        ("t", "datetime", "feature"),
        ("e", "embedding", "feature"),
        ("cat", "categorical", "feature"),
    ]


def test_csv_strings_are_typed_by_their_content() -> None:
    body = b"n,when,word\n1.5,2024-01-01T00:00:00Z,a\n-2,2024-01-02,b\n,,\n"
    assert described(decode(body, "text/csv")) == [
        ("n", "numerical", "feature"),
        ("when", "datetime", "feature"),
        ("word", "categorical", "feature"),
    ]


def test_numbers_then_a_word_make_a_categorical() -> None:
    # the first 1000 values look numeric; the last one decides
    values = [str(i % 1000) for i in range(1500)] + ["n/a"]  # repeated: not an id
    assert described(pa.table({"x": values})) == [("x", "categorical", "feature")]


def test_long_distinct_strings_are_text() -> None:
    reviews = [f"review number {i} says the product is fine" for i in range(10)]
    repeated = ["a fairly long repeated category label"] * 10
    short_unique = [f"u{i}" for i in range(10)]
    table = pa.table({"review": reviews, "repeated": repeated, "short": short_unique})
    assert [t for _, t, _ in described(table)] == ["text", "categorical", "categorical"]


def test_roles_by_name() -> None:
    table = pa.table(
        {
            "ID": [10, 11],
            "event_time": ["2024-01-01T00:00:00", "2024-01-01T00:01:00"],
            "Label": ["cat", "dog"],
            "prediction": [0.1, 0.9],
            "target": [1, 0],  # a second target column stays a feature
            "age": [1, 2],
        }
    )
    assert described(table) == [
        ("ID", "categorical", "id"),
        ("event_time", "datetime", "timestamp"),
        ("Label", "categorical", "target"),
        ("prediction", "numerical", "prediction"),
        ("target", "numerical", "feature"),
        ("age", "numerical", "feature"),
    ]


def test_timestamp_names_with_numbers_are_epoch_seconds() -> None:
    table = pa.table({"ts": [1_700_000_000, 1_700_000_060]})
    schema = infer_schema(table)
    assert described(table) == [("ts", "datetime", "timestamp")]
    assert validate(table, schema).column("ts")[1].as_py().isoformat() == (
        "2023-11-14T22:14:20+00:00"
    )


def test_timestamp_name_with_words_stays_a_feature() -> None:
    assert described(pa.table({"ts": ["early", "late"]})) == [("ts", "categorical", "feature")]


def test_all_null_and_unsupported_columns_are_errors() -> None:
    table = pa.table({"empty": pa.nulls(2), "blob": [b"a", b"b"], "ok": [1, 2]})
    with pytest.raises(InvalidInputError) as err:
        infer_schema(table)
    assert [(d["column"], d["problem"]) for d in err.value.details] == [
        ("empty", "cannot infer a column type (all values are null)"),
        ("blob", "cannot infer a column type (binary)"),
    ]


@pytest.mark.parametrize("content_type", ["application/json", "text/csv", "parquet"])
def test_inferred_schema_validates_its_own_table(content_type: str) -> None:
    rows = [
        {"id": "r1", "ts": "2024-03-01T10:00:00Z", "x": 1.5, "c": "a", "label": "yes"},
        {"id": "r2", "ts": "2024-03-01T11:00:00Z", "x": 2, "c": "b", "label": "no"},
    ]
    if content_type == "text/csv":
        body = "id,ts,x,c,label\n" + "".join(",".join(map(str, r.values())) + "\n" for r in rows)
        table = decode(body.encode(), content_type)
    elif content_type == "parquet":
        table = decode(parquet_bytes(pa.Table.from_pylist(rows)), "application/x-parquet")
    else:
        table = decode(json.dumps(rows).encode(), content_type)
    schema = infer_schema(table)
    assert [c.role for c in schema.columns] == ["id", "timestamp", "feature", "feature", "target"]
    out = validate(table, schema)
    assert out.column("x").to_pylist() == [1.5, 2.0]
    assert out.column("ts")[0].as_py().isoformat() == "2024-03-01T10:00:00+00:00"


def test_content_hash_is_sha256_of_media_type_and_body() -> None:
    body = b'{"rows": [{"a": 1}]}'
    oracle = hashlib.sha256(b"application/json\0" + body).hexdigest()
    assert content_hash(body, "application/json; charset=utf-8") == oracle
    assert content_hash(body, "application/json") != content_hash(body + b" ", "application/json")
    parquet = b"PAR1"
    assert content_hash(parquet, "application/x-parquet") == content_hash(
        parquet, "application/vnd.apache.parquet"
    )
    assert content_hash(body, "application/json") != content_hash(body, "text/csv")


def test_content_hash_refuses_unknown_types() -> None:
    with pytest.raises(UnsupportedMediaError):
        content_hash(b"x", "text/plain")


def test_csv_epoch_strings_in_ts_stay_a_numerical_feature() -> None:
    table = decode(b"ts,x\n1700000000,1\n1700000060,2\n", "text/csv")
    schema = infer_schema(table)
    assert described(table) == [("ts", "numerical", "feature"), ("x", "numerical", "feature")]
    assert validate(table, schema).column("ts").to_pylist() == [1.7e9, 1_700_000_060.0]
