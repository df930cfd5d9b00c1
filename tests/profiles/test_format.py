"""Mergeable profiles against exact numpy/collections computations on the same rows: exact parts
equal, sketches within their stated bounds, merge order irrelevant, the wire format lossless
and strict."""

from __future__ import annotations

import math
import struct
from collections import Counter

import numpy as np
import pyarrow as pa
import pytest

from dqm.monitors.schema import Schema
from dqm.monitors.sketches.table import profile_table
from dqm_client.profiles.batch import BatchProfile, merge_all
from dqm_client.profiles.categorical import EXACT_CATEGORY_CAP, CategoricalProfile
from dqm_client.profiles.codec import ProfileFormatError, decode, encode, json_view
from dqm_client.profiles.numeric import NumericProfile

RNG = np.random.default_rng(20261129)


def chunks(values: np.ndarray, n: int) -> list[np.ndarray]:
    cuts = np.sort(RNG.choice(np.arange(1, values.size), n - 1, replace=False))
    return np.split(values, cuts)


def exact_rank(sorted_values: np.ndarray, x: float) -> tuple[float, float]:
    """The share of values < x and <= x."""
    n = sorted_values.size
    lo = np.searchsorted(sorted_values, x, side="left") / n
    hi = np.searchsorted(sorted_values, x, side="right") / n
    return float(lo), float(hi)


def test_numeric_exact_parts_equal_numpy_whatever_the_merge_order() -> None:
    values = RNG.lognormal(3, 1.2, 400_000)
    values[RNG.choice(values.size, 5_000, replace=False)] = np.nan
    parts = [NumericProfile.of(c) for c in chunks(values, 37)]
    orders = [parts, parts[::-1], [parts[i] for i in RNG.permutation(len(parts))]]
    present = values[~np.isnan(values)]
    for order in orders:
        merged = order[0]
        for p in order[1:]:
            merged = merged.merge(p)
        assert merged.count == present.size and merged.nulls == 5_000
        assert merged.minimum == present.min() and merged.maximum == present.max()
        assert merged.mean == pytest.approx(present.mean(), rel=1e-12)
        assert merged.variance == pytest.approx(np.var(present, ddof=1), rel=1e-10)


def test_a_tree_of_merges_equals_a_chain_within_the_sketch_bound() -> None:
    values = np.concatenate([RNG.normal(0, 1, 1_000_000), RNG.exponential(2, 1_000_000)])
    parts = [NumericProfile.of(c) for c in chunks(values, 64)]
    chain = parts[0]
    for p in parts[1:]:
        chain = chain.merge(p)
    tree = parts
    while len(tree) > 1:  # pairwise, as Spark's treeAggregate merges partitions
        tree = [
            tree[i].merge(tree[i + 1]) if i + 1 < len(tree) else tree[i]
            for i in range(0, len(tree), 2)
        ]
    exact = np.sort(values)
    for merged in (chain, tree[0]):
        eps = merged.rank_error
        assert 0 < eps < 0.005  # k = 800: 0.45% over all ranks
        for q in np.linspace(0.001, 0.999, 199):
            lo, hi = exact_rank(exact, merged.quantile(float(q)))
            assert lo - eps <= q <= hi + eps, (q, lo, hi, eps)
    # The two merge orders give CDFs no further apart than both bounds together.
    grid = np.quantile(exact, np.linspace(0.01, 0.99, 99))
    gap = np.abs(chain.cdf(grid) - tree[0].cdf(grid)).max()
    assert gap <= chain.rank_error + tree[0].rank_error


def test_small_inputs_are_exact() -> None:
    values = RNG.normal(size=500)
    profile = NumericProfile.of(values)
    assert profile.rank_error == 0.0
    exact = np.sort(values)
    grid = np.sort(RNG.normal(size=50))
    expected = np.searchsorted(exact, grid, side="right") / exact.size
    np.testing.assert_allclose(profile.cdf(grid), expected)


def test_fixed_bins_count_as_numpy_and_add_up() -> None:
    edges = np.array([-np.inf, -1.0, 0.0, 1.0, np.inf])
    a, b = RNG.normal(size=10_000), RNG.normal(0.5, 1, size=7_000)
    merged = NumericProfile.of(a, edges).merge(NumericProfile.of(b, edges))
    expected, _ = np.histogram(np.concatenate([a, b]), bins=edges)
    assert merged.bin_counts is not None
    assert merged.bin_counts.tolist() == expected.tolist()
    other_edges = NumericProfile.of(b, np.array([0.0, 1.0]))
    assert NumericProfile.of(a, edges).merge(other_edges).bin_counts is None  # never mixed
    assert NumericProfile().merge(NumericProfile.of(a, edges)).bin_counts is not None


