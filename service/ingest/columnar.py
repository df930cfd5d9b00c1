"""Read Parquet and Arrow IPC bodies within the upload limits.

Both formats compress well enough that a small body can decode to gigabytes, so each reader
checks ``DecodeLimits`` from what the file declares before decoding it: the Parquet footer
(rows, and value counts per column chunk), the header of every IPC message (rows and
decompressed buffer sizes). Dictionary-encoded strings are read as dictionaries and counted
at their decoded size before they are decoded.
"""

from __future__ import annotations

import struct

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from dqm.monitors.errors import InvalidInputError
from dqm.service.ingest.ipc_scan import scan_stream
from dqm.service.ingest.limits import DecodeLimits

_PHYSICAL_WIDTH = {"BOOLEAN": 1, "INT32": 4, "FLOAT": 4, "INT64": 8, "DOUBLE": 8, "INT96": 12}


def read_parquet(body: bytes, limits: DecodeLimits) -> pa.Table:
    """The table of a Parquet body; ``PayloadTooLargeError`` past ``limits``."""
    try:
        source = pq.ParquetFile(pa.BufferReader(body))
        limits.check(source.metadata.num_rows, _declared_bytes(source.metadata))
        as_dictionary = _dictionary_encoded_strings(source)
        reader = pq.ParquetFile(
            pa.BufferReader(body), metadata=source.metadata, read_dictionary=as_dictionary
        )
        table = reader.read(use_threads=True)
    except (pa.ArrowException, OSError) as exc:
        raise InvalidInputError(
            f"the body is not a readable Parquet file: {exc}", [{"problem": "not Parquet"}]
        ) from exc
    limits.check_table(table)
    return _decode_dictionaries(table, as_dictionary)


def read_ipc(body: bytes, limits: DecodeLimits) -> pa.Table:
    """The table of an Arrow IPC stream body; ``PayloadTooLargeError`` past ``limits``."""
    try:
        scan_stream(body, limits)
        with pa.ipc.open_stream(body) as reader:
            table = reader.read_all()
    except (pa.ArrowException, OSError, ValueError, struct.error) as exc:
        raise InvalidInputError(
            f"the body is not a readable Arrow IPC stream: {exc}", [{"problem": "not Arrow IPC"}]
        ) from exc
    limits.check_table(table)
    return table


def _declared_bytes(metadata: pq.FileMetaData) -> int:
    """A lower bound of the decoded size from the footer: fixed-width values at their width,
    byte arrays at 4 bytes of offset each (their contents are counted once read)."""
    total = 0
    for g in range(metadata.num_row_groups):
        group = metadata.row_group(g)
        for c in range(group.num_columns):
            chunk = group.column(c)
            total += chunk.num_values * _PHYSICAL_WIDTH.get(chunk.physical_type, 4)
    return total


def _dictionary_encoded_strings(source: pq.ParquetFile) -> list[str]:
    """Top-level string and binary columns stored with a dictionary in some row group."""
    metadata, arrow = source.metadata, source.schema_arrow
    found = []
    for leaf in range(metadata.num_columns):
        column = source.schema.column(leaf)
        if column.max_repetition_level or column.path not in arrow.names:
            continue  # inside a list or struct
        kind = arrow.field(column.path).type
        if not (pa.types.is_string(kind) or pa.types.is_binary(kind)):
            continue
        groups = range(metadata.num_row_groups)
        if any(metadata.row_group(g).column(leaf).has_dictionary_page for g in groups):
            found.append(column.path)
    return found


def _decode_dictionaries(table: pa.Table, names: list[str]) -> pa.Table:
    """``table`` with the columns read as dictionaries back to their plain type."""
    for name in names:
        index = table.schema.get_field_index(name)
        column = table.column(index)
        if pa.types.is_dictionary(column.type):
            plain = pc.cast(column, column.type.value_type)
            table = table.set_column(index, table.field(index).with_type(plain.type), plain)
    return table
