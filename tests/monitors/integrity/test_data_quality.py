"""The data_quality monitor against pandas (``isna``, ``duplicated``) and hand-computed values."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from dqm.monitors.base import MonitorResult
from dqm.monitors.errors import InvalidInputError
from dqm.monitors.integrity.checks import duplicate_mask
from dqm.monitors.integrity.monitor import DataQualityMonitor, DataQualityParams
from dqm.monitors.schema import ColumnSpec, Schema

SCHEMA = Schema(
    columns=[
        ColumnSpec(name="id", type="categorical", role="id"),
        ColumnSpec(name="age", type="numerical"),
        ColumnSpec(name="city", type="categorical"),
        ColumnSpec(name="score", type="numerical"),
        ColumnSpec(name="label", type="categorical", role="target"),
    ]
)
REF = pa.table(
    {
        "id": ["a", "b", "c", "d"],
        "age": [30.0, 40.0, 50.0, 60.0],
        "city": ["paris", "rome", "oslo", "rome"],
        "score": [0.1, None, 0.3, 0.4],
        "label": ["y", "n", "y", "n"],
    }
)
CUR = pa.table(
    {
        "id": ["a", "b", "b", "e", None, "f"],
        "age": [30.0, None, None, 45.0, 45.0, 200.0],
        "city": ["paris", "rome", "rome", "lima", "lima", None],
        "score": [0.2] * 6,
        "label": pa.array([None] * 6, pa.string()),
    }
)


def run(cur: pa.Table, ref: pa.Table = REF, schema: Schema = SCHEMA, **p: Any) -> MonitorResult:
    return DataQualityMonitor().run(ref, cur, schema, DataQualityParams(**p))


def test_missing_shares_match_pandas() -> None:
    r = run(CUR)
    cur_na, ref_na = CUR.to_pandas().isna().mean(), REF.to_pandas().isna().mean()
    for name in SCHEMA.names:
        assert r.value("missing_share", name) == pytest.approx(cur_na[name])
        change = r.value("missing_share_change", name)
        assert change == pytest.approx(cur_na[name] - ref_na[name])


def test_duplicates_match_pandas() -> None:
    r = run(CUR)
    df = CUR.to_pandas()
    assert r.value("duplicate_row_share") == pytest.approx(df.duplicated().mean())  # row 2
    assert r.value("duplicate_id_share") == pytest.approx(df["id"].dropna().duplicated().mean())


def test_domain_range_and_constant_by_hand() -> None:
    r = run(CUR, ranges={"age": (0.0, 120.0)})
    assert r.value("out_of_domain_share", "city") == pytest.approx(2 / 5)  # lima x2 of 5 present
    assert r.metric("out_of_domain_share", "city").details["domain_source"] == "reference"
    assert r.value("out_of_range_share", "age") == pytest.approx(1 / 4)  # 200 of 4 present
    assert r.value("constant_column", "score") == 1.0  # window: only 0.2; reference: 3 values
    assert r.value("constant_column", "city") == 0.0
    explicit = run(CUR, domains={"city": ["paris", "lima"]})
    assert explicit.value("out_of_domain_share", "city") == pytest.approx(2 / 5)  # the romes
    with pytest.raises(KeyError):
        r.metric("out_of_range_share", "score")  # only columns named in ranges


def test_problem_rows_and_findings_by_hand() -> None:
    r = run(CUR, ranges={"age": (0.0, 120.0)})
    # Required by default: features without missing values in the reference (age, city).
    # Row problems: 0 none; 1 age missing; 2 age missing + duplicate row + duplicate id;
    # 3 lima; 4 lima (its missing id is not a feature); 5 age out of range + city missing.
    assert r.value("rows_with_any_problem_share") == pytest.approx(5 / 6)
    assert [(f.row_id, f.score) for f in r.findings] == [
        ("b", 3.0),
        ("f", 2.0),
        ("b", 1.0),
        ("e", 1.0),
        ("4", 1.0),
    ]
    assert r.findings[0].details["problems"] == ["missing:age", "duplicate_row", "duplicate_id"]
    assert {f.reason for f in r.findings} == {"integrity"}
    assert len(run(CUR, max_findings=2).findings) == 2
    only_score = run(CUR, required_columns=["score"], learn_expectations=False)
    assert only_score.value("rows_with_any_problem_share") == pytest.approx(3 / 6)  # rows 2-4
    # Without `ranges`, age 200 (row 5) is outside the learned [30 - 1.5, 60 + 1.5] as well.
    learned = run(CUR, required_columns=["score"])
    assert learned.value("rows_with_any_problem_share") == pytest.approx(4 / 6)


def test_missing_and_new_columns() -> None:
    cur = CUR.drop_columns(["score"]).append_column("extra", pa.array(range(6)))
    r = run(cur)
    assert r.value("missing_columns") == 1.0 and r.value("new_columns") == 1.0
    assert r.metric("missing_columns").details["columns"] == ["score"]
    assert r.value("missing_share", "score") == 1.0
    assert r.value("rows_with_any_problem_share") == pytest.approx(5 / 6)


def test_identical_windows_have_no_problems() -> None:
    r = run(REF)
    assert r.value("rows_with_any_problem_share") == 0.0 and r.findings == ()
    assert all(m.value in (0.0, None) for m in r.metrics if m.name != "missing_share")


def test_duplicate_mask_matches_pandas_with_nan_null_and_signed_zero() -> None:
    rng = np.random.default_rng(0)
    n = 2000
    x = rng.choice([0.0, -0.0, 1.5, np.nan], size=n)
    c = rng.choice(np.array(["a", "b", None], dtype=object), size=n)
    i = rng.integers(0, 3, size=n)
    t = pa.table({"x": pa.array(x, from_pandas=False), "c": c, "i": i})
    t = t.set_column(0, "x", pa.array([None if k % 97 == 0 else v for k, v in enumerate(x)]))
    expected = t.to_pandas().duplicated().to_numpy()
    np.testing.assert_array_equal(duplicate_mask(t, ["x", "c", "i"]), expected)


def test_duplicate_embeddings_compare_by_value() -> None:
    nan = float("nan")
    vectors = [[1.0, 2.0], [1.0, 2.0], None, [2.0, 1.0], None, [-0.0, 2.0], [0.0, 2.0]]
    vectors += [[nan, 1.0], [nan, 1.0], [1.0, nan]]
    t = pa.table({"e": vectors, "k": [1] * 10})
    expected = [False, True, False, False, True, False, True, False, True, False]
    assert duplicate_mask(t, ["e", "k"]).tolist() == expected
    ragged = pa.table({"e": [[1], [1, 2], [1], None]})
    assert duplicate_mask(ragged, ["e"]).tolist() == [False, False, True, False]


def test_bad_inputs_are_rejected() -> None:
    with pytest.raises(InvalidInputError, match="empty"):
        run(CUR.slice(0, 0))
    with pytest.raises(InvalidInputError, match="categorical"):
        run(CUR, domains={"age": ["1"]})
    with pytest.raises(InvalidInputError, match="not in the schema"):
        run(CUR, ranges={"nope": (0.0, 1.0)})
    with pytest.raises(ValueError, match="above max"):
        DataQualityParams(ranges={"age": (5.0, 1.0)})


def test_internal_columns_of_the_window_are_not_new_columns() -> None:
    import pyarrow as pa

    from dqm.monitors.integrity.monitor import DataQualityMonitor
    from dqm.monitors.kinds import parse_params
    from dqm.monitors.schema import ColumnSpec, Schema

    schema = Schema(columns=[ColumnSpec(name="x", type="numerical")])
    reference = pa.table({"x": [1.0, 2.0, 3.0]})
    current = pa.table({"x": [1.0, 2.0, 2.0], "__label_delay_seconds": [5.0, 6.0, None]})
    result = DataQualityMonitor().run(reference, current, schema, parse_params("data_quality", {}))
    assert result.value("new_columns") == 0.0
    assert result.value("duplicate_row_share") == 1 / 3
