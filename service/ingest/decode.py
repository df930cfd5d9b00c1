"""Decode uploaded bodies (JSON, CSV, Parquet, Arrow IPC stream) into Arrow tables.

Decoding only turns bytes into a table; ``dqm.service.ingest.validate`` checks it against a schema.

- JSON: ``{"rows": [{...}, ...]}`` or a bare list of records. Read by Arrow's C++ JSON reader
  (2-3 times faster than ``json.loads`` plus ``pa.Table.from_pylist``: bench/ingest.py);
  bodies it refuses (malformed, mixed value types in one key, rows that are not objects) go
  through the standard library so errors carry a position and row indexes. A key whose values
  mix numbers, strings and booleans becomes a string column (``validate`` then casts or
  reports the bad rows). Strings stay strings: Arrow's guess that "2024-01-01" is a timestamp
  is undone.
- CSV: header row required; every column is read as strings, so categorical values such as
  "007" survive; the empty field is the only null.
- Nested values are allowed only as lists of numbers (embedding columns).

>>> decode(b'[{"a": 1, "b": "x"}, {"a": 2.5, "b": null}]', "application/json").to_pylist()
[{'a': 1.0, 'b': 'x'}, {'a': 2.5, 'b': None}]
>>> decode(b"a,b\\n007,\\n", "text/csv; charset=utf-8").to_pylist()
[{'a': '007', 'b': None}]
"""

from __future__ import annotations

import contextlib
import json
from collections import Counter
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pjson

from dqm.monitors.errors import InvalidInputError, UnsupportedMediaError
from dqm.service.ingest.columnar import read_ipc, read_parquet
from dqm.service.ingest.delimited import read_csv
from dqm.service.ingest.json_size import check_keys, check_rows
from dqm.service.ingest.limits import DecodeLimits

JSON = "application/json"
CSV = "text/csv"
PARQUET = "application/vnd.apache.parquet"
ARROW_STREAM = "application/vnd.apache.arrow.stream"
MEDIA_TYPES: dict[str, str] = {
    JSON: JSON,
    CSV: CSV,
    PARQUET: PARQUET,
    "application/x-parquet": PARQUET,
    "application/parquet": PARQUET,
    ARROW_STREAM: ARROW_STREAM,
}
ACCEPTED = (JSON, CSV, PARQUET, ARROW_STREAM)
MAX_ROWS_LISTED = 20


def media_type(content_type: str | None) -> str:
    """The canonical media type of a Content-Type header (parameters and case ignored).

    >>> media_type("Application/X-Parquet; foo=bar")
    'application/vnd.apache.parquet'
    """
    base = (content_type or "").split(";", 1)[0].strip().lower()
    if base not in MEDIA_TYPES:
        shown = base or "none"
        raise UnsupportedMediaError(
            f"content type {shown!r} is not supported; send one of {', '.join(ACCEPTED)}",
            [{"content_type": shown, "accepted": list(ACCEPTED)}],
        )
    return MEDIA_TYPES[base]


def decode(body: bytes, content_type: str | None, limits: DecodeLimits | None = None) -> pa.Table:
    """Decode a request body into a table with at least one row.

    Raises ``UnsupportedMediaError`` for an unknown content type, ``InvalidInputError`` for a
    body that cannot be decoded (the message says where) and ``PayloadTooLargeError`` for one
    that decodes to more rows or bytes than ``limits`` (default: ``DecodeLimits()``) allow.
    """
    kind = media_type(content_type)
    if not body.strip():
        raise InvalidInputError("the body is empty", [{"problem": "empty body"}])
    readers = {JSON: _read_json, CSV: read_csv, PARQUET: read_parquet, ARROW_STREAM: read_ipc}
    table = readers[kind](body, limits or DecodeLimits())
    _check_decoded(table)
    return table


