"""Behaviour of the drift monitor beyond Evidently parity: skips, params, floors, corrections."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from scipy import stats as sps

from dqm.monitors.base import MonitorResult
from dqm.monitors.drift.monitor import DriftMonitor, DriftParams
from dqm.monitors.errors import InvalidInputError
from dqm.monitors.kinds import parse_params
from dqm.monitors.profile import ReferenceProfile
from dqm.monitors.schema import ColumnSpec, Schema

SCHEMA = Schema(
    columns=[
        ColumnSpec(name="row_id", type="numerical", role="id"),
        ColumnSpec(name="x", type="numerical"),
        ColumnSpec(name="y", type="numerical"),
        ColumnSpec(name="c", type="categorical"),
        ColumnSpec(name="note", type="text"),
        ColumnSpec(name="pred", type="numerical", role="prediction"),
    ]
)


def _table(seed: int, n: int, shift: float = 0.0, nan_y: bool = False) -> pa.Table:
    rng = np.random.default_rng(seed)
    y = np.full(n, np.nan) if nan_y else rng.normal(0, 1, n)
    return pa.table(
        {
            "row_id": np.arange(n, dtype=np.float64),
            "x": rng.normal(shift, 1, n),
            "y": y,
            "c": rng.choice(["a", "b", "c"], n).tolist(),
            "note": ["text"] * n,
            "pred": rng.random(n) + shift,
        }
    )


def _run(ref: pa.Table, cur: pa.Table, **params: object) -> MonitorResult:
    return DriftMonitor().run(ref, cur, SCHEMA, DriftParams.model_validate(params))


def test_tests_feature_and_prediction_columns_but_not_id() -> None:
    r = _run(_table(0, 500), _table(1, 400, shift=1.0))
    assert {m.column for m in r.metrics if m.name == "drift_score"} == {
        "x",
        "y",
        "c",
        "note",
        "pred",
    }
    assert r.metric("drift_score", "x").drifted is True
    assert r.metric("drift_score", "pred").drifted is True
    note = r.metric("drift_score", "note")
    assert note.value is None and note.status.startswith("skipped: text")


def test_all_missing_column_is_skipped_not_fatal() -> None:
    ref = _table(0, 300)
    r = _run(ref, _table(1, 200, nan_y=True))
    y = r.metric("drift_score", "y")
    assert y.value is None and y.drifted is None
    assert y.status == "skipped: no non-missing values in the current window"
    assert r.value("missing_share", "y") == 1.0
    # The share is over the columns that could be tested: x, c, pred.
    assert r.metric("share_drifted_columns").details["number_of_columns"] == 3


def test_missing_share_counts_nulls_and_infinities() -> None:
    cur = _table(1, 200).set_column(2, "y", pa.array([None, np.inf] + [1.0] * 198))
    r = _run(_table(0, 300), cur)
    assert r.value("missing_share", "y") == pytest.approx(2 / 200)
    assert r.value("missing_share", "x") == 0.0


@pytest.mark.parametrize("empty", ["reference", "current"])
def test_empty_window_raises(empty: str) -> None:
    full, none = _table(0, 50), _table(0, 50).slice(0, 0)
    ref, cur = (none, full) if empty == "reference" else (full, none)
    with pytest.raises(InvalidInputError):
        _run(ref, cur)


def test_profile_and_table_give_identical_results() -> None:
    ref, cur = _table(0, 2000), _table(1, 1500, shift=0.2)
    profile = ReferenceProfile(ref, SCHEMA).warm()
    a = DriftMonitor().run(ref, cur, SCHEMA, DriftParams())
    b = DriftMonitor().run(profile, cur, SCHEMA, DriftParams())
    assert a == b


def test_column_subset_and_unknown_column() -> None:
    r = _run(_table(0, 300), _table(1, 300), columns=["x"])
    assert [m.column for m in r.metrics if m.name == "drift_score"] == ["x"]
    with pytest.raises(InvalidInputError):
        _run(_table(0, 300), _table(1, 300), columns=["nope"])


def test_params_forbid_unknown_keys_and_bad_methods() -> None:
    assert isinstance(parse_params("drift", {"drift_share": 0.3}), DriftParams)
    with pytest.raises(InvalidInputError):
        parse_params("drift", {"drift_shares": 0.3})
    with pytest.raises(InvalidInputError):
        parse_params("drift", {"stattest": "t_test_that_does_not_exist"})


def test_numerical_only_method_on_categorical_column_is_skipped() -> None:
    r = _run(_table(0, 300), _table(1, 300), stattest="ks")
    assert (
        r.metric("drift_score", "c").status
        == "skipped: method ks does not apply to categorical columns"
    )
    assert r.metric("drift_score", "x").method == "ks"


def test_threshold_precedence_per_column_over_type_over_all() -> None:
    r = _run(
        _table(0, 300), _table(1, 300),
        threshold=0.2, num_threshold=0.1, per_column_threshold={"x": 0.01},
    )  # fmt: skip
    assert r.metric("drift_score", "x").threshold == 0.01
    assert r.metric("drift_score", "y").threshold == 0.1
    assert r.metric("drift_score", "c").threshold == 0.2


def test_drift_share_boundary_is_inclusive() -> None:
    # x and pred drift, y and c do not: share 2/4 = 0.5 >= 0.5 is dataset drift.
    ref, cur = _table(0, 800), _table(1, 800, shift=2.0)
    r = _run(ref, cur, columns=["x", "y", "c", "pred"])
    assert r.value("number_drifted_columns") == 2.0
    assert r.value("share_drifted_columns") == 0.5
    assert r.value("dataset_drift") == 1.0
    assert (
        _run(ref, cur, columns=["x", "y", "c", "pred"], drift_share=0.51).value("dataset_drift")
        == 0.0
    )


def test_column_weights_change_the_share() -> None:
    ref, cur = _table(0, 800), _table(1, 800, shift=2.0)
    r = _run(ref, cur, columns=["x", "y"], column_weights={"x": 3.0})
    assert r.value("share_drifted_columns") == pytest.approx(0.75)


def test_effect_size_floor_silences_trivial_shift_on_large_samples() -> None:
    # 60k rows, shift of 0.03 sd: KS is significant, normed Wasserstein is ~0.03.
    rng = np.random.default_rng(4)
    schema = Schema(columns=[ColumnSpec(name="x", type="numerical")])
    ref = pa.table({"x": rng.normal(0, 1, 60000)})
    cur = pa.table({"x": rng.normal(0.03, 1, 60000)})
    ks = DriftParams(stattest="ks")
    plain = DriftMonitor().run(ref, cur, schema, ks).metric("drift_score", "x")
    assert plain.drifted is True
    floored = DriftMonitor().run(ref, cur, schema, ks.model_copy(update={"effect_size_floor": 0.1}))
    m = floored.metric("drift_score", "x")
    assert m.drifted is False
    want = sps.wasserstein_distance(ref["x"].to_numpy(), cur["x"].to_numpy()) / np.std(ref["x"])
    assert m.details["effect_size"] == pytest.approx(want, rel=1e-9)
    assert m.details["effect_size_method"] == "wasserstein"


def test_multiple_testing_reports_raw_and_adjusted_p_values() -> None:
    rng = np.random.default_rng(9)
    names = [f"f{i}" for i in range(8)]
    schema = Schema(columns=[ColumnSpec(name=n, type="numerical") for n in names])
    ref = pa.table({n: rng.normal(0, 1, 400) for n in names})
    shifts = {"f0": 0.5, "f1": 0.1}
    cur = pa.table({n: rng.normal(shifts.get(n, 0.0), 1, 400) for n in names})
    plain = DriftMonitor().run(ref, cur, schema, DriftParams())
    r = DriftMonitor().run(ref, cur, schema, DriftParams(multiple_testing="bonferroni"))
    # f1 (p ~ 0.02) drifts alone but not among 8 tests; f0 (p ~ 1e-10) drifts either way.
    assert plain.metric("drift_score", "f1").drifted is True
    assert r.metric("drift_score", "f1").drifted is False
    assert r.metric("drift_score", "f0").drifted is True
    raw = np.array([r.metric("drift_score", n).details["p_value"] for n in names])
    adjusted = [r.metric("drift_score", n).details["p_value_adjusted"] for n in names]
    np.testing.assert_allclose(adjusted, np.minimum(raw * 8, 1.0))
    for n, adj in zip(names, adjusted, strict=True):
        assert r.metric("drift_score", n).drifted == (adj <= 0.05)
    bh = DriftMonitor().run(ref, cur, schema, DriftParams(multiple_testing="bh"))
    np.testing.assert_allclose(
        [bh.metric("drift_score", n).details["p_value_adjusted"] for n in names],
        sps.false_discovery_control(raw),
    )


def test_missing_or_unreadable_column_is_skipped_not_fatal() -> None:
    ref = _table(0, 300)
    cur = _table(1, 300).drop_columns(["y", "x"]).append_column("x", pa.array(["oops"] * 300))
    r = _run(ref, cur)
    assert r.metric("drift_score", "y").status == "skipped: column missing from the current window"
    x = r.metric("drift_score", "x")
    assert x.value is None and x.status.startswith("skipped: cannot read as numerical")
    assert r.metric("drift_score", "c").status == "ok"


def test_prediction_and_target_drift_repeat_their_column_score() -> None:
    r = _run(_table(0, 500), _table(1, 400, shift=1.0))
    pred = r.metric("prediction_drift")
    assert pred.column is None and pred.details["column"] == "pred"
    assert pred.value == r.value("drift_score", "pred")
    assert pred.drifted is True
    with pytest.raises(KeyError):
        r.metric("target_drift")  # the schema has no target


def test_undefined_score_is_skipped() -> None:
    # chi-square over a single category has zero degrees of freedom: no p-value.
    schema = Schema(columns=[ColumnSpec(name="c", type="categorical")])
    ref, cur = pa.table({"c": ["a"] * 50}), pa.table({"c": ["a"] * 40})
    r = DriftMonitor().run(ref, cur, schema, DriftParams(stattest="chisquare"))
    m = r.metric("drift_score", "c")
    assert m.value is None and m.status.startswith("skipped: chisquare is undefined")
    assert r.metric("share_drifted_columns").status == "skipped: no column could be tested"


def test_chunked_and_dictionary_encoded_columns_read_the_same() -> None:
    ref, cur = _table(0, 600), _table(1, 500, shift=0.3)
    chunked = pa.concat_tables([cur.slice(0, 123), cur.slice(123)])
    encoded = chunked.set_column(3, "c", pa.chunked_array([pc.dictionary_encode(chunked["c"])]))
    want = _run(ref, cur)
    assert _run(ref, chunked) == want
    assert _run(ref, encoded) == want


@pytest.mark.slow
def test_effect_size_floor_silences_a_one_million_row_shift_of_a_hundredth_sd() -> None:
    """The issue's case: 1M rows shifted by 0.01 standard deviations. Plain KS (scipy agrees)
    calls it drift; with a floor on normed Wasserstein it is not."""
    rng = np.random.default_rng(11)
    schema = Schema(columns=[ColumnSpec(name="x", type="numerical")])
    ref_x, cur_x = rng.normal(0, 1, 1_000_000), rng.normal(0.01, 1, 1_000_000)
    ref, cur = pa.table({"x": ref_x}), pa.table({"x": cur_x})
    ks = DriftParams(stattest="ks")
    plain = DriftMonitor().run(ref, cur, schema, ks).metric("drift_score", "x")
    assert plain.drifted is True and sps.ks_2samp(ref_x, cur_x).pvalue <= 0.05
    floored = DriftMonitor().run(ref, cur, schema, ks.model_copy(update={"effect_size_floor": 0.1}))
    m = floored.metric("drift_score", "x")
    assert m.drifted is False and m.details["effect_size"] < 0.02
    assert floored.value("share_drifted_columns") == 0.0
