"""A reference's categories indexed by hash, so a window's strings are found in window time.

Built once per reference version: the categories' 64-bit hashes
(:func:`dqm.monitors.columns.string_hashes`) sorted, with a table of where each bucket of
leading hash bits starts (about four buckets per category), so a lookup reads about one
entry per window string (no binary search, no sort of the window's hashes). A matched hash
is confirmed by comparing the strings' bytes, so a collision never counts as a match.

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

# About 4 buckets per string: most lookups read one entry (10-15% faster than 1 per bucket);
# at most 2 ** 22 buckets (16 MB of starts), beyond that strings share buckets.
SPARE_BITS = 2
MAX_BITS = 22


@dataclass(frozen=True)
class StringIndex:
    """Hashes of distinct strings, sorted, with their positions and bucket starts."""

    ordered: npt.NDArray[np.uint64]  # the hashes, ascending, then one 0 (see ``find``)
    order: IntArray  # position of each sorted hash's string in ``strings``
    strings: pa.Array  # the indexed strings (Arrow string array)
    bits: int  # leading hash bits that pick a bucket
    starts: npt.NDArray[np.int32]  # where each bucket starts in ``ordered`` (2 ** bits + 1)
    data: StringBytes  # the strings' bytes, to confirm a matched hash

    @classmethod
    def of(cls, strings: pa.Array) -> StringIndex | None:
        """Index distinct strings; None when two of them share a hash."""
        data = StringBytes.of(strings)
        return cls.of_hashes(data.hashes(), strings, data)

    @classmethod
    def of_hashes(
        cls, hashes: npt.NDArray[np.uint64], strings: pa.Array, data: StringBytes | None = None
    ) -> StringIndex | None:
        """Index strings by the given hashes (tests forge collisions through this)."""
        order = np.argsort(hashes, kind="stable")
        ordered = hashes[order]
        if ordered.size > 1 and bool(np.any(ordered[1:] == ordered[:-1])):
            return None
        bits = max(1, min(MAX_BITS, math.ceil(math.log2(max(ordered.size, 2))) + SPARE_BITS))
        buckets = (ordered >> np.uint64(64 - bits)).astype(np.int64)
        starts = np.searchsorted(buckets, np.arange((1 << bits) + 1)).astype(np.int32)
        padded = np.append(ordered, np.uint64(0))
        data = StringBytes.of(strings) if data is None else data
        return cls(padded, order, strings, bits, starts, data)

    @property
    def size(self) -> int:
        return int(self.order.size)

    def find(self, values: pa.Array | StringBytes) -> IntArray:
        """Each value's position in ``strings`` (-1: absent); ``values`` has no nulls."""
        data = values if isinstance(values, StringBytes) else StringBytes.of(values)
        if len(data) == 0 or self.size == 0:
            return np.full(len(data), -1, dtype=np.int64)
        hashes = data.hashes()
        bucket = (hashes >> np.uint64(64 - self.bits)).astype(np.intp)
        at = self.starts[bucket].astype(np.intp)
        stop = self.starts[bucket + 1]
        # First entry of every bucket at once, no row subset: an empty bucket's ``at`` is the
        # next bucket's first hash (other leading bits) or the trailing 0, which only bucket
        # 0 could hold and an empty bucket 0 has at == 0 < size; so neither can match.
        same = self.ordered[at] == hashes
        match = np.where(same, at, -1)
        rows = np.flatnonzero(~same & (stop - at > 1))
        pos = at[rows] + 1
        while rows.size:  # the rest walk their bucket (rare: about 4 buckets per hash)
            same = self.ordered[pos] == hashes[rows]
            match[rows[same]] = pos[same]
            more = ~same & (pos + 1 < stop[rows])
            rows, pos = rows[more], pos[more] + 1
        hit = np.flatnonzero(match >= 0)
        candidate = self.order[match[hit]]
        confirmed = data.same(None if hit.size == len(data) else hit, self.data, candidate)
        found = np.full(len(data), -1, dtype=np.int64)
        found[hit[confirmed]] = candidate[confirmed]
        return found
