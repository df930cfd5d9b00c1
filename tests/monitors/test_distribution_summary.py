"""The per-column distribution summary a drift run stores, against numpy.histogram and a
plain count of the values (independent oracles)."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pyarrow as pa

from dqm.monitors.distribution_summary import summarize
from dqm.monitors.schema import ColumnSpec, Schema

SCHEMA = Schema(
    columns=[
        ColumnSpec(name="x", type="numerical"),
        ColumnSpec(name="c", type="categorical"),
        ColumnSpec(name="t", type="text"),
    ]
)


def _tables() -> tuple[pa.Table, pa.Table]:
    rng = np.random.default_rng(7)
    ref_x = rng.normal(0, 1, 5000)
    cur_x = rng.normal(1.5, 2, 3000)
    ref_x[::97] = np.nan
    cur_x[::50] = np.inf
    cats = np.array([f"k{i}" for i in range(30)], dtype=object)
    ref_c = rng.choice(cats, 5000, p=np.arange(30, 0, -1) / np.arange(30, 0, -1).sum())
    cur_c = rng.choice(cats, 3000)
    ref_c[::13] = None
    ref = pa.table({"x": ref_x, "c": ref_c.tolist(), "t": ["a"] * 5000})
    cur = pa.table({"x": cur_x, "c": cur_c.tolist(), "t": ["b"] * 3000})
    return ref, cur


def test_numerical_counts_equal_numpy_histogram_over_both_ranges() -> None:
    ref, cur = _tables()
    s = summarize(ref, cur, SCHEMA, SCHEMA.columns, bins=25)["columns"]
    assert set(s) == {"x", "c"}  # text columns are not summarised
    x = s["x"]
    r = ref.column("x").to_numpy()
    c = cur.column("x").to_numpy()
    r, c = r[np.isfinite(r)], c[np.isfinite(c)]
    edges = np.histogram_bin_edges(np.concatenate([r, c]), bins=25)
    assert (x["min"], x["max"]) == (edges[0], edges[-1])
    assert x["reference"] == np.histogram(r, edges)[0].tolist()
    assert x["current"] == np.histogram(c, edges)[0].tolist()
    assert (x["reference_n"], x["reference_missing"]) == (r.size, 5000 - r.size)
    assert (x["current_n"], x["current_missing"]) == (c.size, 3000 - c.size)


def test_categorical_top_k_and_other_equal_a_plain_count() -> None:
    ref, cur = _tables()
    c = summarize(ref, cur, SCHEMA, SCHEMA.columns, top=5)["columns"]["c"]
    ref_counts = Counter(v for v in ref.column("c").to_pylist() if v is not None)
    cur_counts = Counter(cur.column("c").to_pylist())
    total = ref_counts + cur_counts
    expected = sorted(total, key=lambda k: (-total[k], k))[:5]
    assert c["categories"] == expected
    assert c["reference"] == [ref_counts[k] for k in expected]
    assert c["current"] == [cur_counts[k] for k in expected]
    assert c["reference_other"] == sum(ref_counts.values()) - sum(c["reference"])
    assert c["current_other"] == 3000 - sum(c["current"])
    assert c["reference_missing"] == ref.column("c").null_count


def test_constant_column_has_one_bin_and_empty_side_has_no_range() -> None:
    schema = Schema(columns=[ColumnSpec(name="x", type="numerical")])
    same = summarize(pa.table({"x": [2.0] * 4}), pa.table({"x": [2.0] * 3}), schema, schema.columns)
    assert same["columns"]["x"]["reference"] == [4] and same["columns"]["x"]["current"] == [3]
    empty = summarize(
        pa.table({"x": [None, None]}, schema=pa.schema([("x", pa.float64())])),
        pa.table({"x": [1.0, 3.0]}),
        schema,
        schema.columns,
        bins=2,
    )["columns"]["x"]
    assert empty["reference"] == [0, 0] and empty["current"] == [1, 1]
    assert empty["reference_missing"] == 2
