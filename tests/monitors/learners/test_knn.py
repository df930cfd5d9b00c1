"""Exact k-NN distances against scikit-learn, and the Deep-kNN threshold by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.neighbors import NearestNeighbors

from dqm.monitors.learners.knn import (
    kth_neighbour_distance,
    ood_threshold,
    sample_rows,
    split_reference,
)


@pytest.mark.parametrize("k", [1, 3, 10])
@pytest.mark.parametrize(("query_block", "index_block"), [(1024, 4096), (7, 13), (1, 1)])
def test_kth_distance_matches_sklearn(k: int, query_block: int, index_block: int) -> None:
    rng = np.random.default_rng(1)
    index = rng.normal(size=(120, 4))
    queries = rng.normal(loc=0.5, size=(45, 4))
    expected = NearestNeighbors(n_neighbors=k).fit(index).kneighbors(queries)[0][:, k - 1]
    got = kth_neighbour_distance(queries, index, k, query_block, index_block)
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-9)


def test_query_inside_index_counts_itself_like_sklearn() -> None:
    rng = np.random.default_rng(2)
    index = rng.normal(size=(50, 3)) * 1000.0  # large norms stress |a|²+|b|²-2ab cancellation
    expected = NearestNeighbors(n_neighbors=5).fit(index).kneighbors(index[:20])[0][:, 4]
    got = kth_neighbour_distance(index[:20], index, 5, query_block=8, index_block=16)
    np.testing.assert_allclose(got, expected, rtol=1e-7)
    assert np.all(kth_neighbour_distance(index[:20], index, 1) < 1e-3)


def test_k_larger_than_index_is_rejected() -> None:
    with pytest.raises(ValueError, match="k must be"):
        kth_neighbour_distance(np.zeros((2, 2)), np.zeros((3, 2)), 4)


@pytest.mark.parametrize(("n", "tpr"), [(20, 0.95), (37, 0.95), (100, 0.9), (7, 0.5)])
def test_threshold_is_smallest_value_passing_tpr(n: int, tpr: float) -> None:
    d = np.random.default_rng(n).exponential(size=n)
    lam = ood_threshold(d, tpr)
    by_hand = np.sort(d)[math.ceil(tpr * n) - 1]
    assert lam == by_hand
    assert np.mean(d <= lam) >= tpr
    assert np.mean(d < lam) < tpr  # no smaller value would do


def test_split_is_seeded_disjoint_and_capped() -> None:
    index, held = split_reference(1000, cap=200, holdout_fraction=0.2, seed=7)
    assert (index.size, held.size) == (160, 40)
    assert not set(index) & set(held)
    again = split_reference(1000, cap=200, holdout_fraction=0.2, seed=7)
    assert index.tolist() == again[0].tolist() and held.tolist() == again[1].tolist()
    other = split_reference(1000, cap=200, holdout_fraction=0.2, seed=8)
    assert index.tolist() != other[0].tolist()


def test_sample_rows_without_replacement() -> None:
    rows = sample_rows(10_000, 500, seed=3)
    assert rows.size == 500 and np.unique(rows).size == 500
    assert np.all(np.diff(rows) > 0) and rows.max() < 10_000
