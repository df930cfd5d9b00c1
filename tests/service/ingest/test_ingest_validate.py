"""validate(): canonical types, casting rules and error details, checked against Python oracles
(float(), datetime.fromisoformat, str()) and hand-computed values."""

from __future__ import annotations

import csv
import io
import json
import math
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dqm.monitors.errors import InvalidInputError
from dqm.monitors.schema import ColumnSpec, Schema
from dqm.service.ingest.validate import canonical_type, decode, validate
from tests.service.ingest.test_ingest_decode import arrow_stream_bytes, parquet_bytes

SCHEMA = Schema(
    columns=[
        ColumnSpec(name="id", type="categorical", role="id"),
        ColumnSpec(name="ts", type="datetime", role="timestamp"),
        ColumnSpec(name="age", type="numerical"),
        ColumnSpec(name="city", type="categorical"),
        ColumnSpec(name="note", type="text"),
        ColumnSpec(name="emb", type="embedding"),
        ColumnSpec(name="label", type="categorical", role="target"),
    ]
)
EXPECTED = [
    {
        "id": "1",
        "ts": datetime(2024, 5, 1, 12, 0, tzinfo=UTC),
        "age": 31.0,
        "city": "Oslo",
        "note": "fine",
        "emb": [1.0, 2.0],
        "label": "yes",
    },
    {
        "id": "2",
        "ts": datetime(2024, 5, 1, 13, 30, tzinfo=UTC),
        "age": None,
        "city": None,
        "note": None,
        "emb": None,
        "label": None,
    },
]


def one(column: str, kind: str, role: str = "feature") -> Schema:
    return Schema.model_validate({"columns": [{"name": column, "type": kind, "role": role}]})


def cast(values: list[Any] | pa.Array, kind: str, role: str = "feature") -> list[Any]:
    table = pa.table({"c": values})
    return list(validate(table, one("c", kind, role)).column("c").to_pylist())


def problems(table: pa.Table, schema: Schema, **kwargs: Any) -> list[dict[str, Any]]:
    with pytest.raises(InvalidInputError) as err:
        validate(table, schema, **kwargs)
    return err.value.details


def assert_canonical(table: pa.Table, schema: Schema) -> None:
    assert table.column_names == schema.names
    for spec in schema.columns:
        assert table.schema.field(spec.name).type == canonical_type(spec)


def test_json_round_trip_to_canonical_table() -> None:
    rows = [
        {"label": "yes", "id": 1, "ts": "2024-05-01T12:00:00Z", "age": 31, "city": "Oslo",
         "note": "fine", "emb": [1, 2]},
        {"id": 2, "ts": "2024-05-01T15:30:00+02:00", "age": None, "city": None},
    ]  # fmt: skip
    for body in (json.dumps({"rows": rows}), json.dumps(rows)):
        out = validate(decode(body.encode(), "application/json"), SCHEMA)
        assert_canonical(out, SCHEMA)
        assert out.to_pylist() == EXPECTED


def test_csv_round_trip_to_canonical_table() -> None:
    text = (
        "id,ts,age,city,note,label\n"
        "1,2024-05-01 12:00:00,31,Oslo,fine,yes\n"
        "2,2024-05-01T13:30:00,,,,\n"
    )
    schema = Schema(columns=[c for c in SCHEMA.columns if c.name != "emb"])
    out = validate(decode(text.encode(), "text/csv"), schema)
    assert_canonical(out, schema)
    assert out.to_pylist() == [{k: v for k, v in r.items() if k != "emb"} for r in EXPECTED]


def native_table() -> pa.Table:
    return pa.table(
        {
            "id": pa.array([1, 2], pa.int64()),
            "ts": pa.array(
                [datetime(2024, 5, 1, 12), datetime(2024, 5, 1, 13, 30)], pa.timestamp("ns")
            ),
            "age": pa.array([31, None], pa.uint8()),
            "city": pa.array(["Oslo", None]).dictionary_encode(),
            "note": pa.array(["fine", None], pa.large_string()),
            "emb": pa.array([[1, 2], None], pa.list_(pa.int16(), 2)),
            "label": ["yes", None],
        }
    )  # fmt: skip


