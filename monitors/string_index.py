"""A reference's categories indexed by hash, so a window's strings are found in window time.

Built once per reference version: the categories' 64-bit hashes
(:func:`dqm.monitors.columns.string_hashes`) sorted, with a table of where each bucket of
leading hash bits starts (about four buckets per category), so a lookup reads about one
entry per window string (no binary search, no sort of the window's hashes). A matched hash
is confirmed by comparing the strings (Arrow), so a collision never counts as a match.

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
import pyarrow.compute as pc

from dqm.monitors.columns import IntArray, string_hashes

# About 4 buckets per string: most lookups read one entry (10-15% faster than 1 per bucket);
# at most 2 ** 22 buckets (16 MB of starts), beyond that strings share buckets.
SPARE_BITS = 2
MAX_BITS = 22


@dataclass(frozen=True)
class StringIndex:
    """Hashes of distinct strings, sorted, with their positions and bucket starts."""

    ordered: npt.NDArray[np.uint64]  # the hashes, ascending
    order: IntArray  # position of each sorted hash's string in ``strings``
    strings: pa.Array  # the indexed strings (Arrow string array)
    bits: int  # leading hash bits that pick a bucket
    starts: npt.NDArray[np.int32]  # where each bucket starts in ``ordered`` (2 ** bits + 1)

    @classmethod
    def of(cls, strings: pa.Array) -> StringIndex | None:
        """Index distinct strings; None when two of them share a hash."""
        return cls.of_hashes(string_hashes(strings), strings)

    @classmethod
    def of_hashes(cls, hashes: npt.NDArray[np.uint64], strings: pa.Array) -> StringIndex | None:
        """Index strings by the given hashes (tests forge collisions through this)."""
        order = np.argsort(hashes, kind="stable")
        ordered = hashes[order]
        if ordered.size > 1 and bool(np.any(ordered[1:] == ordered[:-1])):
            return None
        bits = max(1, min(MAX_BITS, math.ceil(math.log2(max(ordered.size, 2))) + SPARE_BITS))
        buckets = (ordered >> np.uint64(64 - bits)).astype(np.int64)
        starts = np.searchsorted(buckets, np.arange((1 << bits) + 1)).astype(np.int32)
        return cls(ordered, order, strings, bits, starts)

    def find(self, values: pa.Array) -> IntArray:
        """Each value's position in ``strings`` (-1: absent); ``values`` has no nulls."""
        found = np.full(len(values), -1, dtype=np.int64)
        if len(values) == 0 or self.ordered.size == 0:
            return found
        hashes = string_hashes(values)
        bucket = (hashes >> np.uint64(64 - self.bits)).astype(np.int64)
        at = self.starts[bucket].astype(np.int64)
        stop = self.starts[bucket + 1]
        match = np.full(hashes.size, -1, dtype=np.int64)
        rows = np.flatnonzero(at < stop)
        pos = at[rows]
        while rows.size:  # walk each bucket (about one hash each) until the hash matches
            same = self.ordered[pos] == hashes[rows]
            match[rows[same]] = pos[same]
            more = ~same & (pos + 1 < stop[rows])
            rows, pos = rows[more], pos[more] + 1
        hit = np.flatnonzero(match >= 0)
        candidate = self.order[match[hit]]
        mine = values if hit.size == len(values) else values.take(hit)
        theirs = self.strings.take(candidate).cast(values.type)
        confirmed = np.asarray(pc.equal(mine, theirs).to_numpy(zero_copy_only=False), dtype=bool)
        found[hit[confirmed]] = candidate[confirmed]
        return found
