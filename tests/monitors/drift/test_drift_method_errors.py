"""A method that raises on one column skips that column with the reason; the run goes on and
the other columns are measured. No built-in method is known to raise, so the test swaps in
one that divides by a zero variance, as a rank test on a constant column once did."""

from __future__ import annotations

import dataclasses

import numpy as np
import pyarrow as pa
import pytest
from scipy import stats as sps

import dqm.monitors.drift.methods as methods
from dqm.monitors.drift.monitor import DriftMonitor
from dqm.monitors.schema import ColumnSpec, Schema


def _divides_by_zero(pair: methods.Pair) -> float:
    return 1.0 / 0.0


def test_a_method_raising_on_one_column_skips_only_that_column(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    raising = dataclasses.replace(methods.METHODS["mannw"], score=_divides_by_zero)
    monkeypatch.setitem(methods.METHODS, "mannw", raising)
    rng = np.random.default_rng(7)
    ref_x, cur_x = rng.normal(0, 1, 300), rng.normal(0.5, 1, 200)
    schema = Schema(
        columns=[ColumnSpec(name="c", type="numerical"), ColumnSpec(name="x", type="numerical")]
    )
    reference = pa.table({"c": rng.normal(0, 1, 300), "x": ref_x})
    current = pa.table({"c": rng.normal(0, 1, 200), "x": cur_x})
    params = DriftMonitor.Params(per_column_method={"c": "mannw"})

    result = DriftMonitor().run(reference, current, schema, params)

    skipped = result.metric("drift_score", "c")
    assert skipped.value is None and skipped.drifted is None
    assert skipped.status == "skipped: mannw failed: ZeroDivisionError: float division by zero"
    assert result.value("missing_share", "c") == 0.0
    measured = result.metric("drift_score", "x")
    assert measured.status == "ok" and measured.method == "ks" and measured.value is not None
    assert np.isclose(measured.value, sps.ks_2samp(ref_x, cur_x).pvalue, rtol=1e-9)
    assert result.metric("share_drifted_columns").details["number_of_columns"] == 1
