"""Cast one decoded column to the canonical Arrow type of its schema column.

Each ``cast_*`` function returns the cast column, or the problems that prevent it (a problem
names the first rows at fault). Casting rules, by schema type:

- numerical -> float64: integers (signed, unsigned, nullable), floats, decimals, booleans
  (true = 1.0) and strings Python's ``float()`` accepts ("1.5", " 2 ", "1e3", "nan").
- categorical, text, and every column with role ``id`` -> string: strings as they are, other
  scalars in Arrow's string form (1 -> "1", 2.50 -> "2.5", True -> "true").
- datetime -> timestamp[us, UTC]: timestamps (naive ones are taken as UTC, nanoseconds are
  truncated), dates (midnight UTC), ISO 8601 strings (naive = UTC; offsets are converted), and
  numbers as seconds since the Unix epoch.
- embedding -> list<float32>: lists of numbers, all of the same length, no null inside a list
  (a null list is fine). CSV cannot carry embeddings.

>>> import pyarrow as pa
>>> col, problems = cast_numerical("x", pa.chunked_array([["1.5", "abc", None]]))
>>> col is None, problems[0].problem, problems[0].rows
(True, "cannot cast 'abc' to numerical", [1])
>>> cast_datetime("t", pa.chunked_array([["2024-01-01T02:00:00+02:00"]]))[0][0].as_py().isoformat()
'2024-01-01T00:00:00+00:00'
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

MAX_ROWS_LISTED = 20
FLOAT = pa.float64()
STRING = pa.string()
TIMESTAMP = pa.timestamp("us", tz="UTC")
EMBEDDING = pa.list_(pa.float32())

Cast = tuple[pa.ChunkedArray | None, list["Problem"]]


@dataclass(frozen=True)
class Problem:
    """One reason a column cannot be stored: which column, which rows (first 20), how many."""

    column: str
    problem: str
    rows: list[int] = field(default_factory=list)
    count: int = 0

    def as_detail(self) -> dict[str, Any]:
        return {"column": self.column, "rows": self.rows, "count": self.count,
                "problem": self.problem}  # fmt: skip


def rows_problem(column: str, problem: str, rows: Sequence[int]) -> Problem:
    return Problem(column, problem, list(rows[:MAX_ROWS_LISTED]), len(rows))


def _wrong_type(column: str, data: pa.ChunkedArray, target: str) -> Cast:
    problem = f"wrong type: {data.type} cannot be read as {target}"
    return None, [Problem(column, problem, [], len(data))]


def plain(data: pa.ChunkedArray) -> pa.ChunkedArray:
    """The column with dictionary encoding (e.g. pandas categoricals) undone."""
    if pa.types.is_dictionary(data.type):
        return pc.cast(data, data.type.value_type)
    return data


def _is_stringish(kind: pa.DataType) -> bool:
    return bool(pa.types.is_string(kind) or pa.types.is_large_string(kind))


def _is_number(kind: pa.DataType) -> bool:
    return bool(
        pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind)
    )


def _convert_each(
    column: str, values: list[Any], convert: Callable[[Any], Any], target: str, kind: pa.DataType
) -> Cast:
    """Convert value by value in Python; the slow path that also finds the rows at fault."""
    out: list[Any] = []
    bad: list[int] = []
    for i, value in enumerate(values):
        try:
            out.append(None if value is None else convert(value))
        except (ValueError, TypeError, OverflowError):
            bad.append(i)
            out.append(None)
    if bad:
        problem = f"cannot cast {values[bad[0]]!r} to {target}"
        return None, [rows_problem(column, problem, bad)]
    return pa.chunked_array([pa.array(out, type=kind)]), []


def cast_numerical(column: str, data: pa.ChunkedArray) -> Cast:
    """Cast to float64; strings are parsed as Python's ``float()`` parses them."""
    data = plain(data)
    kind = data.type
    if pa.types.is_null(kind) or _is_number(kind) or pa.types.is_boolean(kind):
        return pc.cast(data, FLOAT), []
    if not _is_stringish(kind):
        return _wrong_type(column, data, "numerical")
    try:
        return pc.cast(pc.cast(data, STRING), FLOAT), []
    except pa.ArrowInvalid:
        return _convert_each(column, data.to_pylist(), float, "numerical", FLOAT)


def cast_string(column: str, data: pa.ChunkedArray, target: str = "categorical") -> Cast:
    """Cast any scalar column to string (Arrow's string form: 1 -> "1", True -> "true")."""
    data = plain(data)
    kind = data.type
    if pa.types.is_nested(kind) or pa.types.is_binary(kind) or pa.types.is_large_binary(kind):
        return _wrong_type(column, data, target)
    try:
        return pc.cast(data, STRING), []
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return _wrong_type(column, data, target)


