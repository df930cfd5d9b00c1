"""Limits on what an upload decodes to: rows and bytes in memory, checked before decoding.

A few hundred kilobytes of compressed Parquet or Arrow can describe tens of millions of rows,
so the body cap alone does not bound the work of an upload. Each reader checks these limits
from what the format declares before it materialises anything (the Parquet footer, the
header of each Arrow IPC message), or while it streams (CSV blocks, JSON rows), and raises
``PayloadTooLargeError`` (HTTP 413) naming the limit.

>>> limits = DecodeLimits(rows=10, decoded_bytes=1000)
>>> limits.check(rows=10, decoded_bytes=1000)
>>> try:
...     limits.check(rows=11, decoded_bytes=0)
... except PayloadTooLargeError as exc:
...     print(exc.details)
[{'limit': 'DQM_MAX_UPLOAD_ROWS', 'limit_value': 10, 'found': 11, 'unit': 'rows'}]
>>> dictionary = pa.array(["abc", "abc", None]).dictionary_encode()
>>> expanded_bytes(pa.chunked_array([dictionary])), pa.array(["abc", "abc", None]).nbytes
(19, 19)
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from dqm.monitors.errors import PayloadTooLargeError

ROWS_SETTING = "DQM_MAX_UPLOAD_ROWS"
BYTES_SETTING = "DQM_MAX_UPLOAD_DECODED_BYTES"


@dataclass(frozen=True)
class DecodeLimits:
    """The most rows and decoded bytes one upload may have (``Settings.max_upload_*``)."""

    rows: int = 20_000_000
    decoded_bytes: int = 1024**3

    def check(self, rows: int, decoded_bytes: int) -> None:
        """Raise ``PayloadTooLargeError`` when ``rows`` or ``decoded_bytes`` pass a limit.

        The counts may be partial (a reader stops at the first block past a limit), hence
        "at least" in the message.
        """
        if rows > self.rows:
            raise _too_large("rows", rows, self.rows, ROWS_SETTING)
        if decoded_bytes > self.decoded_bytes:
            raise _too_large("bytes", decoded_bytes, self.decoded_bytes, BYTES_SETTING)

    def check_table(self, table: pa.Table) -> None:
        """Check a decoded table, counting dictionary columns at their expanded size."""
        self.check(table.num_rows, table_bytes(table))


def _too_large(unit: str, found: int, limit: int, setting: str) -> PayloadTooLargeError:
    return PayloadTooLargeError(
        f"the upload decodes to at least {found} {unit}, more than {setting} allows ({limit})",
        [{"limit": setting, "limit_value": limit, "found": found, "unit": unit}],
    )


def table_bytes(table: pa.Table) -> int:
    """The bytes ``table`` takes once every dictionary column is decoded."""
    return sum(expanded_bytes(column) for column in table.columns)


def expanded_bytes(column: pa.ChunkedArray) -> int:
    """The bytes of ``column`` with dictionary encoding undone (its own size otherwise).

    Computed from the dictionary's value lengths and the indices, without decoding: a
    dictionary of one long string referenced by millions of rows is small until decoded.
    """
    if not pa.types.is_dictionary(column.type):
        return int(column.nbytes)
    total = 0
    for chunk in column.chunks:
        dictionary, indices = chunk.dictionary, chunk.indices
        offsets_and_validity = len(indices) * 4 + len(indices) // 8 + 1
        if len(dictionary) == 0:
            total += offsets_and_validity
            continue
        if _is_binary_like(dictionary.type):
            taken = pc.sum(pc.take(pc.binary_length(dictionary), indices)).as_py() or 0
        else:  # fixed-width values: every value has the dictionary's mean size
            taken = len(indices) * -(-int(dictionary.nbytes) // len(dictionary))
        total += int(taken) + offsets_and_validity
    return total


def _is_binary_like(kind: pa.DataType) -> bool:
    return bool(
        pa.types.is_binary(kind)
        or pa.types.is_string(kind)
        or pa.types.is_large_binary(kind)
        or pa.types.is_large_string(kind)
    )