@pytest.mark.parametrize(
    ("content_type", "encode"),
    [
        ("application/vnd.apache.parquet", parquet_bytes),
        ("application/vnd.apache.arrow.stream", arrow_stream_bytes),
    ],
)
def test_binary_formats_round_trip(content_type: str, encode: Any) -> None:
    out = validate(decode(encode(native_table()), content_type), SCHEMA)
    assert_canonical(out, SCHEMA)
    assert out.to_pylist() == EXPECTED


def test_columns_reordered_to_schema_order() -> None:
    table = native_table().select(list(reversed(SCHEMA.names)))
    assert validate(table, SCHEMA).column_names == SCHEMA.names


def test_numerical_from_strings_matches_python_float() -> None:
    strings = ["1.5", " 2 ", "1e3", "-0.25", "1_000", None, "nan", "-inf"]
    got = cast(strings, "numerical")
    oracle = [None if s is None else float(s) for s in strings]
    for g, o in zip(got, oracle, strict=True):
        assert g == o or (g is not None and o is not None and math.isnan(g) and math.isnan(o))


def test_numerical_from_ints_bools_and_decimals() -> None:
    assert cast(pa.array([2**40, None], pa.int64()), "numerical") == [2.0**40, None]
    assert cast(pa.array([255], pa.uint8()), "numerical") == [255.0]
    assert cast([True, False, None], "numerical") == [1.0, 0.0, None]
    assert cast(pa.array([Decimal("1.25")], pa.decimal128(5, 2)), "numerical") == [1.25]
    assert cast(pa.nulls(2), "numerical") == [None, None]


def test_categorical_from_scalars_uses_their_string_form() -> None:
    assert cast([1, None, 30], "categorical") == ["1", None, "30"]
    assert cast([True, False], "categorical") == ["true", "false"]
    assert cast([1.0, 2.5], "categorical") == ["1", "2.5"]


def test_id_is_a_string_whatever_the_declared_type() -> None:
    assert cast([10, 11], "numerical", role="id") == ["10", "11"]


def test_datetime_strings_match_fromisoformat() -> None:
    strings = [
        "2024-01-01",
        "2024-01-01T10:00:00",
        "2024-01-01 10:00:00.123456",
        "2024-01-01T10:00:00Z",
        "2024-01-01T10:00:00-05:30",
        None,
    ]
    oracle = []
    for s in strings:
        parsed = None if s is None else datetime.fromisoformat(s)
        if parsed is not None and parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        oracle.append(parsed)
    got = cast(strings, "datetime")
    assert got == oracle  # aware datetimes compare by instant
    assert got[4] == datetime(2024, 1, 1, 15, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    "strings", [["2024-01-01T10:00:00Z", "2024-01-02T00:00:00+01:00"], ["2024-01-01 10:00:00"]]
)
def test_datetime_fast_paths_match_fromisoformat(strings: list[str]) -> None:
    oracle = [datetime.fromisoformat(s) for s in strings]
    oracle = [d if d.tzinfo else d.replace(tzinfo=UTC) for d in oracle]
    assert cast(strings, "datetime") == oracle


def test_datetime_from_epoch_seconds_dates_and_zoned_timestamps() -> None:
    assert cast([1_700_000_000, None], "datetime") == [
        datetime.fromtimestamp(1_700_000_000, UTC),
        None,
    ]
    assert cast([0.5], "datetime") == [datetime(1970, 1, 1, 0, 0, 0, 500000, tzinfo=UTC)]
    day = pa.array([19723], pa.date32())  # 2024-01-01
    assert cast(day, "datetime") == [datetime(2024, 1, 1, tzinfo=UTC)]
    zoned = pa.array([0], pa.timestamp("s", tz="Europe/Oslo"))
    assert cast(zoned, "datetime") == [datetime(1970, 1, 1, tzinfo=UTC)]
    ns = pa.array([1_999], pa.timestamp("ns"))  # truncated to whole microseconds
    assert cast(ns, "datetime") == [datetime(1970, 1, 1, 0, 0, 0, 1, tzinfo=UTC)]


