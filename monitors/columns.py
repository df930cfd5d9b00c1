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

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

FloatArray = npt.NDArray[np.float64]
ObjectArray = npt.NDArray[np.object_]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


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


def category_column(table: pa.Table, column: str) -> pa.ChunkedArray:
    """The column as Arrow strings, or as it is when dictionary-encoded (nulls kept): what a
    window's category counts read, so that a dictionary's codes are counted and only its
    values looked up (:meth:`dqm.monitors.profile.CategoricalProfile.window_counts`).

    >>> category_column(pa.table({"c": pa.array(["a", "b", "a"]).dictionary_encode()}), "c").type
    DictionaryType(dictionary<values=string, indices=int32, ordered=0>)
    """
    chunked = table.column(column)
    return chunked if pa.types.is_dictionary(chunked.type) else string_column(table, column)


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
_SHIFT = np.uint64(33)
# The low r bytes of a little-endian word (r = 0 .. 8).
_BYTE_MASKS = np.array([(1 << (8 * r)) - 1 for r in range(9)], dtype=np.uint64)


@dataclass(frozen=True)
class StringBytes:
    """An Arrow string array's bytes as numpy (no Python string per value): each string as
    its little-endian 64-bit words, the last one zero-filled past the string's end, stored
    one string after the other (``packed[first[i]:first[i + 1]]``), with its length.

    Hashing and comparing then read aligned words: a word read at an arbitrary byte offset
    (a strided view of the bytes) gathers about 3x slower in numpy.
    """

    lengths: IntArray  # bytes of each string
    first: IntArray  # where each string's words start in ``packed`` (n + 1 entries)
    packed: npt.NDArray[np.uint64]
    width: int  # words of every string when all have the same length, else -1

    @classmethod
    def of(cls, values: pa.Array) -> StringBytes:
        """The bytes of a string or binary array (null slots read as whatever they hold)."""
        n = len(values)
        large = pa.types.is_large_string(values.type) or pa.types.is_large_binary(values.type)
        buffers = values.buffers()
        if n == 0 or buffers[1] is None:
            return cls(np.zeros(n, np.int64), np.zeros(n + 1, np.int64), _NO_WORDS, 0)
        stored = np.frombuffer(buffers[1], dtype=np.int64 if large else np.int32)
        offsets = stored[values.offset : values.offset + n + 1].astype(np.int64)
        start, stop = int(offsets[0]), int(offsets[-1])
        whole = _NO_BYTES if buffers[2] is None else np.frombuffer(buffers[2], np.uint8)
        data = whole[start:stop]
        lengths = np.diff(offsets)
        if int(lengths.min()) == int(lengths.max()):  # one length: strided reads, no gather
            size = int(lengths[0])
            width = -(-size // 8)
            if width == 0:
                return cls(lengths, np.zeros(n + 1, dtype=np.int64), _NO_WORDS, 0)
            first = np.arange(0, (n + 1) * width, width, dtype=np.int64)
            # Word k of every string is one strided view of the bytes (unaligned 8-byte
            # reads at k * 8 + i * size, copied contiguous first: 3x faster than into the
            # strided column); the last word reads past its string, into the next one or
            # the buffer's end, and is masked. The strings whose last word would end past
            # the buffer (the last one, or up to 7 of one byte) are read one by one.
            block = np.empty((n, width), dtype=np.uint64)
            source = whole[start:]
            inside = min(n, max(0, (source.size - 8 * width) // size + 1))
            _strided_words(block[:inside], source, size)
            for i in range(inside, n):  # a few strings at most (8 bytes past the buffer)
                row = data[i * size : (i + 1) * size].tobytes().ljust(8 * width, b"\0")
                block[i] = np.frombuffer(row, dtype="<u8")
            return cls(lengths, first, block.reshape(-1), width)
        words = (lengths + 7) // 8
        first = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(words, out=first[1:])
        padded = np.zeros(stop - start + 8, dtype=np.uint8)
        padded[: stop - start] = data
        unaligned = np.ndarray((stop - start + 1,), dtype="<u8", buffer=padded, strides=(1,))
        packed = np.empty(int(first[-1]), dtype=np.uint64)
        rows = np.flatnonzero(words > 0)
        k = 0
        while rows.size:
            left = np.minimum(lengths[rows] - 8 * k, 8)
            word = unaligned[offsets[rows] - start + 8 * k] & _BYTE_MASKS[left]
            packed[first[rows] + k] = word
            k += 1
            rows = rows[words[rows] > k]
        return cls(lengths, first, packed, -1)

    def __len__(self) -> int:
        return int(self.lengths.size)

    def hashes(self) -> npt.NDArray[np.uint64]:
        """64-bit hashes of the strings: each 8-byte word is xored in and multiplied by
        FNV-1a's 64-bit prime, then MurmurHash3's 64-bit finalizer. Equal strings have equal
        hashes; unequal ones may collide, so a lookup by hash must compare the strings it
        matched (:meth:`same`)."""
        if self.width >= 0:  # one length: the same start for every string
            start = int(self.lengths[0]) * int(_HASH_LENGTH) % (1 << 64) if len(self) else 0
            hashes = np.full(len(self), start, dtype=np.uint64)
            block = self.packed.reshape(len(self), self.width)
            for k in range(self.width):
                hashes ^= block[:, k]
                hashes *= _HASH_PRIME
        else:
            hashes = self.lengths.astype(np.uint64) * _HASH_LENGTH
            words = self.first[1:] - self.first[:-1]
            rows = np.flatnonzero(words > 0)
            k = 0
            while rows.size:
                at = self.first[rows] + k
                hashes[rows] = (hashes[rows] ^ self.packed[at]) * _HASH_PRIME
                k += 1
                rows = rows[words[rows] > k]
        shifted = np.empty_like(hashes)
        for factor in (*_FMIX, None):
            np.right_shift(hashes, _SHIFT, out=shifted)
            hashes ^= shifted
            if factor is not None:
                hashes *= factor
        return hashes

    def same(self, rows: IntArray | None, other: StringBytes, other_rows: IntArray) -> BoolArray:
        """Whether string ``rows[i]`` here (``i`` when ``rows`` is None) equals string
        ``other_rows[i]`` of ``other``: equal lengths, then word by word.

        >>> a, b = StringBytes.of(pa.array(["ab", "abcdefghij", ""])), StringBytes.of(
        ...     pa.array(["abcdefghiX", "ab", "abcdefghij", ""]))
        >>> a.same(np.array([0, 1, 1, 2]), b, np.array([1, 0, 2, 3])).tolist()
        [True, False, True, True]
        >>> c = StringBytes.of(pa.array(["abcdefghiX", "abcdefghij"]))  # one length
        >>> c.same(None, b, np.array([0, 0])).tolist(), c.same(np.array([1]), b, np.array([2]))
        ([True, False], array([ True]))
        """
        length = self.lengths if rows is None else self.lengths[rows]
        equal: BoolArray
        if other.width >= 0:  # one length there: no gather of lengths or word positions
            equal = length == (other.lengths[0] if len(other) else -1)
            theirs = other_rows * other.width
        else:
            equal = length == other.lengths[other_rows]
            theirs = other.first[other_rows]
        if self.width >= 0 and other.packed.size:
            # One length here: every pair of equal length has ``width`` words, compared for
            # all pairs at once (reads past a shorter string of ``other`` are clipped in
            # bounds and do not matter: its length differs already).
            block = self.packed.reshape(len(self), self.width)
            for k in range(self.width):
                word = block[:, k] if rows is None else block[:, k][rows]
                equal &= word == other.packed.take(theirs + k, mode="clip")
            return equal
        mine = self.first if rows is None else self.first[rows]
        active = np.flatnonzero(equal & (length > 0))
        k = 0
        while active.size:
            differ = self.packed[mine[active] + k] != other.packed[theirs[active] + k]
            equal[active[differ]] = False
            k += 1
            active = active[~differ & (length[active] > 8 * k)]
        return equal


def _strided_words(block: npt.NDArray[np.uint64], source: npt.NDArray[np.uint8], size: int) -> None:
    """Fill ``block`` (one row per string, its words as columns) from strings of ``size``
    bytes stored back to back at the start of ``source``, which holds the last string's last
    word in full (a read past a string's end is masked)."""
    rows = block.shape[0]
    if rows == 0:
        return
    for k in range(block.shape[1]):
        word = np.ndarray((rows,), "<u8", buffer=source, offset=8 * k, strides=(size,))
        if 8 * (k + 1) <= size:
            block[:, k] = word.copy()
        else:
            block[:, k] = word & _BYTE_MASKS[size - 8 * k]


_NO_WORDS = np.zeros(0, dtype=np.uint64)
_NO_BYTES = np.zeros(0, dtype=np.uint8)


def string_hashes(values: pa.Array) -> npt.NDArray[np.uint64]:
    """64-bit hashes of the strings of an Arrow string array (:meth:`StringBytes.hashes`).

    >>> h = string_hashes(pa.array(["ab", "", "ab", "ba", "ab\\x00"]))
    >>> bool(h[0] == h[2]), bool(h[0] == h[3]), bool(h[1] == h[0]), bool(h[4] == h[0])
    (True, False, False, False)
    """
    return StringBytes.of(values).hashes()


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
