"""A reference's categories indexed by hash, so a window's strings are found in window time.

Built once per reference version: the categories' 64-bit hashes
(:func:`dqm.monitors.columns.string_hashes`) sorted, with a table of where each bucket of
leading hash bits starts (about four buckets per category), so a lookup reads about one
entry per window string (no binary search, no sort of the window's hashes).

Each entry is one row of four words: the hash, the string's byte length and position packed
in one word, and the string's first two 8-byte words. A lookup reads its bucket's start and
then one row (32 bytes, one cache line), which holds all it compares: a string of at most
16 bytes is confirmed by its length and two words there; a longer one compares its other
words with the reference's (:meth:`StringBytes.same`, for those rows only). So a hash
collision never counts as a match: a match is decided by the bytes.

Written here for speed: ``pyarrow.compute.index_in`` builds a hash table of its value set
on every call (100k reference categories per run), and pandas would convert the strings to
Python objects; this index is built once per reference version and probed with numpy.

>>> index = StringIndex.of(pa.array(["b", "a", "c"]))
>>> index.find(pa.array(["c", "x", "b"])).tolist()
[2, -1, 0]
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from dqm.monitors.columns import IntArray, StringBytes

# About 4 buckets per string: most lookups read one row (about 9% walk to a next one);
# at most 2 ** 22 buckets (16 MB of starts), beyond that strings share buckets.
SPARE_BITS = 2
MAX_BITS = 22

# Row layout: the hash, length << 32 | position, the first two words of the string.
HASH, META, WORD0, WORD1 = range(4)
LEAD_BYTES = 16  # bytes a row holds; longer strings confirm the rest from ``data``
_LOW = np.uint64(0xFFFFFFFF)
_THIRTY_TWO = np.uint64(32)
_LAST = np.uint64(0xFFFFFFFFFFFFFFFF)
# The row after the last: a hash no lookup walks past, and a length field no string of at
# most LEAD_BYTES has (its position, 0, is only read for longer ones, which compare bytes).
_SENTINEL_META = np.uint64(0xFFFFFFFF) << _THIRTY_TWO
_ROW = np.dtype((np.void, 32))  # a row as one item


@dataclass(frozen=True)
class StringIndex:
    """Distinct strings as rows sorted by hash, with bucket starts."""

    rows: npt.NDArray[np.uint64]  # (size + 1, 4): see HASH .. WORD1; then the sentinel row
    strings: pa.Array  # the indexed strings (Arrow string array)
    bits: int  # leading hash bits that pick a bucket
    starts: npt.NDArray[np.int32]  # each bucket's first row (2 ** bits + 1 entries)
    data: StringBytes  # the strings' bytes, to confirm strings longer than LEAD_BYTES

    @classmethod
    def of(cls, strings: pa.Array) -> StringIndex | None:
        """Index distinct strings; None when two of them share a hash (or one is 4 GB)."""
        data = StringBytes.of(strings)
        return cls.of_hashes(data.hashes(), strings, data)

    @classmethod
    def of_hashes(
        cls,
        hashes: npt.NDArray[np.uint64],
        strings: pa.Array,
        data: StringBytes | None = None,
        bits: int | None = None,
    ) -> StringIndex | None:
        """Index strings by the given hashes (tests forge collisions through this, and
        crowd the buckets with a small ``bits``)."""
        order = np.argsort(hashes, kind="stable")
        ordered = hashes[order]
        if ordered.size > 1 and bool(np.any(ordered[1:] == ordered[:-1])):
            return None
        data = StringBytes.of(strings) if data is None else data
        if len(data) and int(data.lengths.max()) >= (1 << 32) - 1:
            return None  # the length would not fit its 32 bits (a 4 GB category)
        if bits is None:
            bits = max(1, min(MAX_BITS, math.ceil(math.log2(max(ordered.size, 2))) + SPARE_BITS))
        buckets = (ordered >> np.uint64(64 - bits)).astype(np.int64)
        starts = np.searchsorted(buckets, np.arange((1 << bits) + 1)).astype(np.int32)
        n = ordered.size
        rows = np.empty((n + 1, 4), dtype=np.uint64)
        rows[:n, HASH] = ordered
        lengths = data.lengths[order].astype(np.uint64)
        rows[:n, META] = (lengths << _THIRTY_TWO) | order.astype(np.uint64)
        first, second = lead_words(data)
        rows[:n, WORD0], rows[:n, WORD1] = first[order], second[order]
        rows[n] = (_LAST, _SENTINEL_META, 0, 0)
        return cls(rows, strings, bits, starts, data)

    @property
    def size(self) -> int:
        return int(self.rows.shape[0] - 1)

    def find(self, values: pa.Array | StringBytes) -> IntArray:
        """Each value's position in ``strings`` (-1: absent); ``values`` has no nulls."""
        data = values if isinstance(values, StringBytes) else StringBytes.of(values)
        if len(data) == 0 or self.size == 0:
            return np.full(len(data), -1, dtype=np.int64)
        hashes = data.hashes()
        # The first row at or after each hash: its bucket's first, then (rarely: about 4
        # buckets per hash) the next ones while their hash is smaller. An empty bucket's
        # first row is a later bucket's (a larger hash) or the sentinel, so no walk passes
        # the end. A string of the index lands on its own row.
        at = self.starts.take((hashes >> np.uint64(64 - self.bits)).view(np.int64))
        row = self.rows.take(at, axis=0)
        behind = np.flatnonzero(row[:, HASH] < hashes)
        if behind.size:
            self._walk(row, behind, at[behind] + 1, hashes[behind])
        # The row's string equals the value when lengths and first two words are equal (a
        # string of at most 16 bytes) and, for a longer one, its other words. The length
        # check subtracts the value's length from the packed word: it leaves the position
        # exactly when the lengths are equal (else a difference of at least 2 ** 32).
        length = data.lengths.view(np.uint64) << _THIRTY_TWO
        position = np.subtract(row[:, META], length, out=length)
        equal = position <= _LOW
        first, second = lead_words(data)
        equal &= row[:, WORD0] == first
        equal &= row[:, WORD1] == second
        found = np.where(equal, position.view(np.int64), -1)
        if data.width < 0 or data.width > LEAD_BYTES // 8:
            longer = np.flatnonzero(equal & (data.lengths > LEAD_BYTES))
            if longer.size:
                rest = data.same(longer, self.data, found[longer])
                found[longer[~rest]] = -1
        return found

    def _walk(
        self,
        row: npt.NDArray[np.uint64],
        behind: IntArray,
        at: npt.NDArray[np.int32],
        hashes: npt.NDArray[np.uint64],
    ) -> None:
        """Move ``row[behind]`` to the first row at or after ``at`` whose hash is at least
        ``hashes`` (the sentinel's is the largest)."""
        # Rows assigned as one 32-byte item each: 2x faster than a 2-D fancy assignment.
        whole = row.view(_ROW).reshape(-1)
        while behind.size:
            step = self.rows.take(at, axis=0)
            whole[behind] = step.view(_ROW).reshape(-1)
            more = np.flatnonzero(step[:, HASH] < hashes)
            behind, at, hashes = behind[more], at[more] + 1, hashes[more]


def lead_words(
    data: StringBytes,
) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.uint64]]:
    """Each string's first two 8-byte words (0 past its end), as they hash and compare.

    >>> [w.tolist() for w in lead_words(StringBytes.of(pa.array(["", "ab", "abcdefghi"])))]
    [[0, 25185, 7523094288207667809], [0, 0, 105]]
    """
    n = len(data)
    if data.width >= 0:
        block = data.packed.reshape(n, data.width)
        zero = np.zeros(n, dtype=np.uint64)
        return (block[:, 0] if data.width > 0 else zero), (block[:, 1] if data.width > 1 else zero)
    words = data.first[1:] - data.first[:-1]
    padded = np.zeros(data.packed.size + 2, dtype=np.uint64)
    padded[: data.packed.size] = data.packed
    first = padded.take(data.first[:-1])
    second = padded.take(data.first[:-1] + 1)
    first[words < 1] = 0
    second[words < 2] = 0
    return first, second