def test_embedding_from_fixed_and_large_lists() -> None:
    fixed = pa.array([[1, 2, 3]], pa.list_(pa.int32(), 3))
    assert cast(fixed, "embedding") == [[1.0, 2.0, 3.0]]
    large = pa.array([[0.5, 0.25], None], pa.large_list(pa.float64()))
    assert cast(large, "embedding") == [[0.5, 0.25], None]


def test_missing_target_filled_with_nulls_when_allowed() -> None:
    table = native_table().drop_columns(["label"])
    out = validate(table, SCHEMA, allow_missing=["label"])
    assert_canonical(out, SCHEMA)
    assert out.column("label").to_pylist() == [None, None]


def test_all_problems_reported_at_once() -> None:
    table = pa.table(
        {
            "id": ["a", "b", "a", None],
            "ts": ["2024-01-01", "yesterday", None, "2024-01-02"],
            "age": ["1", "x", "2", "y"],
            "emb": [[1.0, 2.0], [1.0], [1.0, None], [3.0, 4.0]],
            "extra": [1, 2, 3, 4],
        }
    )
    details = problems(table, SCHEMA)
    assert details == [
        {"column": "extra", "rows": [0, 1, 2, 3], "count": 4, "problem": "unknown column"},
        {"column": "id", "rows": [3], "count": 1, "problem": "missing id"},
        {"column": "id", "rows": [2], "count": 1, "problem": "duplicate id"},
        {"column": "ts", "rows": [1], "count": 1,
         "problem": "cannot cast 'yesterday' to datetime"},
        {"column": "age", "rows": [1, 3], "count": 2,
         "problem": "cannot cast 'x' to numerical"},
        {"column": "city", "rows": [], "count": 4, "problem": "missing column"},
        {"column": "note", "rows": [], "count": 4, "problem": "missing column"},
        {"column": "emb", "rows": [1], "count": 1,
         "problem": "embedding length 1 differs from 2"},
        {"column": "emb", "rows": [2], "count": 1, "problem": "null inside embedding"},
        {"column": "label", "rows": [], "count": 4, "problem": "missing column"},
    ]  # fmt: skip


def test_missing_target_is_an_error_unless_allowed() -> None:
    details = problems(native_table().drop_columns(["label"]), SCHEMA)
    assert details == [{"column": "label", "rows": [], "count": 2, "problem": "missing column"}]


def test_row_indexes_capped_at_twenty_with_full_count() -> None:
    values = [str(i) if i % 2 else "bad" for i in range(100)]
    (detail,) = problems(pa.table({"x": values}), one("x", "numerical"))
    assert detail["rows"] == list(range(0, 40, 2))
    assert detail["count"] == 50


def test_row_indexes_count_across_chunks() -> None:
    chunked = pa.chunked_array([["1", "2"], ["z", "3"]])
    (detail,) = problems(pa.table({"x": chunked}), one("x", "numerical"))
    assert detail["rows"] == [2]


@pytest.mark.parametrize(
    ("values", "kind", "fragment"),
    [
        (pa.array([datetime(2024, 1, 1)]), "numerical", "timestamp[us] cannot be read as"),
        (pa.array([[1.0]]), "categorical", "cannot be read as categorical"),
        (pa.array([True]), "datetime", "bool cannot be read as datetime"),
        (pa.array(["[1, 2]"]), "embedding", "string cannot be read as embedding"),
        (pa.array([b"\x00"]), "text", "binary cannot be read as text"),
    ],
)  # fmt: skip
def test_wrong_type_names_the_types(values: pa.Array, kind: str, fragment: str) -> None:
    (detail,) = problems(pa.table({"c": values}), one("c", kind))
    assert detail["column"] == "c"
    assert detail["problem"].startswith("wrong type")
    assert fragment in detail["problem"]


def test_epoch_out_of_range_is_reported() -> None:
    (detail,) = problems(pa.table({"t": [1.0, 1e300]}), one("t", "datetime"))
    assert detail["rows"] == [1]
    assert detail["problem"] == "cannot cast 1e+300 to datetime"


def test_empty_embedding_is_reported() -> None:
    (detail,) = problems(pa.table({"e": [[], []]}), one("e", "embedding"))
    assert detail["problem"] == "empty embedding"
    assert detail["rows"] == [0, 1]