def test_categories_are_exact_up_to_the_cap_then_within_the_sketch_error() -> None:
    picks = RNG.choice(4, 10_000, p=[0.5, 0.3, 0.1, 0.1])
    few = [("a", "b", "c", None)[i] for i in picks]
    halves = CategoricalProfile.of(few[:4000]).merge(CategoricalProfile.of(few[4000:]))
    truth = Counter(v for v in few if v is not None)
    assert halves.is_exact and halves.counts() == dict(truth)
    assert halves.nulls == few.count(None) and halves.count == sum(truth.values())

    # Zipf-like: many levels, some heavy.
    levels = RNG.zipf(1.3, 300_000) % 50_000
    values = [f"v{x}" for x in levels]
    parts = [CategoricalProfile.of(values[i : i + 30_000]) for i in range(0, len(values), 30_000)]
    merged = merge_all_categorical(parts)
    assert not merged.is_exact and merged.count == len(values)
    truth = Counter(values)
    error = merged.count_error
    assert 0 < error <= 0.001 * len(values)
    estimates = merged.counts()
    for value, n in truth.most_common(50):
        assert abs(estimates[value] - n) <= error, (value, n, estimates[value])
    assert len(truth) > EXACT_CATEGORY_CAP


def merge_all_categorical(parts: list[CategoricalProfile]) -> CategoricalProfile:
    merged = parts[0]
    for p in parts[1:]:
        merged = merged.merge(p)
    return merged


def table_and_schema() -> tuple[pa.Table, Schema]:
    n = 20_000
    table = pa.table(
        {
            "id": [f"r{i}" for i in range(n)],
            "age": pa.array(RNG.normal(40, 10, n)).fill_null(0),
            "plan": pa.array(RNG.choice(["basic", "pro"], n)).dictionary_encode(),
            "score": pa.array([None if i % 10 == 0 else float(i) for i in range(n)]),
        }
    )
    schema = Schema.model_validate(
        {
            "columns": [
                {"name": "id", "type": "categorical", "role": "id"},
                {"name": "age", "type": "numerical"},
                {"name": "plan", "type": "categorical"},
                {"name": "score", "type": "numerical", "role": "prediction"},
            ]
        }
    )
    return table, schema


def test_a_table_profile_round_trips_through_the_wire_format() -> None:
    table, schema = table_and_schema()
    edges = {"age": np.array([0.0, 30.0, 40.0, 50.0, 100.0])}
    profile = profile_table(table, schema, edges, reference_version=3)
    assert sorted(profile.columns) == ["age", "plan", "score"]  # ids are not profiled
    back = decode(encode(profile))
    assert back.rows == 20_000 and back.reference_version == 3
    age, back_age = profile.columns["age"], back.columns["age"]
    assert isinstance(age, NumericProfile) and isinstance(back_age, NumericProfile)
    assert (back_age.count, back_age.mean, back_age.m2) == (age.count, age.mean, age.m2)
    assert back_age.bin_counts is not None and age.bin_counts is not None
    assert back_age.bin_counts.tolist() == age.bin_counts.tolist()
    assert back_age.quantile(0.3) == age.quantile(0.3)
    assert back.columns["score"].nulls == 2_000
    plan, back_plan = profile.columns["plan"], back.columns["plan"]
    assert isinstance(plan, CategoricalProfile) and isinstance(back_plan, CategoricalProfile)
    assert back_plan.counts() == plan.counts()
    assert sorted(plan.counts()) == ["basic", "pro"] and sum(plan.counts().values()) == 20_000
    view = json_view(back)
    assert view["columns"]["plan"]["top"] == plan.counts()
    assert view["columns"]["age"]["quantiles"]["0.5"] == pytest.approx(40, abs=1)
    assert len(encode(profile)) < 60_000  # three columns, 20k rows


def test_merged_table_profiles_keep_columns_and_reference_version() -> None:
    table, schema = table_and_schema()
    halves = [
        profile_table(table.slice(0, 5000), schema, reference_version=2),
        profile_table(table.slice(5000), schema, reference_version=2),
    ]
    merged = merge_all(halves)
    whole = profile_table(table, schema, reference_version=2)
    assert merged.rows == whole.rows and merged.reference_version == 2
    for name in whole.columns:
        assert merged.columns[name].count == whole.columns[name].count
        assert merged.columns[name].nulls == whole.columns[name].nulls
    assert merge_all([]).rows == 0
    mixed = halves[0].merge(BatchProfile(rows=1, reference_version=5))
    assert mixed.reference_version is None  # bins of two versions are not comparable


@pytest.mark.parametrize(
    "mutate, reason",
    [
        (lambda b: b[:3], "shorter than the profile preamble"),
        (lambda b: b"XXXX" + b[4:], "magic bytes"),
        (lambda b: b[:4] + bytes([9]) + b[5:], "format version 9"),
        (lambda b: b[:5] + struct.pack("<I", 10**9) + b[9:], "cut short"),
        (lambda b: b[:-20], "malformed"),
    ],
)
def test_malformed_profiles_are_refused_with_the_reason(mutate, reason) -> None:  # type: ignore[no-untyped-def]
    table, schema = table_and_schema()
    data = encode(profile_table(table, schema))
    with pytest.raises(ProfileFormatError, match=reason):
        decode(mutate(data))


def test_an_empty_column_has_no_fake_extremes() -> None:
    profile = NumericProfile.of(np.array([np.nan, np.nan]))
    view = json_view(BatchProfile(rows=2, columns={"x": profile}))["columns"]["x"]
    assert view["min"] is None and view["max"] is None and view["quantiles"] == {}
    back = decode(encode(BatchProfile(rows=2, columns={"x": profile}))).columns["x"]
    assert isinstance(back, NumericProfile) and math.isinf(back.minimum) and back.nulls == 2
