"""dqm.monitors.stats.binning against numpy's histograms and Evidently's binning."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from evidently.legacy.calculations.stattests.utils import get_binned_data
from evidently.legacy.core import ColumnType

import dqm.monitors.stats.binning as binning
from tests.monitors.stats.samples import samples

SEEDS = [0, 1, 2]


@pytest.mark.parametrize("seed", SEEDS)
def test_sturges_histogram_matches_numpy(seed: int) -> None:
    a, b = samples(seed, 1234, 567)
    edges = binning.sturges_edges(a, b)
    np.testing.assert_array_equal(edges, np.histogram_bin_edges(np.concatenate([a, b]), "sturges"))
    np.testing.assert_array_equal(binning.sorted_histogram(a, edges), np.histogram(a, edges)[0])
    np.testing.assert_array_equal(binning.sorted_histogram(b, edges), np.histogram(b, edges)[0])


def test_sturges_histogram_on_bin_edges_and_constant() -> None:
    a = np.array([0.0, 1.0, 2.0, 3.0, 4.0])
    edges = binning.sturges_edges(a, a)
    np.testing.assert_array_equal(binning.sorted_histogram(a, edges), np.histogram(a, edges)[0])
    c = np.array([7.0, 7.0])
    np.testing.assert_array_equal(
        binning.sturges_edges(c, c), np.histogram_bin_edges(np.concatenate([c, c]), "sturges")
    )


def test_fill_empty_bins_small_minimum_matches_evidently() -> None:
    ref = pd.Series(["a"] * 20000 + ["b"])
    cur = pd.Series(["a", "c"])
    ev_ref, ev_cur = get_binned_data(ref, cur, ColumnType.Categorical, 30, True)
    keys, rc, cc = binning.align_counts(
        np.array(["a", "b"], dtype=object), np.array([20000, 1]),
        np.array(["a", "c"], dtype=object), np.array([1, 1]),
    )  # fmt: skip
    assert keys.tolist() == ["a", "b", "c"]
    got_ref = binning.fill_empty_bins(rc / rc.sum())
    got_cur = binning.fill_empty_bins(cc / cc.sum())
    # Evidently orders the keys as a Python set does; the multiset of frequencies is what counts.
    np.testing.assert_allclose(np.sort(got_ref), np.sort(ev_ref), rtol=1e-15)
    np.testing.assert_allclose(np.sort(got_cur), np.sort(ev_cur), rtol=1e-15)
    assert got_ref[2] == pytest.approx(1 / 20001 / 1e6)


def test_sorted_value_counts_matches_numpy() -> None:
    v = np.sort(np.random.default_rng(0).integers(0, 7, 500) * 1.5)
    keys, counts = binning.sorted_value_counts(v)
    want_keys, want_counts = np.unique(v, return_counts=True)
    np.testing.assert_array_equal(keys, want_keys)
    np.testing.assert_array_equal(counts, want_counts)
