"""The oracle test: dqm's drift monitor against Evidently 0.7's DataDriftPreset, column by column.

Both run on the same generated windows; every column must get the same method, the same score
(relative 1e-9) and the same drifted verdict, and the dataset the same drifted count and share.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from evidently import DataDefinition, Dataset, Report
from evidently.presets import DataDriftPreset

from dqm.monitors.drift.methods import METHODS
from dqm.monitors.drift.monitor import DriftMonitor, DriftParams
from dqm.monitors.profile import ReferenceProfile
from dqm.monitors.schema import ColumnSpec, Schema

DISPLAY_TO_NAME = {m.display_name: m.name for m in METHODS.values()} | {n: n for n in METHODS}
Columns = dict[str, tuple[str, Callable[[np.random.Generator, int, bool], Any]]]


def _with_gaps(values: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    out = values.astype(np.float64)
    idx = rng.choice(out.size, size=max(3, out.size // 20), replace=False)
    out[idx[0::3]] = np.nan
    out[idx[1::3]] = np.inf
    out[idx[2::3]] = -np.inf
    return out


def _cats(options: list[str], p: list[float] | None = None, none_share: float = 0.0) -> Any:
    def make(rng: np.random.Generator, n: int, cur: bool) -> list[str | None]:
        probs = p if (cur and p is not None) else None
        values: list[str | None] = list(rng.choice(options, size=n, p=probs))
        for i in np.flatnonzero(rng.random(n) < none_share):
            values[i] = None
        return values

    return make


COLUMNS: Columns = {
    "num_shift": ("numerical", lambda r, n, c: r.normal(0.4 if c else 0.0, 1.0, n)),
    "num_same": ("numerical", lambda r, n, c: r.normal(0.0, 1.0, n)),
    "num_gaps": ("numerical", lambda r, n, c: _with_gaps(r.exponential(1.0 + c, n), r)),
    "num_binary": ("numerical", lambda r, n, c: (r.random(n) < (0.6 if c else 0.5)) * 1.0),
    "num_three": ("numerical", lambda r, n, c: r.integers(1, 4, n) * 1.0),
    "num_four_gaps": ("numerical", lambda r, n, c: _with_gaps(r.integers(0, 4, n) * 1.0, r)),
    "num_ten": ("numerical", lambda r, n, c: r.integers(0, 10 + 2 * c, n) * 1.0),
    "num_const": ("numerical", lambda r, n, c: np.full(n, 5.0)),
    "num_const_moved": ("numerical", lambda r, n, c: np.full(n, 2.0 if c else 1.0)),
    "cat_shift": ("categorical", _cats(["a", "b", "c", "d"], [0.4, 0.3, 0.2, 0.1])),
    "cat_same": ("categorical", _cats(["a", "b", "c"], none_share=0.1)),
    "cat_binary": ("categorical", _cats(["no", "yes"], [0.45, 0.55])),
    "cat_unseen": (
        "categorical",
        lambda r, n, c: list(r.choice(["x", "y", "z"] if c else ["x", "y"], n)),
    ),
    "label": ("categorical", _cats(["0", "1", "2"])),
}


def _tables(seed: int, n_ref: int, n_cur: int, columns: Columns) -> tuple[pa.Table, pa.Table]:
    rng = np.random.default_rng(seed)
    ref = pa.table({name: make(rng, n_ref, False) for name, (_, make) in columns.items()})
    cur = pa.table({name: make(rng, n_cur, True) for name, (_, make) in columns.items()})
    return ref, cur


def _schema(columns: Columns) -> Schema:
    specs = [
        ColumnSpec(name=n, type=t, role="target" if n == "label" else "feature")
        for n, (t, _) in columns.items()
    ]
    return Schema(columns=specs)


def _evidently(ref: pa.Table, cur: pa.Table, schema: Schema, **options: Any) -> dict[str, Any]:
    """Evidently's per-column (method, score, drifted) and dataset (count, share)."""
    definition = DataDefinition(
        numerical_columns=[c.name for c in schema.columns if c.type == "numerical"],
        categorical_columns=[c.name for c in schema.columns if c.type == "categorical"],
    )
    report = Report([DataDriftPreset(**options)], include_tests=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        snapshot = report.run(
            Dataset.from_pandas(cur.to_pandas(), data_definition=definition),
            Dataset.from_pandas(ref.to_pandas(), data_definition=definition),
        ).dict()
    out: dict[str, Any] = {"columns": {}}
    for metric in snapshot["metrics"]:
        config = metric["config"]
        if config["type"].endswith("DriftedColumnsCount"):
            out["count"], out["share"] = metric["value"]["count"], metric["value"]["share"]
        elif config["type"].endswith("ValueDrift"):
            method = DISPLAY_TO_NAME[config["method"]]
            out["columns"][config["column"]] = {"method": method, "score": metric["value"]}
    for test in snapshot["tests"]:
        if test["name"].startswith("Value Drift for column "):
            column = test["name"].removeprefix("Value Drift for column ")
            out["columns"][column]["drifted"] = test["status"] == "FAIL"
    return out


def _assert_same(
    ref: pa.Table, cur: pa.Table, schema: Schema, params: DriftParams, **ev: Any
) -> None:
    expected = _evidently(ref, cur, schema, **ev)
    result = DriftMonitor().run(ref, cur, schema, params)
    assert set(expected["columns"]) == set(schema.names)
    for name, want in expected["columns"].items():
        got = result.metric("drift_score", name)
        assert got.status == "ok", name
        assert got.method == want["method"], name
        assert got.value is not None
        assert math.isclose(got.value, want["score"], rel_tol=1e-9, abs_tol=1e-300), (
            name,
            got.value,
            want["score"],
        )
        assert got.drifted == want["drifted"], name
    assert result.value("number_drifted_columns") == expected["count"]
    assert result.value("share_drifted_columns") == pytest.approx(expected["share"], rel=1e-12)


@pytest.mark.parametrize(("n_ref", "n_cur"), [(600, 400), (1000, 1000), (2500, 1800)])
def test_default_methods_match_evidently(n_ref: int, n_cur: int) -> None:
    ref, cur = _tables(7, n_ref, n_cur, COLUMNS)
    _assert_same(ref, cur, _schema(COLUMNS), DriftParams())


def test_small_reference_large_current_uses_asymptotic_ks() -> None:
    columns: Columns = {k: COLUMNS[k] for k in ("num_shift", "num_same", "num_gaps", "cat_shift")}
    ref, cur = _tables(11, 800, 12000, columns)
    _assert_same(ref, cur, _schema(columns), DriftParams())


@pytest.mark.parametrize(
    "method",
    [
        "psi",
        "jensenshannon",
        "wasserstein",
        "ks",
        "hellinger",
        "kl_div",
        "ed",
        "mannw",
        "cramer_von_mises",
    ],
)
def test_forced_numerical_method_matches_evidently(method: str) -> None:
    columns: Columns = {k: COLUMNS[k] for k in ("num_shift", "num_same", "num_gaps", "num_ten")}
    ref, cur = _tables(3, 1500, 900, columns)
    params = DriftParams.model_validate({"stattest": method})
    _assert_same(ref, cur, _schema(columns), params, method=method)


@pytest.mark.parametrize("method", ["psi", "jensenshannon", "chisquare", "hellinger", "kl_div"])
def test_forced_categorical_method_and_threshold_match_evidently(method: str) -> None:
    columns: Columns = {k: COLUMNS[k] for k in ("cat_shift", "cat_same", "cat_unseen", "label")}
    ref, cur = _tables(5, 700, 1200, columns)
    params = DriftParams.model_validate({"stattest": method, "threshold": 0.2})
    _assert_same(ref, cur, _schema(columns), params, method=method, threshold=0.2)


# dqm's ``tvd`` is the distance itself; Evidently's ``TVD`` is a permutation p-value of it.
EVIDENTLY_NAME = {"mmd": "empirical_mmd"}


@pytest.mark.parametrize("name", sorted(set(METHODS) - {"tvd"}))
def test_verdict_at_the_threshold_itself_matches_evidently(name: str) -> None:
    """Each method's comparison (<=, <, >=, >) against Evidently's, with score == threshold."""
    from evidently.legacy.calculations.stattests.registry import get_registered_stattest
    from evidently.legacy.core import ColumnType

    method = METHODS[name]
    numerical = method.numerical_only
    binary = name in ("z", "fisher_exact")
    column = "num_ten" if numerical else ("cat_binary" if binary else "cat_shift")
    # Evidently's fisher_exact wants windows of equal size
    ref, cur = _tables(13, 300, 300 if name == "fisher_exact" else 200, {"v": COLUMNS[column]})
    feature_type = ColumnType.Numerical if numerical else ColumnType.Categorical
    stattest = get_registered_stattest(EVIDENTLY_NAME.get(name, name), feature_type)
    ref_s, cur_s = ref.to_pandas()["v"].dropna(), cur.to_pandas()["v"].dropna()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        np.random.seed(0)  # Evidently's empirical_mmd permutes with the global generator
        score = float(stattest(ref_s, cur_s, feature_type, None).drift_score)
        np.random.seed(0)
        want = stattest(ref_s, cur_s, feature_type, score).drifted
    assert method.drifted(score, score) == want
    assert method.default_threshold == stattest.default_threshold


def test_fisher_exact_score_matches_evidently_on_a_binary_column() -> None:
    from evidently.legacy.calculations.stattests.registry import get_registered_stattest
    from evidently.legacy.core import ColumnType

    columns: Columns = {"v": COLUMNS["cat_binary"]}
    ref, cur = _tables(17, 400, 400, columns)
    params = DriftParams.model_validate({"cat_stattest": "fisher_exact"})
    got = DriftMonitor().run(ref, cur, _schema(columns), params).metric("drift_score", "v")
    stattest = get_registered_stattest("fisher_exact", ColumnType.Categorical)
    ref_s, cur_s = ref.to_pandas()["v"].dropna(), cur.to_pandas()["v"].dropna()
    want = stattest(ref_s, cur_s, ColumnType.Categorical, None)
    assert got.value == pytest.approx(float(want.drift_score), rel=1e-9)
    assert got.drifted == want.drifted


def test_many_categories_match_evidently_with_a_cached_profile() -> None:
    # 3000 levels: Jensen-Shannon over the window's categories only (unseen ones included),
    # and the window's categories found by hash in the cached reference counts.
    levels = [f"level_{i:05d}" for i in range(3000)]
    columns: Columns = {
        "many": ("categorical", lambda r, n, c: list(r.choice(levels[: 2800 + 200 * c], n))),
        "many_same": ("categorical", lambda r, n, c: list(r.choice(levels, n))),
    }
    ref, cur = _tables(11, 20_000, 3_000, columns)
    schema = _schema(columns)
    expected = _evidently(ref, cur, schema)
    for source in (ref, ReferenceProfile(ref, schema).warm()):
        result = DriftMonitor().run(source, cur, schema, DriftParams())
        for name, want in expected["columns"].items():
            got = result.metric("drift_score", name)
            assert (got.method, got.drifted) == (want["method"], want["drifted"]), name
            assert got.value is not None
            assert math.isclose(got.value, want["score"], rel_tol=1e-9), name
