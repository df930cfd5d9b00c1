"""dqm.monitors.stats.ecdf against empirical CDFs computed by binary search (numpy)."""

from __future__ import annotations

import numpy as np
import pytest

import dqm.monitors.stats.ecdf as ecdf


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_merged_cdf_gap_matches_searchsorted(seed: int) -> None:
    rng = np.random.default_rng(seed)
    ref = np.sort(rng.integers(0, 20, 300) * 0.5)  # many ties, within and across samples
    cur = np.sort(rng.integers(5, 25, 170) * 0.5)
    merged, gap = ecdf.merged_cdf_gap(ref, cur)
    np.testing.assert_array_equal(merged, np.sort(np.concatenate([ref, cur])))
    # At the last position of a run of ties both CDFs are complete at that value.
    last = np.append(merged[1:] != merged[:-1], True)
    values = merged[last]
    want = (
        np.searchsorted(ref, values, "right") / ref.size
        - np.searchsorted(cur, values, "right") / cur.size
    )
    np.testing.assert_allclose(gap[last], want, atol=1e-15)
