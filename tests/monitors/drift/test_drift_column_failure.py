"""Degenerate columns: a constant column under Mann-Whitney is measured (p = 1, as Evidently)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
from evidently.legacy.calculations.stattests.mann_whitney_urank_stattest import (
    _mannwhitneyu_rank,
)
from scipy import stats as sps

from dqm.monitors.drift.monitor import DriftMonitor
from dqm.monitors.schema import ColumnSpec, Schema


def test_constant_column_under_mann_whitney_is_p_one_and_the_rest_measured() -> None:
    rng = np.random.default_rng(7)
    ref_x, cur_x = rng.normal(0, 1, 300), rng.normal(0.5, 1, 200)
    schema = Schema(
        columns=[
            ColumnSpec(name="constant", type="numerical"),
            ColumnSpec(name="x", type="numerical"),
        ]
    )
    reference = pa.table({"constant": [3.0] * 300, "x": ref_x})
    current = pa.table({"constant": [3.0] * 200, "x": cur_x})
    params = DriftMonitor.Params(per_column_method={"constant": "mannw"})

    result = DriftMonitor().run(reference, current, schema, params)

    constant = result.metric("drift_score", "constant")
    evidently = _mannwhitneyu_rank(pd.Series([3.0] * 300), pd.Series([3.0] * 200), None, 0.05)
    assert constant.status == "ok" and constant.method == "mannw"
    assert constant.value == float(evidently[0]) == 1.0
    assert constant.drifted is False
    assert result.value("missing_share", "constant") == 0.0
    measured = result.metric("drift_score", "x")
    assert measured.status == "ok" and measured.method == "ks"
    assert measured.value is not None
    assert np.isclose(measured.value, sps.ks_2samp(ref_x, cur_x).pvalue, rtol=1e-9)
    assert result.metric("share_drifted_columns").details["number_of_columns"] == 2