def _check_decoded(table: pa.Table) -> None:
    names = table.column_names
    dupes = sorted(n for n, count in Counter(names).items() if count > 1)
    if dupes:
        raise InvalidInputError(
            f"duplicate column names: {dupes}",
            [{"column": n, "problem": "duplicate column"} for n in dupes],
        )
    if table.num_rows == 0:
        raise InvalidInputError("the body holds no rows", [{"problem": "no rows"}])
    if table.num_columns == 0:
        raise InvalidInputError("the body holds no columns", [{"problem": "no columns"}])
    problems = [_nested_problem(name, table.column(name)) for name in names]
    found = [p for p in problems if p is not None]
    if found:
        cols = ", ".join(str(p["column"]) for p in found)
        raise InvalidInputError(
            f"nested values are allowed only as lists of numbers (embeddings): {cols}", found
        )


def _nested_problem(name: str, column: pa.ChunkedArray) -> dict[str, Any] | None:
    kind = column.type
    if pa.types.is_list(kind) or pa.types.is_large_list(kind) or pa.types.is_fixed_size_list(kind):
        item = kind.value_type
        if pa.types.is_integer(item) or pa.types.is_floating(item) or pa.types.is_null(item):
            return None
    elif not pa.types.is_nested(kind):
        return None
    rows = pc.indices_nonzero(pc.is_valid(column)).to_pylist()
    return {
        "column": name,
        "rows": rows[:MAX_ROWS_LISTED],
        "count": len(rows),
        "problem": f"nested value of type {kind}",
    }


def _read_json(body: bytes, limits: DecodeLimits) -> pa.Table:
    # Arrow's reader only sees bodies that open with an object or a list: it crashes the
    # process on some other top-level values (a bare ``null``).
    table = None
    if body.lstrip()[:1] in (b"{", b"["):
        wrapped = b'{"rows":' + body + b"}" if body.lstrip()[:1] == b"[" else body
        first = _first_record(body) or {}
        check_rows(wrapped, len(first), limits)
        with contextlib.suppress(pa.ArrowException, ValueError, TypeError):
            table = _read_json_arrow(wrapped, first, limits)
    # Arrow refuses it: let the standard library say precisely why (or build it anyway).
    table = table if table is not None else _read_json_python(body, limits)
    limits.check_table(table)
    return table


def _read_json_arrow(wrapped: bytes, first: dict[str, Any], limits: DecodeLimits) -> pa.Table:
    """Decode with the first record's keys and types; if other rows differ, check that the
    keys of all rows fit ``limits`` before Arrow infers them."""
    try:
        return _arrow_closed(wrapped, first)
    except (pa.ArrowException, ValueError, TypeError) as exc:
        # A conversion error comes after the whole body parsed without an unexpected key:
        # only a type differs (an integer key holding 2.5), the keys are the first record's.
        if not str(exc).startswith("Failed to convert JSON"):
            check_keys(wrapped, limits)
    strings = {k for k, v in first.items() if isinstance(v, str)}
    table = _arrow_rows(wrapped, _string_fields(strings))
    stray = {f.name for f in table.schema if pa.types.is_temporal(f.type)}
    if stray:  # strings Arrow took for timestamps in keys absent from the first record
        table = _arrow_rows(wrapped, _string_fields(strings | stray))
    # The explicit schema puts the pinned keys first; restore the order of the body.
    return table.select(_ordered(table.column_names, first))


def _arrow_closed(wrapped: bytes, first: dict[str, Any]) -> pa.Table:
    """The rows, if every key is one of the first record's and keeps its type (strings stay
    strings); Arrow raises otherwise."""
    if not first:
        raise ValueError("no first record")
    one = json.dumps({"rows": [first]}).encode()
    inferred = pjson.read_json(pa.BufferReader(one)).column("rows").type.value_type
    fields = [pa.field(f.name, pa.string()) if isinstance(first[f.name], str) else f
              for f in inferred]  # fmt: skip
    return _arrow_rows(wrapped, fields, unexpected="error")