def test_message_summarizes_the_problems() -> None:
    with pytest.raises(InvalidInputError) as err:
        validate(pa.table({"x": ["a"], "y": [1]}), one("x", "numerical"))
    assert "2 problems" in err.value.message
    assert "'y': unknown column" in err.value.message


def test_zero_rows_refused() -> None:
    with pytest.raises(InvalidInputError, match="no rows"):
        validate(pa.table({"x": pa.array([], pa.float64())}), one("x", "numerical"))


def test_validated_table_survives_parquet() -> None:
    out = validate(native_table(), SCHEMA)
    sink = io.BytesIO()
    pq.write_table(out, sink)
    assert pq.read_table(io.BytesIO(sink.getvalue())).equals(out)


def test_dictionary_encoded_numbers_and_strings() -> None:
    ints = pa.array([3, 1, 3]).dictionary_encode()
    assert cast(ints, "numerical") == [3.0, 1.0, 3.0]
    words = pa.array(["2024-01-01", None]).dictionary_encode()
    assert cast(words, "datetime") == [datetime(2024, 1, 1, tzinfo=UTC), None]


def test_duplicate_columns_in_a_table_are_reported() -> None:
    arrays = [pa.array([1]), pa.array([2]), pa.array([3]), pa.array([4])]
    table = pa.Table.from_arrays(arrays, names=["x", "x", "y", "y"])
    assert problems(table, one("x", "numerical")) == [
        {"column": "y", "rows": [0], "count": 1, "problem": "unknown column"},
        {"column": "x", "rows": [], "count": 1, "problem": "duplicate column"},
        {"column": "y", "rows": [], "count": 1, "problem": "duplicate column"},
    ]


def test_timestamp_out_of_microsecond_range_is_reported() -> None:
    far = pa.array([2**62], pa.timestamp("s"))
    (detail,) = problems(pa.table({"t": far}), one("t", "datetime"))
    assert detail["problem"].startswith("wrong type")
    assert "out of range" in detail["problem"]


def test_unknown_key_in_some_json_rows_names_those_rows() -> None:
    body = b'[{"x": 1}, {"x": 2, "surprise": 1}, {"x": 3}, {"x": 4, "surprise": null}]'
    details = problems(decode(body, "application/json"), one("x", "numerical"))
    assert details == [{"column": "surprise", "rows": [1], "count": 1, "problem": "unknown column"}]


def test_unknown_columns_reported_in_table_order() -> None:
    table = pa.table({"b": [1], "x": [1.0], "a": [None], "c": [2]})
    details = problems(table, one("x", "numerical"))
    assert [(d["column"], d["rows"]) for d in details] == [("b", [0]), ("a", []), ("c", [0])]


def test_four_formats_of_the_same_rows_validate_to_the_same_table() -> None:
    rng = np.random.default_rng(7)
    n = 200
    ages = rng.normal(40, 10, n)
    rows = [
        {
            "id": f"r{i}",
            "ts": (datetime(2024, 1, 1, tzinfo=UTC) + timedelta(minutes=int(m))).isoformat(),
            "age": None if i % 17 == 0 else float(ages[i]),
            "city": str(rng.choice(["oslo", "lima", "007"])),
            "label": str(rng.choice(["yes", "no"])),
        }
        for i, m in enumerate(rng.integers(0, 10_000, n))
    ]
    schema = Schema(columns=[c for c in SCHEMA.columns if c.name in rows[0]])
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows({k: "" if v is None else repr(v) if isinstance(v, float) else v
                      for k, v in r.items()} for r in rows)  # fmt: skip
    native = pa.Table.from_pylist(rows)
    bodies = {
        "application/json": json.dumps({"rows": rows}).encode(),
        "text/csv": text.getvalue().encode(),
        "application/vnd.apache.parquet": parquet_bytes(native),
        "application/vnd.apache.arrow.stream": arrow_stream_bytes(native),
    }
    tables = {kind: validate(decode(body, kind), schema) for kind, body in bodies.items()}
    oracle = [{**r, "ts": datetime.fromisoformat(str(r["ts"]))} for r in rows]
    for kind, table in tables.items():
        assert table.to_pylist() == oracle, kind
