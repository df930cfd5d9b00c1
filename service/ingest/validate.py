"""Uploaded data -> validated Arrow table: decode, validate against a schema, infer a schema.

The API layer calls these with the raw body and its content type; nothing here touches HTTP,
settings or the database. Decoding lives in ``dqm.service.ingest.decode``, the casting rules of
each column type in ``dqm.service.ingest.cast``.

>>> table = decode(b'{"rows": [{"id": 7, "age": "41", "city": "Oslo"}]}', "application/json")
>>> schema = infer_schema(table)
>>> [(c.name, c.type, c.role) for c in schema.columns]
[('id', 'categorical', 'id'), ('age', 'numerical', 'feature'), ('city', 'categorical', 'feature')]
>>> validate(table, schema).to_pylist()
[{'id': '7', 'age': 41.0, 'city': 'Oslo'}]
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Collection

import pyarrow as pa
import pyarrow.compute as pc
from pydantic import ValidationError

from dqm.monitors.errors import InvalidInputError
from dqm.monitors.schema import ColumnSpec, ColumnType, Schema
from dqm.service.ingest.cast import (
    EMBEDDING,
    FLOAT,
    STRING,
    TIMESTAMP,
    Cast,
    Problem,
    cast_datetime,
    cast_embedding,
    cast_id,
    cast_numerical,
    cast_string,
    plain,
    rows_problem,
)
from dqm.service.ingest.decode import ACCEPTED, decode, media_type
from dqm.service.ingest.roles import TIMESTAMP_NAMES, infer_roles

__all__ = [
    "ACCEPTED",
    "canonical_type",
    "content_hash",
    "decode",
    "infer_schema",
    "media_type",
    "validate",
]

TEXT_MIN_MEAN_LENGTH = 20
TEXT_MIN_DISTINCT_SHARE = 0.5
MAX_PROBLEMS_LISTED = 100


def content_hash(body: bytes, content_type: str) -> str:
    """SHA-256 hex digest of the canonical media type and the body (idempotency check).

    >>> body = b"a\\n1\\n"
    >>> content_hash(body, "text/csv") == content_hash(body, "Text/CSV; charset=utf-8")
    True
    """
    digest = hashlib.sha256(media_type(content_type).encode())
    digest.update(b"\0")
    digest.update(body)
    return digest.hexdigest()


def canonical_type(spec: ColumnSpec) -> pa.DataType:
    """The Arrow type a validated column has (role ``id`` is always a string)."""
    if spec.role == "id":
        return STRING
    return {
        "numerical": FLOAT,
        "categorical": STRING,
        "text": STRING,
        "datetime": TIMESTAMP,
        "embedding": EMBEDDING,
    }[spec.type]


def _cast(spec: ColumnSpec, data: pa.ChunkedArray) -> Cast:
    if spec.role == "id":
        return cast_id(spec.name, data)
    if spec.type == "numerical":
        return cast_numerical(spec.name, data)
    if spec.type == "datetime":
        return cast_datetime(spec.name, data)
    if spec.type == "embedding":
        return cast_embedding(spec.name, data)
    return cast_string(spec.name, data, spec.type)


def validate(table: pa.Table, schema: Schema, allow_missing: Collection[str] = ()) -> pa.Table:
    """The table with exactly the schema's columns, in schema order, cast to canonical types.

    Columns named in ``allow_missing`` may be absent (e.g. the target of a production batch,
    whose labels arrive later); they are filled with nulls. Every problem is reported at once
    in one ``InvalidInputError`` whose ``details`` are ``{"column", "rows", "count",
    "problem"}`` (``rows``: the first 20 row indexes at fault -- for an "unknown column" the
    rows that hold a value, empty for a "missing column"; ``count``: the rows affected); the
    first 100 problems are listed, the message counts them all.
    Casting rules per type are in ``dqm.service.ingest.cast``; ids must be present and distinct.
    """
    if table.num_rows == 0:
        raise InvalidInputError("the table holds no rows", [{"problem": "no rows"}])
    n = table.num_rows
    present = set(table.column_names)
    problems = _unknown_columns(table, schema)
    dupes = sorted(c for c, count in Counter(table.column_names).items() if count > 1)
    problems += [Problem(c, "duplicate column", [], n) for c in dupes]
    columns: dict[str, pa.ChunkedArray] = {}
    for spec in schema.columns:
        if spec.name not in present:
            if spec.name in allow_missing:
                columns[spec.name] = pa.chunked_array([pa.nulls(n, canonical_type(spec))])
            else:
                problems.append(Problem(spec.name, "missing column", [], n))
            continue
        if spec.name in dupes:
            continue
        cast, found = _cast(spec, table.column(spec.name))
        problems.extend(found)
        if cast is not None:
            columns[spec.name] = cast
    if problems:
        raise _invalid(problems)
    return pa.table(columns)


def _unknown_columns(table: pa.Table, schema: Schema) -> list[Problem]:
    """One problem per column not in the schema, naming the rows that hold a value in it
    (searched for in the columns listed in the error only)."""
    known = set(schema.names)
    first: dict[str, int] = {}
    for i, name in enumerate(table.column_names):
        first.setdefault(name, i)
    unknown = [(name, i) for name, i in first.items() if name not in known]
    listed = [
        rows_problem(name, "unknown column", pc.indices_nonzero(pc.is_valid(table[i])).to_pylist())
        for name, i in unknown[:MAX_PROBLEMS_LISTED]
    ]
    valid = table.num_rows
    rest = [
        Problem(name, "unknown column", [], valid - table[i].null_count)
        for name, i in unknown[MAX_PROBLEMS_LISTED:]
    ]
    return listed + rest


def _invalid(problems: list[Problem]) -> InvalidInputError:
    """The error for ``problems``: all counted in the message, the first 100 listed."""
    details = [p.as_detail() for p in problems[:MAX_PROBLEMS_LISTED]]
    return InvalidInputError(_summary(problems), details)


def _summary(problems: list[Problem]) -> str:
    parts = [f"{p.column!r}: {p.problem}" for p in problems[:5]]
    more = f" and {len(problems) - 5} more" if len(problems) > 5 else ""
    listed = (
        f", the first {MAX_PROBLEMS_LISTED} listed" if len(problems) > MAX_PROBLEMS_LISTED else ""
    )
    return (
        f"the data does not match the schema ({len(problems)} problems{listed}): "
        + "; ".join(parts)
        + more
    )


def infer_schema(table: pa.Table) -> Schema:
    """A schema for a table that has none (the first reference of a dataset).

    Types: integers, floats, decimals -> numerical; booleans -> categorical; timestamps,
    dates -> datetime; lists of numbers -> embedding; strings -> numerical if every value
    parses as a number (CSV columns are strings), datetime if every value is an ISO 8601
    timestamp, text if values are long (mean >= 20 characters) and mostly distinct (> 50%),
    else categorical. A column whose values are all null, or of any other type, is an error.

    Roles follow ``dqm.service.ingest.roles``: ids by name (``id``, ``*_id`` ...) or by a
    distinct value per row, targets (``target``, ``label``, ``y``, ``class``), predictions
    (``prediction``, ``pred``, ``y_pred``, ``score``), ``proba_<class>`` probabilities and
    timestamps (``timestamp``, ``ts``, ``event_time``: Arrow integers or floats there are epoch
    seconds, so their type becomes datetime); everything else is a feature.

    >>> import pyarrow as pa
    >>> t = pa.table({"ts": [1.7e9], "label": [True], "x": [[0.5, 1.0]], "note": ["a"]})
    >>> for c in infer_schema(t).columns:
    ...     print(c.name, c.type, c.role)
    ts datetime timestamp
    label categorical target
    x embedding feature
    note categorical feature
    """
    types: dict[str, ColumnType] = {}
    problems: list[Problem] = []
    for name in table.column_names:
        data = table.column(name)
        kind = _infer_type(data) if data.null_count < len(data) else None
        if kind is None:
            what = "all values are null" if data.null_count == len(data) else str(data.type)
            problems.append(Problem(name, f"cannot infer a column type ({what})", [], len(data)))
            continue
        if name.lower() in TIMESTAMP_NAMES and kind == "numerical" and _is_number(data):
            kind = "datetime"  # epoch seconds; numeric strings (CSV) are not read as epochs
        types[name] = kind
    if problems:
        raise _invalid(problems)
    roles = infer_roles(table, types)
    try:
        columns = [
            ColumnSpec(
                name=name, type="categorical" if role == "id" else kind, role=role, class_=cls
            )
            for (name, kind), (role, cls) in zip(types.items(), roles, strict=True)
        ]
        return Schema(columns=columns)
    except ValidationError as exc:
        raise InvalidInputError(f"cannot build a schema: {exc}") from exc


def _string_type(data: pa.ChunkedArray) -> ColumnType:
    """numerical if every value parses as a number, datetime if as a timestamp, else
    text (long and mostly distinct) or categorical."""
    text = pc.drop_null(pc.cast(data, STRING))
    head = pa.chunked_array([text.slice(0, 1000).combine_chunks()])  # a cheap first look
    if cast_numerical("", head)[0] is not None and cast_numerical("", text)[0] is not None:
        return "numerical"
    if cast_datetime("", head)[0] is not None and cast_datetime("", text)[0] is not None:
        return "datetime"
    mean_length = pc.mean(pc.utf8_length(text)).as_py() or 0.0
    distinct_share = len(pc.unique(text)) / max(len(text), 1)
    if mean_length >= TEXT_MIN_MEAN_LENGTH and distinct_share > TEXT_MIN_DISTINCT_SHARE:
        return "text"
    return "categorical"


def _infer_type(data: pa.ChunkedArray) -> ColumnType | None:
    data = plain(data)
    kind = data.type
    if pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind):
        return "numerical"
    if pa.types.is_boolean(kind):
        return "categorical"
    if pa.types.is_timestamp(kind) or pa.types.is_date(kind):
        return "datetime"
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return _string_type(data)
    if cast_embedding("", data)[0] is not None and not pa.types.is_null(kind):
        return "embedding"
    return None


def _is_number(data: pa.ChunkedArray) -> bool:
    kind = plain(data).type
    return bool(pa.types.is_integer(kind) or pa.types.is_floating(kind))
