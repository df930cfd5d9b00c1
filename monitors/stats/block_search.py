"""``searchsorted`` of many keys into a large sorted array, in three cheap levels.

numpy's ``searchsorted`` bisects ~20 levels per key into a million values, most of them cache
misses with a mispredicted branch (~85 ns a key). For a whole window of keys this index does:

1. ``np.interp`` on every ``BLOCK``-th value (in cache) finds each key's block: for sorted keys
   its bisection starts from the previous key's answer, so a key costs a few comparisons;
2. the block's every ``GROUP``-th value, gathered for all keys at once (one ``(GROUP, m)``
   gather from a small table), compared with the keys and counted, gives the group;
3. the group's ``GROUP`` values (one 64-byte row, one cache line) compared and counted give
   the position.

Each level is a handful of whole-array numpy operations, so 10,000 keys cost about half of
``searchsorted``'s time. Results equal ``values.searchsorted(keys, side)`` exactly (keys
without NaN).

>>> values = np.repeat(np.arange(1000.0), 3)
>>> index = BlockIndex.of(values)
>>> keys = np.array([-1.0, 5.0, 5.5, 999.0, 2000.0])
>>> index.count(keys, "left").tolist(), index.count(keys, "right").tolist()
([0, 15, 18, 2997, 3000], [0, 18, 18, 3000, 3000])
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from dqm.monitors.columns import FloatArray, IntArray

# Values per block found by interpolation, and per group compared at once (8 float64: one
# cache line). A block is GROUP groups, so the middle level is one row of GROUP values.
BLOCK = 64
GROUP = 8
# Below these sizes numpy's searchsorted is cheaper than the levels' fixed cost.
MIN_VALUES = 4 * BLOCK * GROUP
MIN_KEYS = 512
# 1 / (gap between block starts) must not overflow in np.interp's slope (its result would be
# inf); a reference with smaller positive gaps finds its blocks with searchsorted instead.
MIN_INTERP_GAP = 1e-300
# A reference whose block starts mostly equal their predecessor (runs of tied values longer
# than a block, e.g. 0/1 columns) is searched by numpy: most keys would equal a block start,
# where a left search can end in an earlier block and is searched directly anyway.
MAX_TIED_STARTS = 0.5
# Multiplying 8 bytes of 0 or 1 by this sums them into the top byte.
_BYTE_SUM = np.uint64(0x0101010101010101)
_TOP_BYTE = np.uint64(56)


@dataclass(frozen=True)
class BlockIndex:
    """The levels of a sorted array's search, built once (about 1/6 of the array's size).

    ``starts``: every ``BLOCK``-th value; ``floor``: ``-inf`` then ``starts`` (the start of
    the block before each interpolation result); ``marks[k, b]``: the value at
    ``b * BLOCK + k * GROUP`` (``inf`` past the end); ``groups``: the full groups of
    ``GROUP`` values (a view), ``tail``: the values after them. ``interpolate``: the block
    starts are finite and no two differ by less than ``MIN_INTERP_GAP``; ``tied``: more than
    ``MAX_TIED_STARTS`` of them equal their predecessor (numpy searches those references).
    """

    values: FloatArray
    starts: FloatArray
    ranks: FloatArray
    floor: FloatArray
    marks: FloatArray
    groups: FloatArray
    tail: FloatArray
    interpolate: bool
    tied: bool

    @classmethod
    def of(cls, values: FloatArray) -> BlockIndex:
        """The index of a sorted array (an empty one searches with numpy, as small ones do)."""
        starts = values[::BLOCK].copy()
        k = starts.size
        marks = np.full(k * GROUP, np.inf)
        every = values[::GROUP]
        marks[: every.size] = every
        full = values.size // GROUP
        gaps = np.diff(starts)
        return cls(
            values=values,
            starts=starts,
            ranks=np.arange(1.0, k + 1.0),
            floor=np.concatenate([[-np.inf], starts]),
            marks=np.ascontiguousarray(marks.reshape(k, GROUP).T),
            groups=values[: full * GROUP].reshape(full, GROUP),
            tail=values[full * GROUP :],
            interpolate=k > 0
            and bool(np.isfinite(starts[[0, -1]]).all())
            and not bool(np.any((gaps > 0) & (gaps < MIN_INTERP_GAP))),
            tied=bool(np.count_nonzero(gaps == 0) > MAX_TIED_STARTS * gaps.size),
        )

    @property
    def nbytes(self) -> int:
        """Memory held beyond ``values`` (``groups`` and ``tail`` are views)."""
        return self.starts.nbytes + self.ranks.nbytes + self.floor.nbytes + self.marks.nbytes

    def count(self, keys: FloatArray, side: Literal["left", "right"]) -> IntArray:
        """``values.searchsorted(keys, side)``: how many values are below (``left``) or at or
        below (``right``) each key."""
        v = self.values
        if v.size < MIN_VALUES or keys.size < MIN_KEYS or self.tied:
            return v.searchsorted(keys, side)
        strict = side == "left"
        # Level 1: j = how many block starts are <= key (interp returns j + a fraction in
        # [0, 1], rounded at most up to j + 1, which the floor check takes back).
        if self.interpolate:
            j = np.interp(keys, self.starts, self.ranks, left=0.0).astype(np.int64)
            j -= self.floor[j] > keys
        else:
            j = self.starts.searchsorted(keys, "right")
        start = self.floor[j]
        block = j
        block -= 1
        np.maximum(block, 0, out=block)
        # Level 2: the groups of the block whose first value is below the key.
        marks = np.take(self.marks, block, axis=1)
        below = np.less(marks, keys) if strict else np.less_equal(marks, keys)
        group = below.sum(axis=0, dtype=np.uint8).astype(np.int64)
        group -= 1
        np.maximum(group, 0, out=group)
        group += block * GROUP
        # Level 3: the values of that group below the key, 8 bytes of 0/1 summed at once.
        full = self.groups.shape[0]
        row = np.minimum(group, full - 1)
        cells = np.take(self.groups, row, axis=0)
        hit = np.less(cells, keys[:, None]) if strict else np.less_equal(cells, keys[:, None])
        sums = hit.view(np.uint64).reshape(-1)
        sums *= _BYTE_SUM
        sums >>= _TOP_BYTE
        out: IntArray = row * GROUP
        out += sums.view(np.int64)
        if self.tail.size:  # the keys whose group is the last, incomplete one
            late = np.flatnonzero(group >= full)
            if late.size:
                out[late] = full * GROUP + self.tail.searchsorted(keys[late], side)
        if strict:
            # A key equal to its block's first value may have equal values in earlier
            # blocks: those keys are searched directly.
            tied = np.flatnonzero(start == keys)
            if tied.size:
                out[tied] = v.searchsorted(keys[tied], side)
        return out
