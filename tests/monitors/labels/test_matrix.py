"""Column-wise matrix helpers and the partial sorts of confident learning, against numpy."""

from __future__ import annotations

import numpy as np
import pytest

import dqm.monitors.labels.confident_learning as cl
import dqm.monitors.labels.matrix as mx


@pytest.mark.parametrize("k", [1, 2, 3, 7, 8, 9, 10, 16, 17, 31, 130, 300])
def test_row_sums_are_bitwise_numpy_row_major_sums(k: int) -> None:
    rng = np.random.default_rng(k)
    probs = rng.dirichlet(np.full(k, 0.3), size=2000) * rng.lognormal(size=(2000, 1))
    expected = np.ascontiguousarray(probs).sum(axis=1)
    assert np.array_equal(mx.row_sums(np.asfortranarray(probs)), expected)
    assert np.array_equal(mx.row_sums(probs), expected)


def test_row_argmax_max_and_first_true_match_numpy_with_ties() -> None:
    rng = np.random.default_rng(1)
    probs = np.round(rng.random((5000, 6)), 1)  # many ties within a row
    probs[:5, :] = 0.0
    matrix = mx.column_matrix([probs[:, k].copy() for k in range(6)])
    assert matrix.flags.f_contiguous
    assert np.array_equal(mx.row_argmax(matrix), probs.argmax(axis=1))
    assert np.array_equal(mx.row_max(matrix), probs.max(axis=1))
    mask = probs > 0.7
    assert np.array_equal(mx.first_true(mask), mask.argmax(axis=1))


def test_take_rows_keeps_values_and_returns_the_matrix_for_a_full_mask() -> None:
    probs = np.asfortranarray(np.arange(12.0).reshape(6, 2))
    rows = np.array([4, 0, 5])
    assert np.array_equal(mx.take_rows(probs, rows), probs[rows])
    assert mx.take_rows(probs, np.ones(6, dtype=bool)) is probs
    assert np.array_equal(mx.take_rows(probs, probs[:, 0] > 5), probs[probs[:, 0] > 5])


def test_ranked_is_the_descending_argsort() -> None:
    values = np.round(np.random.default_rng(2).random(1000), 2)
    order, scores = mx.ranked(values)
    assert np.array_equal(order, np.argsort(-values))
    assert np.array_equal(scores, values[np.argsort(-values)])


@pytest.mark.parametrize("decimals", [1, 2, 6])
def test_largest_is_the_set_argsort_would_take(decimals: int) -> None:
    rng = np.random.default_rng(decimals)
    values = np.round(rng.normal(size=3000), decimals)  # ties at the boundary for 1-2 decimals
    for count in (1, 7, 100, 1500, 2999, 3000, 4000):
        expected = np.sort(np.argsort(-values)[:count])
        assert np.array_equal(np.sort(cl._largest(values, count)), expected), count


@pytest.mark.parametrize("decimals", [1, 3, 8])
def test_smallest_is_the_stable_argsort_prefix(decimals: int) -> None:
    rng = np.random.default_rng(decimals)
    values = np.round(rng.random(5000), decimals)
    for count in (0, 1, 10, 999, 4999, 5000, 6000):
        expected = np.argsort(values, kind="stable")[:count]
        assert np.array_equal(cl._smallest(values, count), expected), count
    values[::7] = np.nan
    assert np.array_equal(cl._smallest(values, 4500), np.argsort(values, kind="stable")[:4500])


@pytest.mark.parametrize(
    "make",
    [
        lambda rng, n: rng.random(n),  # no ties: the packed-key sort
        lambda rng, n: rng.dirichlet(np.full(10, 0.5), size=n)[:, 0],  # many tiny values
        lambda rng, n: 1.0 - rng.random(n) * 1e-12,  # rows sharing the kept top bits
        lambda rng, n: rng.random(n) * 1e-300,  # subnormal and tiny doubles
        lambda rng, n: np.round(rng.random(n), 3),  # ties: numpy's own order
        lambda rng, n: rng.normal(size=n),  # negatives: numpy's own order
    ],
)
@pytest.mark.parametrize("n", [1, 2, 3, 1000, 300_000])
def test_ranked_is_the_descending_argsort_without_and_with_ties(make: object, n: int) -> None:
    values = make(np.random.default_rng(n), n)  # type: ignore[operator]
    order, scores = mx.ranked(values)
    expected = np.argsort(-values)
    assert order.dtype == np.int64
    assert np.array_equal(order, expected)
    assert np.array_equal(scores, values[expected])


def test_ranked_with_nan_and_signed_zeros_is_the_argsort() -> None:
    values = np.abs(np.random.default_rng(3).normal(size=500))
    values[[4, 9]] = 0.0, -0.0
    assert np.array_equal(mx.ranked(values).order, np.argsort(-values))
    values[7] = np.nan
    assert np.array_equal(mx.ranked(values).order, np.argsort(-values))


def test_numeric_matrix_reads_columns_as_numeric_values() -> None:
    import pyarrow as pa

    from dqm.monitors.columns import numeric_values

    table = pa.table(
        {
            "f": pa.chunked_array([[0.5, None, float("inf")], [float("-inf"), 2.0]]),
            "i": pa.array([1, 2, None, 4, 5], type=pa.int32()),
            "h": pa.array(np.array([0.25, 1, 2, 3, np.inf], dtype=np.float32)),
        }
    )
    got = mx.numeric_matrix(table, ["f", "i", "h"])
    expected = np.column_stack([numeric_values(table, c) for c in ["f", "i", "h"]])
    assert got.flags.f_contiguous
    assert np.array_equal(got, expected, equal_nan=True)
    assert mx.numeric_matrix(table.slice(0, 0), ["f"]).shape == (0, 1)


def test_complete_rows_are_the_rows_without_nan() -> None:
    probs = np.random.default_rng(4).random((1000, 5))
    probs[probs < 0.05] = np.nan
    expected = ~np.isnan(probs).any(axis=1)
    assert np.array_equal(mx.complete_rows(np.asfortranarray(probs)), expected)
    assert np.array_equal(mx.complete_rows(probs), expected)
