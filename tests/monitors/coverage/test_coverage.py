"""The coverage monitor's column and slice metrics on hand-built cases with known answers."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from pydantic import ValidationError

from dqm.monitors.base import MonitorResult
from dqm.monitors.coverage.monitor import CoverageMonitor, CoverageParams
from dqm.monitors.errors import InvalidInputError
from dqm.monitors.kinds import parse_params
from dqm.monitors.schema import ColumnSpec, Schema


def run(ref: pa.Table, cur: pa.Table, schema: Schema, **params: Any) -> MonitorResult:
    return CoverageMonitor().run(ref, cur, schema, CoverageParams(**params))


def cat_schema(*names: str) -> Schema:
    return Schema(columns=[ColumnSpec(name=n, type="categorical") for n in names])


REF_C = ["a"] * 5 + ["b"] * 3 + ["c", "d"]
CUR_C = ["a"] * 4 + ["c"] * 2 + ["x"] * 3 + ["y"] + [None, None]


def test_category_coverage_by_hand() -> None:
    r = run(pa.table({"c": REF_C}), pa.table({"c": CUR_C}), cat_schema("c"))
    row = r.metric("category_row_coverage", "c")
    assert row.value == pytest.approx(6 / 10)  # a, c seen; x, y not; nulls excluded
    assert row.details["unseen_categories"] == 2
    assert row.details["top_unseen"] == [["x", 3], ["y", 1]]
    assert r.value("reference_category_coverage", "c") == pytest.approx(2 / 4)
    assert r.value("reference_category_mass_coverage", "c") == pytest.approx((5 + 1) / 10)


def test_min_reference_support_makes_rare_categories_unseen() -> None:
    r = run(
        pa.table({"c": REF_C}), pa.table({"c": CUR_C}), cat_schema("c"), min_reference_support=2
    )
    row = r.metric("category_row_coverage", "c")
    assert row.value == pytest.approx(4 / 10)  # only a (5) and b (3) have support >= 2
    assert row.details["top_unseen"] == [["x", 3], ["c", 2], ["y", 1]]
    # Findings: never-seen x, y (rarity 1) before c (seen once of the 2 needed: rarity 0.5).
    assert [(f.row_id, f.score) for f in r.findings] == [
        ("6", 1.0),
        ("7", 1.0),
        ("8", 1.0),
        ("9", 1.0),
        ("4", 0.5),
        ("5", 0.5),
    ]
    assert r.findings[0].details["value"] == "x" and r.findings[-1].details["reference_count"] == 1
    assert {f.reason for f in r.findings} == {"uncovered"}


def test_findings_use_the_id_column_and_are_capped() -> None:
    schema = Schema(
        columns=[
            ColumnSpec(name="c", type="categorical"),
            ColumnSpec(name="id", type="categorical", role="id"),
        ]
    )
    cur = pa.table({"c": CUR_C, "id": [f"r{i}" for i in range(len(CUR_C))]})
    r = run(pa.table({"c": REF_C, "id": ["x"] * 10}), cur, schema, max_findings=2)
    assert [f.row_id for f in r.findings] == ["r6", "r7"]
    assert all(f.column == "c" for f in r.findings)


def test_numeric_range_coverage_against_numpy_quantile() -> None:
    rng = np.random.default_rng(5)
    ref, cur = rng.normal(size=1000), rng.normal(scale=1.5, size=400)
    lo, hi = np.quantile(ref, [0.01, 0.9])
    schema = Schema(columns=[ColumnSpec(name="x", type="numerical")])
    r = run(pa.table({"x": ref}), pa.table({"x": cur}), schema, q_lo=0.01, q_hi=0.9)
    m = r.metric("numeric_range_coverage", "x")
    assert m.value == pytest.approx(np.mean((cur >= lo) & (cur <= hi)))
    assert (m.details["lo"], m.details["hi"]) == pytest.approx((lo, hi))
    assert m.details["expected"] == pytest.approx(0.89)
    assert m.details["standard_error"] == pytest.approx(np.sqrt(0.89 * 0.11 / 400))


def test_numeric_range_coverage_ignores_missing_values() -> None:
    schema = Schema(columns=[ColumnSpec(name="x", type="numerical")])
    ref = pa.table({"x": np.arange(1001.0)})
    cur = pa.table({"x": [500.0, None, float("nan"), 2000.0]})
    m = run(ref, cur, schema).metric("numeric_range_coverage", "x")
    assert (m.value, m.details["n"]) == (0.5, 2)


def test_range_coverage_on_reference_distribution_is_binomial() -> None:
    rng = np.random.default_rng(11)
    schema = Schema(columns=[ColumnSpec(name="x", type="numerical")])
    ref, cur = pa.table({"x": rng.normal(size=200_000)}), pa.table({"x": rng.normal(size=20_000)})
    m = run(ref, cur, schema, sample_size=10).metric("numeric_range_coverage", "x")
    se = np.sqrt(0.99 * 0.01 / 20_000)
    assert m.details["expected"] == pytest.approx(0.99)
    assert m.details["standard_error"] == pytest.approx(se)
    assert m.value is not None and abs(m.value - 0.99) <= 3 * se


def test_slice_share_of_categorical_pair_by_hand() -> None:
    ref = pa.table(
        {
            "a": ["p"] * 20 + ["q"] * 12,
            "b": ["u"] * 10 + ["v"] * 10 + ["u"] * 10 + ["v"] * 2,
        }
    )
    cur = pa.table({"a": ["q"] * 4 + ["p"] * 5 + ["r"], "b": ["v"] * 4 + ["u"] * 6})
    m = run(ref, cur, cat_schema("a", "b")).metric("slice_uncovered_share")
    # (q, v) has 2 < 5 reference rows, (r, u) none: 5 of 10 current rows are uncovered.
    # By chance: each of the 2 (q, v) reference rows has 1 < 5 other rows in its cell, each
    # row of a 10-row cell 9: 2 of 32 reference rows are uncovered leaving themselves out.
    assert m.value == pytest.approx(0.5 - 2 / 32)
    assert m.details["pair"] == ["a", "b"]
    assert m.details["pairs"] == [
        {"columns": ["a", "b"], "share": 0.5, "chance_share": 2 / 32, "excess": 0.5 - 2 / 32}
    ]


def test_slice_share_of_numeric_deciles_and_worst_pair() -> None:
    x = np.arange(100.0)
    ref = pa.table({"x": x, "y": x, "z": x})
    cur = pa.table({"x": [5.0, 5.0, 95.0, 50.0], "y": [95.0, 5.0, 5.0, 50.0], "z": [5.0] * 4})
    schema = Schema(columns=[ColumnSpec(name=n, type="numerical") for n in "xyz"])
    m = run(ref, cur, schema).metric("slice_uncovered_share")
    # 100 reference rows at min_support 5: sqrt(100 / 20) -> 2 bins (halves) per column; only
    # the diagonal cells hold reference rows (50 each), so nothing is uncovered by chance.
    assert m.details["bins"] == 2
    shares = {tuple(p["columns"]): p["share"] for p in m.details["pairs"]}
    assert shares == {("x", "y"): 0.5, ("x", "z"): 0.5, ("y", "z"): 0.5}
    assert {p["chance_share"] for p in m.details["pairs"]} == {0.0}
    cur2 = pa.table({"x": [5.0, 95.0], "y": [5.0, 5.0], "z": [5.0, 95.0]})
    m2 = run(ref, cur2, schema, slice_pairs=[("y", "z"), ("x", "y")]).metric(
        "slice_uncovered_share"
    )
    assert [(p["columns"], p["excess"]) for p in m2.details["pairs"]] == [
        (["y", "z"], 0.5),
        (["x", "y"], 0.5),
    ]
    cur3 = pa.table({"x": [5.0, 95.0], "y": [5.0, 95.0], "z": [5.0, 5.0]})
    m3 = run(ref, cur3, schema).metric("slice_uncovered_share")
    assert (m3.value, m3.details["pair"]) == (0.5, ["x", "z"])  # (x, y) is fully covered
    shares3 = {tuple(p["columns"]): p["share"] for p in m3.details["pairs"]}
    for seed in range(4):
        m4 = run(ref, cur3, schema, max_slice_pairs=1, seed=seed).metric("slice_uncovered_share")
        [only] = m4.details["pairs"]
        assert m4.value == shares3[tuple(only["columns"])]


def test_slice_share_counts_missing_as_its_own_cell() -> None:
    ref = pa.table({"x": np.arange(100.0), "c": ["k"] * 100})
    cur = pa.table({"x": [None, 3.0], "c": ["k", "k"]})
    schema = Schema(
        columns=[ColumnSpec(name="x", type="numerical"), ColumnSpec(name="c", type="categorical")]
    )
    assert run(ref, cur, schema).value("slice_uncovered_share") == 0.5


def test_identical_windows_are_fully_covered() -> None:
    rng = np.random.default_rng(0)
    t = pa.table({"x": rng.normal(size=300), "c": rng.choice(["a", "b", "c"], size=300)})
    schema = Schema(
        columns=[ColumnSpec(name="x", type="numerical"), ColumnSpec(name="c", type="categorical")]
    )
    r = run(t, t, schema)
    assert r.value("category_row_coverage", "c") == 1.0
    assert r.value("reference_category_mass_coverage", "c") == 1.0
    assert r.value("numeric_range_coverage", "x") == pytest.approx(0.99, abs=0.01)
    assert not any(m.drifted for m in r.metrics)


def test_columns_absent_from_the_window_are_left_to_data_quality() -> None:
    schema = Schema(
        columns=[ColumnSpec(name="x", type="numerical"), ColumnSpec(name="c", type="categorical")]
    )
    ref = pa.table({"x": np.arange(50.0), "c": ["a"] * 50})
    r = run(ref, pa.table({"c": ["a", "b"]}), schema)
    assert r.value("category_row_coverage", "c") == 0.5
    assert all(m.column != "x" for m in r.metrics)
    with pytest.raises(InvalidInputError, match="share no schema column"):
        run(ref, pa.table({"other": [1]}), schema)


def test_bad_inputs_are_rejected() -> None:
    schema = cat_schema("c")
    with pytest.raises(InvalidInputError, match="empty"):
        run(pa.table({"c": ["a"]}), pa.table({"c": pa.array([], pa.string())}), schema)
    with pytest.raises(InvalidInputError, match="not in the schema"):
        run(pa.table({"c": ["a"]}), pa.table({"c": ["a"]}), schema, slice_pairs=[("c", "zz")])
    with pytest.raises(ValidationError):
        CoverageParams(q_lo=0.9, q_hi=0.1)
    with pytest.raises(InvalidInputError, match="invalid params"):
        parse_params("coverage", {"nope": 1})
    assert parse_params("coverage", {}) == CoverageParams()


def test_slices_are_skipped_without_pairs() -> None:
    t = pa.table({"a": ["p", "q"], "b": ["u", "v"]})
    no_pairs: list[dict[str, Any]] = [{"max_slice_pairs": 0}, {"slice_pairs": []}]
    for params in no_pairs:
        m = run(t, t, cat_schema("a", "b"), **params).metric("slice_uncovered_share")
        assert (m.value, m.status) == (None, "skipped: no column pairs")
    # Two reference rows: every cell is thinner than min_support, even for the reference itself.
    m = run(t, t, cat_schema("a", "b")).metric("slice_uncovered_share")
    assert m.value is None and m.status.startswith("skipped: reference too small")
    assert m.details["pairs"][0]["share"] == 1.0 and m.details["pairs"][0]["chance_share"] == 1.0
    assert len(m.details["warnings"]) == 1
