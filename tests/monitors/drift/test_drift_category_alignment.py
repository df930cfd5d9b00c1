"""A window's categories aligned by lookup in the cached profile equal the sorted union."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

import dqm.monitors.stats.binning as binning
from dqm.monitors.columns import category_counts, string_hashes
from dqm.monitors.profile import CategoricalProfile
from dqm.monitors.string_index import StringIndex

LEVELS = ["a", "b", "B", "é", "ä", "zz", "z", "", " a", "10", "9", "ß", "日本"]


def _aligned_both_ways(ref: list[str | None], cur: list[str | None]) -> None:
    cats, counts, n_null = category_counts(pa.table({"c": pa.array(ref, pa.string())}), "c")
    profile = CategoricalProfile(cats, counts, n_null)
    window = pa.table({"c": pa.array(cur, pa.string())})
    keys, rc, cc = profile.aligned(window.column("c"))
    wk, wc, _ = category_counts(window, "c")
    want_keys, want_ref, want_cur = binning.align_counts(cats, counts, wk, wc)
    assert keys.tolist() == want_keys.tolist() == sorted({v for v in ref + cur if v is not None})
    assert rc.tolist() == want_ref.tolist()
    assert cc.tolist() == want_cur.tolist()
    assert cc.sum() == sum(v is not None for v in cur)


@pytest.mark.parametrize("seed", range(40))
def test_aligned_counts_equal_the_sorted_union(seed: int) -> None:
    rng = np.random.default_rng(seed)
    pool: list[str | None] = [*LEVELS, None]
    ref = [pool[i] for i in rng.integers(0, len(pool) - 3, int(rng.integers(0, 60)))]
    cur = [pool[i] for i in rng.integers(2, len(pool), int(rng.integers(0, 60)))]
    _aligned_both_ways(ref, cur)


def test_edge_windows() -> None:
    _aligned_both_ways([], ["x", "y", "x"])  # empty reference: every category is new
    _aligned_both_ways(["x", None], [None, None])  # all-null window
    _aligned_both_ways(["b", "d"], ["a", "c", "e", "e"])  # new before, between and after
    _aligned_both_ways(["b", "d"], ["d", "b"])  # no new category


def test_a_hash_shared_with_another_string_is_not_a_match() -> None:
    # The reference's hash of "b" is replaced by the hash of "q" (a collision, as if they
    # hashed alike): the lookup finds the hash, compares the strings, and must count "q" as
    # a new category.
    cats, counts, n_null = category_counts(pa.table({"c": ["a", "b", "b"]}), "c")
    profile = CategoricalProfile(cats, counts, n_null)
    index = profile._hash_index
    assert index is not None
    forged = string_hashes(index.strings)
    forged[1] = string_hashes(pa.array(["q"]))[0]
    profile.__dict__["_hash_index"] = StringIndex.of_hashes(forged, index.strings)
    keys, ref, cur = profile.aligned(pa.chunked_array([["q", "a", "q"]]))
    assert keys.tolist() == ["a", "b", "q"]
    assert (ref.tolist(), cur.tolist()) == ([1, 2, 0], [1, 0, 2])


def test_reference_categories_sharing_a_hash_are_looked_up_by_string() -> None:
    cats, counts, n_null = category_counts(pa.table({"c": ["a", "b", "b"]}), "c")
    profile = CategoricalProfile(cats, counts, n_null)
    profile.__dict__["_hash_index"] = None  # what a collision among the categories gives
    keys, ref, cur = profile.aligned(pa.chunked_array([["b", "c"]]))
    assert (keys.tolist(), ref.tolist(), cur.tolist()) == (["a", "b", "c"], [1, 2, 0], [0, 1, 1])


def test_large_string_and_sliced_windows_are_read_from_their_buffers() -> None:
    cats, counts, n_null = category_counts(pa.table({"c": LEVELS}), "c")
    profile = CategoricalProfile(cats, counts, n_null)
    window = pa.array(["zz", "日本", "new", "", "zz", "x"], pa.large_string()).slice(1, 4)
    keys, ref, cur = profile.aligned(pa.chunked_array([window]))
    want = dict(zip(keys.tolist(), cur.tolist(), strict=True))
    assert {k: v for k, v in want.items() if v} == {"日本": 1, "new": 1, "": 1, "zz": 1}
    assert ref.sum() == len(LEVELS)


def test_index_walks_buckets_holding_many_hashes() -> None:
    # Forged hashes: all in bucket 0 (leading bits 0), so every lookup walks the bucket.
    strings = pa.array([f"s{i}" for i in range(64)])
    forged = np.arange(64, dtype=np.uint64)[::-1].copy()
    index = StringIndex.of_hashes(forged, strings)
    assert index is not None and int(index.starts[1]) == 64
    real = StringIndex.of(strings)
    assert real is not None
    # A window string is found only where its real hash equals a forged one: compare with a
    # dict of the forged hashes (positions 0..63 hold 63..0).
    window = pa.array(["s3", "s70", "s63", "s0"])
    got = index.find(window).tolist()
    want = []
    for s, h in zip(window.to_pylist(), string_hashes(window).tolist(), strict=True):
        pos = 63 - h if h < 64 else -1
        want.append(pos if pos >= 0 and f"s{pos}" == s else -1)
    assert got == want
    assert real.find(window).tolist() == [3, -1, 63, 0]


@pytest.mark.parametrize("n", [1, 2, 3, 1000, 5000])
def test_index_finds_every_string_and_no_other(n: int) -> None:
    rng = np.random.default_rng(n)
    pool = [f"{'x' * int(k % 23)}{k}" for k in range(2 * n)]
    strings = pa.array(pool[:n])
    index = StringIndex.of(strings)
    assert index is not None
    picks = rng.integers(0, 2 * n, 3 * n)
    window = pa.array([pool[i] for i in picks], pa.large_string())
    assert index.find(window).tolist() == [int(i) if i < n else -1 for i in picks]
