"""The three-level search of sorted keys against numpy's searchsorted."""

from __future__ import annotations

from typing import Literal

import numpy as np
import pytest

from dqm.monitors.stats.block_search import BLOCK, MIN_KEYS, MIN_VALUES, BlockIndex

SIDES: tuple[Literal["left", "right"], ...] = ("left", "right")


def _values(kind: int, n: int, rng: np.random.Generator) -> np.ndarray:
    v: np.ndarray
    if kind == 0:
        v = rng.normal(size=n)
    elif kind == 1:  # few distinct values: ties across block and group starts
        v = rng.integers(0, int(rng.integers(1, 400)), n) * 1.0
    elif kind == 2:  # a long run of one value amid continuous ones
        v = np.concatenate([rng.normal(size=n // 2), np.full(n - n // 2, 0.25)])
    elif kind == 3:  # heavy tail: blocks of very different widths
        v = rng.lognormal(0.0, 5.0, n)
    else:  # gaps too small for interpolation's slope (searchsorted finds the blocks)
        v = np.concatenate([np.zeros(n // 3), rng.normal(size=n - n // 3) * 1e-310])
    return np.sort(v)


@pytest.mark.parametrize("seed", range(40))
def test_counts_equal_numpy_searchsorted(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(MIN_VALUES, 40_000))  # mostly not a multiple of 8: a partial group
    values = _values(seed % 5, n, rng)
    m = int(rng.integers(MIN_KEYS, 4000))
    keys = np.concatenate(
        [
            rng.choice(values, m // 2),  # values the reference holds
            rng.normal(size=m - m // 2) * rng.choice([1e-3, 1.0, 1e3]),
            values[:3],
            values[-3:],
            values[::BLOCK][:50],  # block starts: a left search there may end in earlier blocks
            [np.nextafter(values[0], -np.inf), np.nextafter(values[-1], np.inf)],
            [-1e300, 1e300, -np.inf, np.inf],  # beyond the reference's range
        ]
    )
    index = BlockIndex.of(values)
    for ordered in (np.sort(keys), keys):
        for side in SIDES:
            want = values.searchsorted(ordered, side)
            assert index.count(ordered, side).tolist() == want.tolist()


def test_a_window_of_one_value_and_of_values_beyond_the_reference() -> None:
    values = np.sort(np.random.default_rng(1).normal(size=5000))
    index = BlockIndex.of(values)
    for keys in (np.array([0.1]), np.full(MIN_KEYS, 100.0), np.full(MIN_KEYS, -100.0)):
        for side in SIDES:
            assert index.count(keys, side).tolist() == values.searchsorted(keys, side).tolist()


def test_a_reference_of_one_repeated_value() -> None:
    values = np.full(MIN_VALUES + 3, 2.0)
    keys = np.repeat([1.0, 2.0, 3.0], MIN_KEYS)
    index = BlockIndex.of(values)
    for side in SIDES:
        assert index.count(keys, side).tolist() == values.searchsorted(keys, side).tolist()


def test_the_levels_are_small() -> None:
    values = np.sort(np.random.default_rng(2).normal(size=1_000_000))
    assert BlockIndex.of(values).nbytes < values.nbytes / 5


def test_ties_at_block_starts_through_the_levels() -> None:
    """Short runs of ties (values rounded to 3 decimals): the levels search them, and a left
    search of a key equal to a block start may end in an earlier block."""
    rng = np.random.default_rng(4)
    values = np.sort(np.round(rng.normal(size=20_000), 3))
    index = BlockIndex.of(values)
    assert not index.tied and index.interpolate
    keys = np.sort(np.concatenate([values[::BLOCK], rng.choice(values, 2000)]))
    starts = np.arange(BLOCK, values.size, BLOCK)
    assert np.count_nonzero(values[starts - 1] == values[starts]) > 10  # runs across starts
    for side in SIDES:
        assert index.count(keys, side).tolist() == values.searchsorted(keys, side).tolist()


def test_long_runs_of_ties_are_searched_by_numpy() -> None:
    values = np.sort(np.random.default_rng(5).integers(0, 2, 50_000) * 1.0)
    index = BlockIndex.of(values)
    assert index.tied
    keys = np.repeat([0.0, 0.5, 1.0], MIN_KEYS)
    for side in SIDES:
        assert index.count(keys, side).tolist() == values.searchsorted(keys, side).tolist()


def test_an_empty_reference_counts_zero_everywhere() -> None:
    """A column whose reference values are all missing (e.g. a column added after the
    reference) still warms its profile."""
    from dqm.monitors.stats.sorted_reference import SortedReference

    index = BlockIndex.of(np.zeros(0))
    keys = np.linspace(-1.0, 1.0, MIN_KEYS + 5)
    for side in ("left", "right"):
        assert index.count(keys, side).tolist() == [0] * keys.size
    SortedReference.of(np.zeros(0)).warm()
