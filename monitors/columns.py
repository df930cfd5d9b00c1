"""Arrow columns to numpy, the way every monitor reads them.

Numerical columns become float64 with nulls and ±inf as NaN (Evidently replaces ±inf by NaN
before testing); categorical columns become object arrays of strings with nulls as None.

>>> import pyarrow as pa
>>> numeric_values(pa.table({"x": [1, None, float("inf")]}), "x")
array([ 1., nan, nan])
>>> category_values(pa.table({"c": ["a", None]}), "c").tolist()
['a', None]
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

FloatArray = npt.NDArray[np.float64]
ObjectArray = npt.NDArray[np.object_]
IntArray = npt.NDArray[np.int64]


def _float_copy(table: pa.Table, column: str) -> FloatArray:
    """The column as a writable float64 array (nulls as NaN) that the caller may modify."""
    chunked = table.column(column)
    if not pa.types.is_floating(chunked.type):
        chunked = pc.cast(chunked, pa.float64())
    values = np.asarray(chunked.to_numpy(), dtype=np.float64)
    return values if values.flags.writeable else values.copy()


def numeric_values(table: pa.Table, column: str) -> FloatArray:
    """The column as float64 with nulls and infinities replaced by NaN."""
    values = _float_copy(table, column)
    values[np.isinf(values)] = np.nan
    return values


def string_column(table: pa.Table, column: str) -> pa.ChunkedArray:
    """The column as Arrow strings (nulls kept): how every categorical column is read."""
    chunked = table.column(column)
    if not pa.types.is_string(chunked.type) and not pa.types.is_large_string(chunked.type):
        chunked = pc.cast(chunked, pa.string())
    return chunked


def category_values(table: pa.Table, column: str) -> ObjectArray:
    """The column as an object array of strings (None for null)."""
    chunked = string_column(table, column)
    return np.asarray(chunked.to_numpy(zero_copy_only=False), dtype=object)


def sorted_present(values: FloatArray) -> FloatArray:
    """The non-NaN values of a float array, sorted ascending.

    >>> sorted_present(np.array([3.0, np.nan, 1.0])).tolist()
    [1.0, 3.0]
    """
    present = values[~np.isnan(values)]
    present.sort()
    return present


def sorted_finite_values(table: pa.Table, column: str) -> FloatArray:
    """The finite values of a numerical column, sorted: ``sorted_present(numeric_values(...))``.

    One copy and one in-place sort: NaN sort last and ±inf to the ends, so the finite values
    are one slice of the sorted array (no masking pass over the column).

    >>> sorted_finite_values(pa.table({"x": [3, None, float("-inf"), 1, float("inf")]}), "x")
    array([1., 3.])
    """
    values = _float_copy(table, column)
    values.sort()
    lo = int(np.searchsorted(values, -np.inf, side="right"))
    hi = int(np.searchsorted(values, np.inf, side="left"))
    return values[lo:hi]


def category_counts(table: pa.Table, column: str) -> tuple[ObjectArray, IntArray, int]:
    """Distinct non-null categories (as str, sorted), their counts, and the number of nulls.

    Counting happens in Arrow, so no Python loop runs over rows.

    >>> cats, counts, n_null = category_counts(pa.table({"c": ["b", "a", None, "b"]}), "c")
    >>> cats.tolist(), counts.tolist(), n_null
    (['a', 'b'], [1, 2], 1)
    """
    chunked = string_column(table, column)
    n_null = int(chunked.null_count)
    counted = pc.value_counts(pc.drop_null(chunked))
    cats = np.asarray(counted.field("values").to_pylist(), dtype=object)
    counts = np.asarray(counted.field("counts").to_numpy(), dtype=np.int64)
    order = np.argsort(cats, kind="stable")
    return cats[order], counts[order], n_null


# Word-wise hash: each 8-byte word is xored in and multiplied by FNV-1a's 64-bit prime, then
# the result goes through MurmurHash3's 64-bit finalizer (arithmetic mod 2^64).
_HASH_PRIME = np.uint64(0x100000001B3)
_HASH_LENGTH = np.uint64(0x9E3779B97F4A7C15)
_FMIX = (np.uint64(0xFF51AFD7ED558CCD), np.uint64(0xC4CEB9FE1A85EC53))
# The low r bytes of a little-endian word (r = 0 .. 8).
_BYTE_MASKS = np.array([(1 << (8 * r)) - 1 for r in range(9)], dtype=np.uint64)


def string_hashes(values: pa.Array) -> npt.NDArray[np.uint64]:
    """64-bit hashes of the strings of an Arrow string array without nulls, read from its
    buffers 8 bytes at a time (no Python string per value, one numpy pass per 8 bytes of
    the longest string, over the strings that long).

    Equal strings have equal hashes; unequal ones may collide, so a lookup by hash must
    compare the strings it matched.

    >>> h = string_hashes(pa.array(["ab", "", "ab", "ba", "ab\\x00"]))
    >>> bool(h[0] == h[2]), bool(h[0] == h[3]), bool(h[1] == h[0]), bool(h[4] == h[0])
    (True, False, False, False)
    """
    n = len(values)
    if n == 0:
        return np.zeros(0, dtype=np.uint64)
    large = pa.types.is_large_string(values.type) or pa.types.is_large_binary(values.type)
    buffers = values.buffers()
    stored = np.frombuffer(buffers[1], dtype=np.int64 if large else np.int32)
    offsets: IntArray = stored[values.offset : values.offset + n + 1].astype(np.int64)
    lengths = np.diff(offsets)
    start, stop = int(offsets[0]), int(offsets[-1])
    # The bytes with 8 zero bytes after them, read as a little-endian word at every byte.
    padded = np.zeros(stop - start + 8, dtype=np.uint8)
    if buffers[2] is not None:
        padded[: stop - start] = np.frombuffer(buffers[2], dtype=np.uint8)[start:stop]
    words = np.ndarray((stop - start + 1,), dtype="<u8", buffer=padded, strides=(1,))
    hashes = lengths.astype(np.uint64) * _HASH_LENGTH
    at = offsets[:-1] - start
    rows: IntArray | None = None  # None: every string (all still have bytes left)
    left = lengths.copy()
    while True:
        if rows is None and not bool(np.all(left > 0)):
            rows = np.flatnonzero(left > 0)
        elif rows is not None:
            rows = rows[left[rows] > 0]
        if rows is None:
            hashes ^= words[at] & _BYTE_MASKS[np.minimum(left, 8)]
            hashes *= _HASH_PRIME
        elif rows.size:
            word = words[at[rows]] & _BYTE_MASKS[np.minimum(left[rows], 8)]
            hashes[rows] = (hashes[rows] ^ word) * _HASH_PRIME
        else:
            break
        at += 8
        left -= 8
    hashes ^= hashes >> np.uint64(33)
    hashes *= _FMIX[0]
    hashes ^= hashes >> np.uint64(33)
    hashes *= _FMIX[1]
    hashes ^= hashes >> np.uint64(33)
    return hashes


#: Columns the service adds to a window (e.g. ``__label_delay_seconds``) start with this;
#: they are not data and no integrity check counts them.
INTERNAL_PREFIX = "__"


def data_columns(table: pa.Table) -> list[str]:
    """The table's column names without the service's internal columns."""
    return [n for n in table.column_names if not n.startswith(INTERNAL_PREFIX)]


def embedding_values(table: pa.Table, column: str) -> FloatArray:
    """The non-null vectors of a list-typed embedding column as an (n, d) float64 matrix.

    >>> embedding_values(pa.table({"e": [[1, 2], None, [3, 4]]}), "e").tolist()
    [[1.0, 2.0], [3.0, 4.0]]
    """
    chunked = pc.drop_null(table.column(column))
    if len(chunked) == 0:
        return np.zeros((0, 0), dtype=np.float64)
    lengths = pc.list_value_length(chunked)
    size = pc.min_max(lengths)
    if size["min"].as_py() != size["max"].as_py():
        raise ValueError(f"embedding column {column!r} has vectors of different lengths")
    flat = pc.cast(pc.list_flatten(chunked), pa.float64())
    values = np.asarray(flat.to_numpy(), dtype=np.float64)
    return values.reshape(len(chunked), -1)
