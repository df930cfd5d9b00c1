"""What a JSON body decodes to, bounded before Arrow materialises it.

Arrow's reader gives every key of every row a cell: a key first seen in row N adds a column of
all the rows. A few kilobytes of JSON whose rows each bring a new key (``[{"k0": 1}, {"k1":
1}, ...]``) therefore decode to rows x keys cells, quadratic in the body. Rows are bounded
from the body (every row is an object), keys by a scan that keeps only the key names and stops
as soon as rows x keys pass the limit (the object around the rows counts as one more row).

>>> staircase = json.dumps({"rows": [{f"k{i}": 1} for i in range(100)]}).encode()
>>> check_keys(staircase, DecodeLimits(decoded_bytes=10**6))  # ~100 x 100 cells
>>> try:
...     check_keys(staircase, DecodeLimits(decoded_bytes=50_000))
... except PayloadTooLargeError as exc:
...     print(exc.details[0]["limit"])
DQM_MAX_UPLOAD_DECODED_BYTES
"""

from __future__ import annotations

import json
from typing import Any

import pyarrow as pa
import pyarrow.json as pjson

from dqm.monitors.errors import PayloadTooLargeError
from dqm.service.ingest.limits import DecodeLimits

__all__ = ["PayloadTooLargeError", "check_keys", "check_rows"]

CELL_BYTES = 9  # a float64 and its validity bit, rounded up


def check_rows(wrapped: bytes, first_keys: int, limits: DecodeLimits) -> None:
    """Check the rows, and the cells of the first record's keys, of a ``{"rows": [...]}`` body.

    Every row is an object, so the body's ``{`` count bounds the rows; only when that bound
    passes a limit are the rows counted (by Arrow, keeping no values).
    """
    rows = wrapped.count(b"{")
    if rows <= limits.rows and rows * max(first_keys, 1) * CELL_BYTES <= limits.decoded_bytes:
        return
    try:
        rows = _count_rows(wrapped)
    except (pa.ArrowException, ValueError):
        return  # malformed: the standard library reports it
    limits.check(rows, rows * max(first_keys, 1) * CELL_BYTES)


def check_keys(wrapped: bytes, limits: DecodeLimits) -> None:
    """Check rows x distinct keys of a ``{"rows": [...]}`` body against ``limits``.

    Skipped when even one column per ``:`` in the body would fit. Malformed bodies pass: the
    standard library reports them.
    """
    rows_bound = wrapped.count(b"{")
    if rows_bound * max(wrapped.count(b":"), 1) * CELL_BYTES <= limits.decoded_bytes:
        return
    keys: set[str] = set()
    seen = 0

    def collect(pairs: list[tuple[str, Any]]) -> None:
        nonlocal seen
        seen += 1
        keys.update(k for k, _ in pairs)
        limits.check(0, seen * len(keys) * CELL_BYTES)

    try:
        json.loads(wrapped, object_pairs_hook=collect)
    except (ValueError, RecursionError):
        return
    limits.check(0, seen * len(keys) * CELL_BYTES)


def _count_rows(wrapped: bytes) -> int:
    explicit = pa.schema([pa.field("rows", pa.list_(pa.struct([])))])
    options = pjson.ParseOptions(explicit_schema=explicit, unexpected_field_behavior="ignore")
    read = pjson.ReadOptions(block_size=len(wrapped) + 1, use_threads=True)
    top = pjson.read_json(pa.BufferReader(wrapped), read_options=read, parse_options=options)
    if top.column_names != ["rows"] or top.num_rows != 1:
        raise ValueError("not a {'rows': [...]} body")
    return len(top.column("rows").chunk(0).values)
