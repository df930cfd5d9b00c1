"""A window's categories aligned by lookup in the cached profile equal the sorted union."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pyarrow as pa
import pytest

import dqm.monitors.stats.binning as binning
from dqm.monitors.columns import category_column, category_counts, string_hashes
from dqm.monitors.drift.monitor import DriftMonitor, DriftParams
from dqm.monitors.profile import ROWS_PER_LEVEL, CategoricalProfile
from dqm.monitors.schema import ColumnSpec, Schema
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


def _counter_union(
    ref: list[str | None], cur: list[str | None]
) -> tuple[list[str], list[int], list[int]]:
    """The oracle: both windows counted by ``collections.Counter`` over the sorted union."""
    r = Counter(v for v in ref if v is not None)
    c = Counter(v for v in cur if v is not None)
    keys = sorted(set(r) | set(c))
    return keys, [r[k] for k in keys], [c[k] for k in keys]


def _check(
    profile: CategoricalProfile,
    window: pa.ChunkedArray,
    ref: list[str | None],
    cur: list[str | None],
) -> None:
    counts = profile.window_counts(window)
    keys, rc, cc = counts.union()
    assert (keys.tolist(), rc.tolist(), cc.tolist()) == _counter_union(ref, cur)
    assert len(set(counts.seen.tolist())) == counts.seen.size  # each reference category once
    assert len(set(counts.new_keys.tolist())) == counts.new_keys.size
    assert bool(np.all(counts.seen_counts > 0)) and bool(np.all(counts.new_counts > 0))


def _pools(seed: int, uniform: bool) -> tuple[list[str], list[str]]:
    rng = np.random.default_rng(seed)
    if uniform:  # one byte length: the reshaped layout
        known = [f"k{i:05d}" for i in range(300)]
        return known, [f"n{i:05d}" for i in range(50)]
    known = [
        f"{'é' * int(rng.integers(0, 4))}k{i}{'x' * int(rng.integers(0, 12))}" for i in range(300)
    ]
    return known, [f"new{i}{'y' * (i % 9)}" for i in range(50)]


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("uniform", [True, False])
@pytest.mark.parametrize("levels,rows", [(300, 200), (300, 1000), (5, 400)])
def test_window_counts_of_plain_chunked_and_dictionary_windows(
    seed: int, uniform: bool, levels: int, rows: int
) -> None:
    # levels * ROWS_PER_LEVEL >= rows: every row is looked up; below, Arrow counts first.
    assert (levels * ROWS_PER_LEVEL >= rows) == (levels == 300 and rows <= 1200)
    rng = np.random.default_rng(seed)
    known, new = _pools(seed, uniform)
    known = known[:levels]
    ref: list[str | None] = [known[i] for i in rng.integers(0, levels, 3 * levels)] + [None]
    pool: list[str | None] = [*known, *new[: seed * 5], None]
    cur = [pool[i] for i in rng.integers(0, len(pool), rows)]
    cats, counts, n_null = category_counts(pa.table({"c": pa.array(ref, pa.string())}), "c")
    profile = CategoricalProfile(cats, counts, n_null)
    plain = pa.array(cur, pa.string())
    cut = rows // 3
    windows = [
        pa.chunked_array([plain]),
        pa.chunked_array([plain.slice(0, cut), plain.slice(cut)]),  # sliced chunks
        pa.chunked_array([pa.array(cur, pa.large_string())]),
        pa.chunked_array([plain.dictionary_encode()]),
        # Chunks encoded apart: different dictionaries.
        pa.chunked_array([plain[:cut].dictionary_encode(), plain[cut:].dictionary_encode()]),
    ]
    for window in windows:
        _check(profile, window, ref, cur)


def test_dictionary_windows_with_repeated_unused_and_non_string_values() -> None:
    cats, counts, n_null = category_counts(pa.table({"c": ["a", "b", "b", "7"]}), "c")
    profile = CategoricalProfile(cats, counts, n_null)
    # The dictionary repeats "b" and "new", and "unused" is never referenced.
    dictionary = pa.array(["b", "new", "a", "b", "unused", "new"])
    indices = pa.array([0, 3, 1, None, 5, 2, 3, 0], pa.int32())
    window = pa.chunked_array([pa.DictionaryArray.from_arrays(indices, dictionary)])
    cur = [None if i is None else dictionary[i].as_py() for i in indices.to_pylist()]
    _check(profile, window, ["a", "b", "b", "7"], cur)
    numbers = pa.chunked_array([pa.array([7, 7, 3, None]).dictionary_encode()])
    _check(profile, numbers, ["a", "b", "b", "7"], ["7", "7", "3", None])
    _check(
        profile,
        pa.chunked_array([], pa.dictionary(pa.int32(), pa.string())),
        ["a", "b", "b", "7"],
        [],
    )
    # A null in the dictionary itself: rows coded to it are null, not the empty string.
    with_null = pa.DictionaryArray.from_arrays(pa.array([0, 1, 1, 2]), pa.array(["a", None, ""]))
    _check(profile, pa.chunked_array([with_null]), ["a", "b", "b", "7"], ["a", None, None, ""])
    all_null = pa.chunked_array([pa.array([None, None], pa.string()).dictionary_encode()])
    _check(profile, all_null, ["a", "b", "b", "7"], [None, None])


def test_category_column_keeps_dictionaries_and_casts_the_rest() -> None:
    table = pa.table({"d": pa.array(["x", None]).dictionary_encode(), "i": [1, 2]})
    assert pa.types.is_dictionary(category_column(table, "d").type)
    assert category_column(table, "i").to_pylist() == ["1", "2"]


@pytest.mark.parametrize("method", [None, "chisquare", "psi", "kl_div", "tvd"])
def test_drift_run_on_a_dictionary_encoded_window_equals_the_plain_strings(
    method: str | None,
) -> None:
    rng = np.random.default_rng(7)
    pool = np.array(LEVELS, dtype=object)
    ref = pa.table({"c": pa.array(pool[rng.integers(0, len(pool) - 2, 3000)], pa.string())})
    values = [*pool[rng.integers(1, len(pool), 500)], None]
    plain = pa.table({"c": pa.array(values, pa.string())})
    encoded = pa.table({"c": pa.array(values, pa.string()).dictionary_encode()})
    assert pa.types.is_dictionary(category_column(encoded, "c").type)
    schema = Schema(columns=[ColumnSpec(name="c", type="categorical")])
    params = DriftParams(per_column_method={"c": method}) if method else DriftParams()
    want = DriftMonitor().run(ref, plain, schema, params).metric("drift_score", "c")
    got = DriftMonitor().run(ref, encoded, schema, params).metric("drift_score", "c")
    assert got.method == want.method and got.status == want.status == "ok"
    assert got.value == pytest.approx(want.value, rel=1e-12, abs=1e-15)
    assert got.details == want.details
