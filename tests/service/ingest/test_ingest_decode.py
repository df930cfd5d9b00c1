"""Decoding bodies: each format against an independent reader (json, csv, hand-made tables)."""

from __future__ import annotations

import csv
import io
import json
import random
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dqm.monitors.errors import InvalidInputError, UnsupportedMediaError
from dqm.service.ingest.validate import ACCEPTED, decode

RECORDS: list[dict[str, Any]] = [
    {"id": "a", "age": 31, "score": 0.5, "city": "Oslo", "emb": [1.0, 2.0]},
    {"id": "b", "age": 45, "score": None, "city": "Lima", "emb": [0.5, -1.0]},
    {"id": "c", "age": None, "score": 2.25, "city": None, "emb": None},
]


def parquet_bytes(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


def arrow_stream_bytes(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return bytes(sink.getvalue().to_pybytes())


def test_json_rows_object_and_bare_list_match_json_loads() -> None:
    for body in (json.dumps({"rows": RECORDS}), json.dumps(RECORDS)):
        table = decode(body.encode(), "application/json")
        assert table.column_names == ["id", "age", "score", "city", "emb"]
        assert table.to_pylist() == json.loads(json.dumps(RECORDS))


def test_json_keys_missing_in_some_rows_become_nulls_in_first_seen_order() -> None:
    body = b'[{"b": 1, "a": "x"}, {"c": true}]'
    table = decode(body, "application/json")
    assert table.column_names == ["b", "a", "c"]
    assert table.to_pylist() == [
        {"b": 1, "a": "x", "c": None},
        {"b": None, "a": None, "c": True},
    ]


def test_json_date_like_strings_stay_strings() -> None:
    # Arrow's JSON reader would turn these into timestamps; strings must survive verbatim,
    # also for a key that is absent from the first record.
    body = b'[{"d": "2024-01-01"}, {"d": "2024-01-02", "e": "2024-01-01T00:00:00"}]'
    table = decode(body, "application/json")
    assert table.schema.field("d").type == pa.string()
    assert table.column("e").to_pylist() == [None, "2024-01-01T00:00:00"]


def test_json_mixed_scalars_become_strings_in_json_spelling() -> None:
    table = decode(b'[{"x": 1}, {"x": "abc"}, {"x": true}, {"x": 2.5}]', "application/json")
    assert table.column("x").to_pylist() == ["1", "abc", "true", "2.5"]


def test_json_int_and_float_in_one_key_become_float() -> None:
    table = decode(b'[{"x": 1}, {"x": 2.5}]', "application/json")
    assert table.column("x").to_pylist() == [1.0, 2.5]


def test_malformed_json_reports_position() -> None:
    body = b'{"rows": [{"a": 1},\n {"a": 2} {"a": 3}]}'
    with pytest.raises(InvalidInputError) as err:
        decode(body, "application/json")
    detail = err.value.details[0]
    oracle = pytest.raises(json.JSONDecodeError, json.loads, body).value
    assert (detail["line"], detail["column_number"], detail["position"]) == (
        oracle.lineno,
        oracle.colno,
        oracle.pos,
    )
    assert detail["line"] == 2
    assert "malformed JSON" in err.value.message


@pytest.mark.parametrize(
    "body",
    [b'[{"a": 1}, 3, "x", {"a": 2}, null]', b'{"rows": [{"a": 1}, 3, "x", {"a": 2}, null]}'],
)
def test_rows_that_are_not_objects_are_named(body: bytes) -> None:
    with pytest.raises(InvalidInputError) as err:
        decode(body, "application/json")
    assert err.value.details == [{"rows": [1, 2, 4], "count": 3, "problem": "row is not an object"}]


@pytest.mark.parametrize(
    "body",
    [
        b'{"a": 1}',
        b'{"rows": [{"a": 1}], "extra": 1}',
        b"42",
        b"null",  # Arrow's JSON reader crashes the process on this one: never hand it over
        b'"x"',
        b"{}",
        b'{"rows": null}',
        b'{"rows": {"a": 1}}',
    ],
)
def test_json_that_is_not_a_list_of_records(body: bytes) -> None:
    with pytest.raises(InvalidInputError, match="list of records"):
        decode(body, "application/json")


@pytest.mark.parametrize("body", [b'[{"a": 1}, null]', b'{"rows": [{"a": 1}, null]}'])
def test_null_rows_are_not_objects(body: bytes) -> None:
    with pytest.raises(InvalidInputError) as err:
        decode(body, "application/json")
    assert err.value.details == [{"rows": [1], "count": 1, "problem": "row is not an object"}]


def test_nested_objects_are_refused_with_rows() -> None:
    body = b'[{"a": {"k": 1}, "b": 1}, {"a": null, "b": 2}, {"a": {"k": 2}, "b": 3}]'
    with pytest.raises(InvalidInputError) as err:
        decode(body, "application/json")
    (detail,) = err.value.details
    assert (detail["column"], detail["rows"], detail["count"]) == ("a", [0, 2], 2)


def test_nested_value_among_scalars_is_refused_with_rows() -> None:
    with pytest.raises(InvalidInputError) as err:
        decode(b'[{"a": 1}, {"a": [1, 2]}, {"a": {"k": 1}}]', "application/json")
    (detail,) = err.value.details
    assert (detail["column"], detail["rows"], detail["problem"]) == (
        "a",
        [1, 2],
        "nested value among scalars",
    )


def test_lists_of_strings_are_refused() -> None:
    with pytest.raises(InvalidInputError, match="lists of numbers"):
        decode(b'[{"tags": ["a", "b"]}]', "application/json")


def test_csv_matches_csv_module_and_keeps_strings_verbatim() -> None:
    text = 'zip,name,amount\n007,"Smith, J",1.50\n,"say ""hi""",\n'
    table = decode(text.encode(), "text/csv; charset=utf-8")
    oracle = [{k: (v or None) for k, v in row.items()} for row in csv.DictReader(io.StringIO(text))]
    assert table.to_pylist() == oracle
    assert table.column("zip").to_pylist() == ["007", None]


def test_csv_lines_with_wrong_field_counts_are_named() -> None:
    body = b"a,b\n1,2\n3,4,5\n6\n7,8\n"
    with pytest.raises(InvalidInputError) as err:
        decode(body, "text/csv")
    assert err.value.details == [{"lines": [3, 4], "count": 2, "problem": "expected 2 fields"}]
    assert "line 3 has 3" in err.value.message


def test_csv_that_is_not_utf8_is_refused() -> None:
    with pytest.raises(InvalidInputError, match="not readable CSV"):
        decode(b"a,b\n\xff\xfe,1\n", "text/csv")


def test_csv_with_header_only_has_no_rows() -> None:
    with pytest.raises(InvalidInputError, match="no rows"):
        decode(b"a,b\n", "text/csv")


def test_csv_with_duplicate_header_is_refused() -> None:
    with pytest.raises(InvalidInputError) as err:
        decode(b"a,a\n1,2\n", "text/csv")
    assert err.value.details == [{"column": "a", "problem": "duplicate column"}]


@pytest.mark.parametrize(
    "content_type",
    ["application/vnd.apache.parquet", "application/x-parquet", "application/parquet"],
)
def test_parquet_round_trip(content_type: str) -> None:
    table = pa.table({"x": pa.array([1, None, 3], pa.int32()), "s": ["a", "b", None]})
    assert decode(parquet_bytes(table), content_type).equals(table)


def test_arrow_stream_round_trip() -> None:
    table = pa.table({"e": pa.array([[1.0, 2.0], None], pa.list_(pa.float32())), "n": [1, 2]})
    assert decode(arrow_stream_bytes(table), "application/vnd.apache.arrow.stream").equals(table)


@pytest.mark.parametrize(
    ("content_type", "body", "message"),
    [
        ("application/vnd.apache.parquet", b"not parquet at all", "not a readable Parquet"),
        ("application/vnd.apache.arrow.stream", b"garbage!", "not a readable Arrow IPC"),
    ],
)
def test_undecodable_binary_bodies(content_type: str, body: bytes, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        decode(body, content_type)


@pytest.mark.parametrize("content_type", ACCEPTED)
@pytest.mark.parametrize("body", [b"", b"  \n "])
def test_empty_body(content_type: str, body: bytes) -> None:
    with pytest.raises(InvalidInputError, match="empty"):
        decode(body, content_type)


@pytest.mark.parametrize("body", [b"[]", b'{"rows": []}'])
def test_zero_json_rows(body: bytes) -> None:
    with pytest.raises(InvalidInputError, match="no rows"):
        decode(body, "application/json")


def test_zero_row_parquet() -> None:
    body = parquet_bytes(pa.table({"x": pa.array([], pa.float64())}))
    with pytest.raises(InvalidInputError, match="no rows"):
        decode(body, "application/vnd.apache.parquet")


def test_rows_without_keys_have_no_columns() -> None:
    with pytest.raises(InvalidInputError, match="no columns"):
        decode(b"[{}, {}]", "application/json")


@pytest.mark.parametrize("content_type", ["text/plain", "application/xml", None, ""])
def test_unsupported_media_type_lists_accepted(content_type: str | None) -> None:
    with pytest.raises(UnsupportedMediaError) as err:
        decode(b"a,b\n1,2\n", content_type)
    for accepted in ACCEPTED:
        assert accepted in err.value.message
    assert err.value.details[0]["accepted"] == list(ACCEPTED)


def test_byte_order_mark_and_crlf_are_accepted() -> None:
    csv_table = decode(b"\xef\xbb\xbfa,b\r\n1,x\r\n", "text/csv")
    assert csv_table.to_pylist() == [{"a": "1", "b": "x"}]
    json_table = decode(b'\xef\xbb\xbf[{"a": 1}]', "application/json")
    assert json_table.to_pylist() == [{"a": 1}]


def test_two_concatenated_documents_are_malformed() -> None:
    with pytest.raises(InvalidInputError, match="malformed JSON"):
        decode(b'{"rows": [{"a": 1}]}{"rows": [{"a": 2}]}', "application/json")


SCALARS: list[Any] = [None, True, False, 0, 1, -1.5, 0.1, 2**62, "", "a", "2024-01-01",
                      "2024-01-01T00:00:00Z", "1.5", [1, 2.5], []]  # fmt: skip


def json_oracle(value: Any, kind: pa.DataType) -> Any:
    """What json.loads's value becomes in a decoded column of type ``kind``."""
    if value is None:
        return None
    if pa.types.is_string(kind):
        return value if isinstance(value, str) else json.dumps(value)
    if pa.types.is_floating(kind):
        return float(value)
    if pa.types.is_list(kind) and pa.types.is_floating(kind.value_type):
        return [float(v) for v in value]
    return value


def test_random_bodies_decode_to_what_json_loads_reads() -> None:
    rng = random.Random(3)
    accepted = 0
    for _ in range(400):
        rows = [
            {k: rng.choice(SCALARS) for k in "abc" if rng.random() < 0.8}
            for _ in range(rng.randint(1, 6))
        ]
        body = json.dumps(rows if rng.random() < 0.5 else {"rows": rows}).encode()
        try:
            table = decode(body, "application/json")
        except InvalidInputError:
            continue  # e.g. a key mixing lists and scalars, or no key at all
        accepted += 1
        for name in table.column_names:
            kind = table.schema.field(name).type
            expected = [json_oracle(r.get(name), kind) for r in rows]
            assert table.column(name).to_pylist() == expected, body
    assert accepted > 100
