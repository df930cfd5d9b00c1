"""Request bodies for data: records as JSON, pandas and Arrow tables as an Arrow IPC stream
(or Parquet), bytes as they are.

pandas and pyarrow are optional (the ``pandas`` and ``arrow`` extras): they are imported only
when a DataFrame or an Arrow table is passed, recognised by the module of its type.
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Mapping, Sequence
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any, Literal

JSON = "application/json"
CSV = "text/csv"
PARQUET = "application/vnd.apache.parquet"
ARROW_STREAM = "application/vnd.apache.arrow.stream"
TableFormat = Literal["arrow", "parquet"]


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    item = getattr(value, "item", None)  # numpy scalars
    if callable(item):
        return item()
    raise TypeError(f"value of type {type(value).__name__} is not JSON serialisable")


def _finite(value: Any) -> Any:
    return None if isinstance(value, float) and not math.isfinite(value) else value


def records_json(records: Sequence[Mapping[str, Any]], key: str | None = None) -> bytes:
    """``records`` as JSON (``{key: records}`` when ``key`` is given); NaN and ±inf → null."""
    rows = [{k: _finite(v) for k, v in r.items()} for r in records]
    body: Any = {key: rows} if key else rows
    return json.dumps(body, default=_json_default, separators=(",", ":")).encode()


def _kind(data: Any) -> str:
    module = type(data).__module__.split(".")[0]
    if module == "pandas" and type(data).__name__ == "DataFrame":
        return "pandas"
    if module == "pyarrow" and type(data).__name__ in ("Table", "RecordBatch"):
        return "arrow"
    return "other"


def to_arrow(data: Any) -> Any:
    """A ``pyarrow.Table`` of a DataFrame, a Table or a RecordBatch."""
    import pyarrow as pa

    kind = _kind(data)
    if kind == "pandas":
        return pa.Table.from_pandas(data, preserve_index=False)
    if isinstance(data, pa.RecordBatch):
        return pa.Table.from_batches([data])
    return data


def table_bytes(table: Any, fmt: TableFormat) -> tuple[bytes, str]:
    import pyarrow as pa

    if fmt == "parquet":
        import pyarrow.parquet as pq

        sink = pa.BufferOutputStream()
        pq.write_table(table, sink)
        return sink.getvalue().to_pybytes(), PARQUET
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes(), ARROW_STREAM


def encode(
    data: Any, content_type: str | None = None, fmt: TableFormat = "arrow"
) -> tuple[bytes, str]:
    """The body and content type for ``data``: records (a list of dicts, or one dict), a pandas
    DataFrame, a pyarrow Table or RecordBatch, or ``bytes`` with their ``content_type``."""
    if isinstance(data, bytes | bytearray | memoryview):
        if content_type is None:
            raise TypeError("bytes need a content_type (text/csv, application/json, ...)")
        return bytes(data), content_type
    if _kind(data) != "other":
        return table_bytes(to_arrow(data), fmt)
    if isinstance(data, Mapping):
        data = [data]
    if isinstance(data, Sequence) and not isinstance(data, str):
        if not all(isinstance(r, Mapping) for r in data):
            raise TypeError("records must be mappings (one dict per row)")
        return records_json(data), JSON
    raise TypeError(
        f"cannot send {type(data).__name__}: pass records (a list of dicts), a pandas "
        "DataFrame, a pyarrow Table, or bytes with a content_type"
    )


def labels_body(data: Any, content_type: str | None = None) -> tuple[bytes, str]:
    """Labels as a request body: records as ``{"labels": [...]}``, a DataFrame or an Arrow
    table as an Arrow stream, bytes (CSV, Parquet, ...) with their ``content_type``."""
    if isinstance(data, bytes | bytearray | memoryview) or _kind(data) != "other":
        return encode(data, content_type)
    records = [data] if isinstance(data, Mapping) else list(data)
    return records_json(records, key="labels"), JSON