def cast_id(column: str, data: pa.ChunkedArray) -> Cast:
    """Cast to string and require every row to have a distinct, non-null id."""
    cast, problems = cast_string(column, data, "id")
    if cast is None:
        return None, problems
    missing = pc.indices_nonzero(pc.is_null(cast)).to_pylist()
    if missing:
        problems.append(rows_problem(column, "missing id", missing))
    distinct = pc.unique(cast)
    if len(distinct) - distinct.null_count < len(cast) - cast.null_count:
        problems.append(rows_problem(column, "duplicate id", _repeated_rows(cast, distinct)))
    return (None, problems) if problems else (cast, [])


def _repeated_rows(values: pa.ChunkedArray, distinct: pa.Array) -> list[int]:
    """Rows whose non-null value already occurred in an earlier row."""
    codes = pc.index_in(values, value_set=distinct).to_numpy(zero_copy_only=False)
    present = np.flatnonzero(~np.isnan(codes.astype(np.float64)))
    _, first = np.unique(codes[present], return_index=True)
    return list(np.setdiff1d(present, present[first]).tolist())


def _parse_iso(value: str) -> datetime:
    parsed = datetime.fromisoformat(value.strip())
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _datetime_from_strings(column: str, data: pa.ChunkedArray) -> Cast:
    text = pc.cast(data, STRING)
    try:  # every value has a zone offset
        return pc.cast(text, TIMESTAMP), []
    except pa.ArrowInvalid:
        pass
    try:  # no value has one: they are UTC
        return pc.cast(pc.cast(text, pa.timestamp("us")), TIMESTAMP), []
    except pa.ArrowInvalid:
        return _convert_each(column, text.to_pylist(), _parse_iso, "datetime", TIMESTAMP)


def _datetime_from_epoch(column: str, data: pa.ChunkedArray) -> Cast:
    seconds = pc.cast(data, FLOAT)
    finite = pc.if_else(pc.is_finite(seconds), seconds, pa.scalar(None, FLOAT))
    micros = pc.round(pc.multiply(finite, 1e6))
    too_big = pc.fill_null(pc.greater(pc.abs(micros), 2.0**62), False)
    bad = pc.indices_nonzero(too_big).to_pylist()
    if bad:
        first = data[bad[0]].as_py()
        return None, [rows_problem(column, f"cannot cast {first!r} to datetime", bad)]
    return pc.cast(pc.cast(micros, pa.int64()), pa.timestamp("us")).cast(TIMESTAMP), []


def cast_datetime(column: str, data: pa.ChunkedArray) -> Cast:
    """Cast to timestamp[us, UTC] (see the module docstring for the accepted inputs)."""
    data = plain(data)
    kind = data.type
    if pa.types.is_null(kind) or pa.types.is_date(kind):
        return pc.cast(data, TIMESTAMP), []
    if pa.types.is_timestamp(kind):
        safe = kind.unit != "ns"  # nanoseconds are truncated to microseconds on purpose
        try:
            # A naive timestamp cast to a zoned type keeps its value: it is read as UTC.
            return pc.cast(data, pa.timestamp("us", tz=kind.tz), safe=safe).cast(TIMESTAMP), []
        except pa.ArrowInvalid:
            return _wrong_type(column, data, "datetime (out of range)")
    if _is_stringish(kind):
        return _datetime_from_strings(column, data)
    if _is_number(kind):
        return _datetime_from_epoch(column, data)
    return _wrong_type(column, data, "datetime")


def _list_problems(column: str, data: pa.ChunkedArray) -> list[Problem]:
    lengths = pc.list_value_length(data)
    modes = pc.mode(lengths)  # the most common length (the smallest on ties)
    problems: list[Problem] = []
    if len(modes):
        size = modes[0]["mode"].as_py()
        odd = pc.indices_nonzero(pc.fill_null(pc.not_equal(lengths, size), False)).to_pylist()
        if odd:
            what = f"embedding length {lengths[odd[0]].as_py()} differs from {size}"
            problems.append(rows_problem(column, what, odd))
        if size == 0:
            empty = pc.indices_nonzero(pc.fill_null(pc.equal(lengths, 0), False)).to_pylist()
            problems.append(rows_problem(column, "empty embedding", empty))
    flat = pc.list_flatten(data)
    if flat.null_count:
        parents = pc.list_parent_indices(data)
        holes = pc.unique(pc.filter(parents, pc.is_null(flat))).to_pylist()
        problems.append(rows_problem(column, "null inside embedding", sorted(holes)))
    return problems


def cast_embedding(column: str, data: pa.ChunkedArray) -> Cast:
    """Cast lists of numbers to list<float32>, requiring one length and no null elements."""
    data = plain(data)
    kind = data.type
    if pa.types.is_null(kind):
        return pc.cast(data, EMBEDDING), []
    is_list = pa.types.is_list(kind) or pa.types.is_large_list(kind)
    if not (is_list or pa.types.is_fixed_size_list(kind)) or not (
        _is_number(kind.value_type) or pa.types.is_null(kind.value_type)
    ):
        return _wrong_type(column, data, "embedding (a list of numbers)")
    as_list = pc.cast(data, pa.list_(FLOAT))
    problems = _list_problems(column, as_list)
    if problems:
        return None, problems
    return pc.cast(as_list, EMBEDDING), []
