"""A window's categories aligned by lookup in the cached profile equal the sorted union."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

import dqm.monitors.stats.binning as binning
from dqm.monitors.columns import category_counts
from dqm.monitors.profile import CategoricalProfile

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
