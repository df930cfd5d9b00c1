"""A numerical pair's count of distinct values, with and without the placed window."""

from __future__ import annotations

import numpy as np
import pytest

import dqm.monitors.drift.methods as methods
from dqm.monitors.profile import numeric_profile


@pytest.mark.parametrize("seed", range(6))
def test_n_distinct_counts_the_union(seed: int) -> None:
    rng = np.random.default_rng(seed)
    scale = [1.0, 4.0, 1e9][seed % 3]  # ties across both windows, within each, none
    ref = np.round(rng.normal(0, 1, 20_000) * scale)
    cur = np.sort(np.round(rng.normal(0.2 * (seed % 2), 1.3, 2_000) * scale))
    prof = numeric_profile(ref)
    indexed = methods.NumericPair(prof.sorted_values, cur, prof.std, profile=prof)
    plain = methods.NumericPair(prof.sorted_values, cur, prof.std)
    assert indexed.placed is not None and plain.placed is None
    want = np.unique(np.concatenate([ref, cur])).size
    assert indexed.n_distinct() == plain.n_distinct() == want
