"""Read CSV bodies block by block, within the upload limits.

Every column is read as strings, so categorical values such as "007" survive; the empty
field is the only null. A CSV field costs more decoded than in the body (an empty field is
one byte and a 4-byte offset), so rows and bytes are counted as each block is decoded.

>>> read_csv(b"a,b\\n007,\\n", DecodeLimits()).to_pylist()
[{'a': '007', 'b': None}]
"""

from __future__ import annotations

import contextlib
import io
from typing import Any

import pyarrow as pa
import pyarrow.csv as pcsv

from dqm.monitors.errors import InvalidInputError
from dqm.service.ingest.limits import DecodeLimits

MAX_LINES_LISTED = 20


def read_csv(body: bytes, limits: DecodeLimits) -> pa.Table:
    """The table of a CSV body with a header row; ``PayloadTooLargeError`` past ``limits``."""
    try:
        return _read_blocks(body, limits)
    except (pa.ArrowException, OSError, UnicodeDecodeError) as exc:
        first, count = _bad_lines(body)
        if not first:
            raise InvalidInputError(
                f"the body is not readable CSV: {exc}", [{"problem": "bad CSV"}]
            ) from exc
        line = first[0]
        raise InvalidInputError(
            f"{count} CSV lines do not have {line.expected_columns} fields (first: line "
            f"{line.number} has {line.actual_columns})",
            [
                {
                    "lines": [row.number for row in first],
                    "count": count,
                    "problem": f"expected {line.expected_columns} fields",
                }
            ],
        ) from exc


def _all_strings(body: bytes) -> pcsv.ConvertOptions:
    """Every column of the header as a string column (bad lines are the readers' concern)."""
    skip = pcsv.ParseOptions(invalid_row_handler=lambda _: "skip")
    header = pcsv.open_csv(io.BytesIO(body), parse_options=skip).schema.names
    return pcsv.ConvertOptions(
        column_types={name: pa.string() for name in header},
        strings_can_be_null=True,
        null_values=[""],
    )


def _read_blocks(body: bytes, limits: DecodeLimits) -> pa.Table:
    reader = pcsv.open_csv(io.BytesIO(body), convert_options=_all_strings(body))
    batches: list[pa.RecordBatch] = []
    rows = size = 0
    for batch in reader:
        rows, size = rows + batch.num_rows, size + batch.nbytes
        limits.check(rows, size)
        batches.append(batch)
    return pa.Table.from_batches(batches, reader.schema)


def _bad_lines(body: bytes) -> tuple[list[Any], int]:
    """The first rows with the wrong number of fields, and how many there are (read again,
    single-threaded: line numbers are only known then; decoded blocks are dropped)."""
    first: list[Any] = []
    count = 0

    def keep(row: Any) -> str:
        nonlocal count
        count += 1
        if len(first) < MAX_LINES_LISTED:
            first.append(row)
        return "skip"

    parse = pcsv.ParseOptions(invalid_row_handler=keep)
    with contextlib.suppress(pa.ArrowException, OSError, UnicodeDecodeError):
        convert = _all_strings(body)
        reader = pcsv.open_csv(
            io.BytesIO(body), pcsv.ReadOptions(use_threads=False), parse, convert
        )
        for _ in reader:
            pass
    return first, count