def _arrow_rows(wrapped: bytes, fields: list[pa.Field], unexpected: str = "infer") -> pa.Table:
    explicit = pa.schema([pa.field("rows", pa.list_(pa.struct(fields)))])
    options = pjson.ParseOptions(explicit_schema=explicit, unexpected_field_behavior=unexpected)
    read = pjson.ReadOptions(block_size=len(wrapped) + 1, use_threads=True)
    top = pjson.read_json(pa.BufferReader(wrapped), read_options=read, parse_options=options)
    if top.column_names != ["rows"] or top.num_rows != 1:
        raise ValueError("not a {'rows': [...]} body")
    rows = top.column("rows").chunk(0)
    if rows.null_count or rows.values.null_count:  # "rows": null, or rows that are null
        raise ValueError("rows must be a list of objects")
    return pa.Table.from_struct_array(rows.values)


def _string_fields(keys: set[str]) -> list[pa.Field]:
    return [pa.field(k, pa.string()) for k in sorted(keys)]


def _ordered(names: list[str], first: dict[str, Any]) -> list[str]:
    present = set(names)
    return [n for n in first if n in present] + [n for n in names if n not in first]


def _first_record(body: bytes) -> dict[str, Any] | None:
    """The first record of a JSON body, decoded alone (used to pin string keys)."""
    for size in (1 << 16, len(body)):
        text = body[:size].decode("utf-8", errors="replace")
        at = text.find("[") + 1
        while 0 < at < len(text) and text[at].isspace():
            at += 1
        try:
            record, _ = json.JSONDecoder().raw_decode(text, at)
        except (ValueError, RecursionError):
            continue
        return record if isinstance(record, dict) else None
    return None


def _read_json_python(body: bytes, limits: DecodeLimits) -> pa.Table:
    try:
        data = json.loads(body)
    except RecursionError as exc:
        raise InvalidInputError(
            "malformed JSON: values are nested too deeply", [{"problem": "nested too deeply"}]
        ) from exc
    except (ValueError, UnicodeDecodeError) as exc:
        where = getattr(exc, "pos", None)
        line, col = getattr(exc, "lineno", None), getattr(exc, "colno", None)
        raise InvalidInputError(
            f"malformed JSON: {exc}",
            [{"problem": "malformed JSON", "position": where, "line": line, "column_number": col}],
        ) from exc
    records = data.get("rows") if isinstance(data, dict) and set(data) == {"rows"} else data
    if not isinstance(records, list):
        raise InvalidInputError(
            'JSON bodies must be {"rows": [{...}, ...]} or a list of records',
            [{"problem": "not a list of records"}],
        )
    bad = [i for i, r in enumerate(records) if not isinstance(r, dict)]
    if bad:
        raise InvalidInputError(
            f"{len(bad)} rows are not JSON objects (first at row {bad[0]})",
            [{"rows": bad[:MAX_ROWS_LISTED], "count": len(bad), "problem": "row is not an object"}],
        )
    keys = list(dict.fromkeys(k for r in records for k in r))
    limits.check(len(records), len(records) * len(keys) * 9)
    try:
        return pa.table({k: _json_column(k, [r.get(k) for r in records]) for k in keys})
    except UnicodeEncodeError as exc:  # "\ud800" escapes a lone surrogate, not a character
        raise InvalidInputError(
            f"malformed JSON: a string escapes a lone surrogate, which is not Unicode: {exc}",
            [{"problem": "lone surrogate"}],
        ) from exc


def _json_column(name: str, values: list[Any]) -> pa.Array:
    try:
        return pa.array(values)
    except (pa.ArrowException, OverflowError):
        pass
    nested = [i for i, v in enumerate(values) if isinstance(v, list | dict)]
    if nested:
        raise InvalidInputError(
            f"column {name!r} mixes nested and scalar values",
            [
                {
                    "column": name,
                    "rows": nested[:MAX_ROWS_LISTED],
                    "count": len(nested),
                    "problem": "nested value among scalars",
                }
            ],
        )
    return pa.array([v if v is None or isinstance(v, str) else json.dumps(v) for v in values])
