"""A method forced on a column must fit its type, as Evidently's registry allows (oracle)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from evidently.legacy.calculations.stattests.registry import (
    StatTestInvalidFeatureTypeError,
    _registered_stat_tests,
    get_stattest,
)
from evidently.legacy.core import ColumnType
from scipy import stats as sps

from dqm.monitors.drift.methods import METHODS, methods_for
from dqm.monitors.drift.monitor import DriftMonitor, DriftParams
from dqm.monitors.errors import InvalidInputError
from dqm.monitors.kinds import parse_params
from dqm.monitors.schema import ColumnSpec, Schema

EVIDENTLY_NAME = {"tvd": "TVD", "mmd": "empirical_mmd"}
# dqm's documented extensions: the distance itself on binned numerical values, and Fisher's
# test on a numerical 0/1 column.
DQM_EXTENSIONS = {"tvd": {"numerical"}, "fisher_exact": {"numerical"}}
NUMERICAL = ["ks", "wasserstein", "jensenshannon", "psi", "hellinger", "kl_div", "ed", "mannw"]
NUMERICAL += ["cramer_von_mises", "anderson", "tvd", "fisher_exact", "mmd"]


def _evidently_types(name: str) -> set[str]:
    types = _registered_stat_tests[EVIDENTLY_NAME.get(name, name)]
    return {{"num": "numerical", "cat": "categorical"}[t.value] for t in types}


@pytest.mark.parametrize("name", sorted(METHODS))
def test_allowed_column_types_are_evidentlys(name: str) -> None:
    want = _evidently_types(name) | DQM_EXTENSIONS.get(name, set())
    assert set(METHODS[name].column_types) == want


def test_methods_for_numerical_columns_exclude_chisquare_and_z() -> None:
    assert methods_for("numerical") == NUMERICAL
    assert "chisquare" in methods_for("categorical") and "z" in methods_for("categorical")


@pytest.mark.parametrize("name", ["chisquare", "z"])
def test_num_stattest_chisquare_or_z_is_invalid_input_naming_the_allowed_methods(
    name: str,
) -> None:
    numbers = pd.Series(np.arange(50.0))
    with pytest.raises(StatTestInvalidFeatureTypeError):  # the oracle refuses it too
        get_stattest(numbers, numbers, ColumnType.Numerical, name)
    with pytest.raises(InvalidInputError) as err:
        parse_params("drift", {"num_stattest": name})
    message = err.value.details[0]["message"]
    assert f"method {name} (`num_stattest`) does not apply to numerical columns" in message
    assert ", ".join(NUMERICAL) in message


def test_per_column_chisquare_on_a_numerical_column_is_invalid_input() -> None:
    schema = Schema(columns=[ColumnSpec(name="x", type="numerical")])
    rng = np.random.default_rng(3)
    ref, cur = pa.table({"x": rng.normal(0, 1, 200)}), pa.table({"x": rng.normal(0, 1, 100)})
    params = DriftParams(per_column_method={"x": "chisquare"})
    with pytest.raises(InvalidInputError) as err:
        DriftMonitor().run(ref, cur, schema, params)
    assert err.value.details == [{"column": "x", "method": "chisquare", "allowed": NUMERICAL}]
    assert "methods for numerical columns: ks, wasserstein" in err.value.message


def test_per_column_ks_on_a_categorical_column_is_invalid_input() -> None:
    schema = Schema(columns=[ColumnSpec(name="c", type="categorical")])
    table = pa.table({"c": ["a", "b"] * 20})
    with pytest.raises(InvalidInputError) as err:
        DriftMonitor().run(table, table, schema, DriftParams(per_column_method={"c": "ks"}))
    assert err.value.details[0]["allowed"] == methods_for("categorical")
    with pytest.raises(InvalidInputError):
        parse_params("drift", {"cat_stattest": "ks"})


def test_chisquare_stays_allowed_on_categorical_columns() -> None:
    schema = Schema(columns=[ColumnSpec(name="c", type="categorical")])
    ref = pa.table({"c": ["a"] * 50 + ["b"] * 30 + ["c"] * 20})
    cur = pa.table({"c": ["a"] * 30 + ["b"] * 30 + ["c"] * 40})
    for params in (
        DriftParams(cat_stattest="chisquare"),
        DriftParams(per_column_method={"c": "chisquare"}),
        DriftParams(stattest="chisquare"),
    ):
        m = DriftMonitor().run(ref, cur, schema, params).metric("drift_score", "c")
        want = sps.chisquare([30, 30, 40], [50, 30, 20]).pvalue
        assert (m.method, m.status) == ("chisquare", "ok")
        assert m.value == pytest.approx(want, rel=1e-12)


def test_global_chisquare_skips_numerical_columns_and_tests_categorical_ones() -> None:
    schema = Schema(
        columns=[ColumnSpec(name="x", type="numerical"), ColumnSpec(name="c", type="categorical")]
    )
    table = pa.table({"x": np.arange(40.0), "c": ["a", "b", "c", "d"] * 10})
    r = DriftMonitor().run(table, table, schema, DriftParams(stattest="chisquare"))
    assert r.metric("drift_score", "x").status == (
        "skipped: method chisquare does not apply to numerical columns"
    )
    assert r.metric("drift_score", "c").value == pytest.approx(1.0)


def test_default_choice_keeps_chisquare_for_few_distinct_numbers_as_evidently() -> None:
    schema = Schema(columns=[ColumnSpec(name="x", type="numerical")])
    ref, cur = pa.table({"x": [1.0, 2.0, 3.0] * 20}), pa.table({"x": [1.0, 2.0, 3.0, 3.0] * 10})
    series = pd.Series([1.0, 2.0, 3.0] * 20)
    want = get_stattest(series, series, ColumnType.Numerical, None).name
    m = DriftMonitor().run(ref, cur, schema, DriftParams()).metric("drift_score", "x")
    assert m.method == want == "chisquare"
