"""CBPE and DLE against NannyML 0.13 on the committed fixture (oracles/README.md reruns it).

CBPE values, standard errors and bands equal NannyML's; ROC AUC to 1e-7, because NannyML
rounds the cumulative expected counts of its ROC curve to 5 decimals. DLE's standard errors
equal NannyML's; its estimates come from boosted stumps instead of LightGBM, so they are held
to 0.05 of NannyML's (about 5% of the MAE and RMSE here).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

import dqm.monitors.labels.cbpe as cbpe
import dqm.monitors.labels.estimation as estimation
import dqm.monitors.labels.performance as perf
from dqm.monitors.labels.dle import fit_loss_models
from dqm.monitors.labels.monitor import LabelQualityMonitor, LabelQualityParams
from dqm.monitors.profile import ReferenceProfile
from dqm.monitors.schema import ColumnSpec, Schema

FIXTURE = json.loads((Path(__file__).parent / "oracles" / "nannyml_0_13.json").read_text())
CHUNK = FIXTURE["chunk_size"]
DLE_TOLERANCE = 0.05


def _chunks(n: int) -> list[slice]:
    return [slice(s, s + CHUNK) for s in range(0, n, CHUNK)]


def _classification(task: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    inputs = FIXTURE[task]["inputs"]
    ref, ana = inputs["reference"], inputs["analysis"]
    return (
        np.asarray(ref["labels"]),
        np.asarray(ref["probs"]),
        np.asarray(ana["labels"]),
        np.asarray(ana["probs"]),
    )


@pytest.mark.parametrize("task", ["binary", "multiclass"])
def test_cbpe_equals_nannyml(task: str) -> None:
    ref_y, ref_p, _, ana_p = _classification(task)
    expected: dict[str, Any] = FIXTURE[task]["expected"]
    for i, rows in enumerate(_chunks(ana_p.shape[0])):
        raw = ana_p[rows]
        pred = raw.argmax(axis=1)
        calibrated = perf.calibrate_probabilities(ref_y, ref_p, raw)
        got = cbpe.classification_estimates(
            ref_y, ref_p.argmax(axis=1), ref_p, calibrated, raw, pred
        )
        for e in got:
            want = expected[e.name]
            tol = 1e-7 if e.name == "roc_auc" else 1e-12
            assert e.value == pytest.approx(want["value"][i], abs=tol), (e.name, i)
            assert e.standard_error == pytest.approx(want["sampling_error"][i], abs=1e-12)
            assert e.lower == pytest.approx(want["lower"][i], abs=tol)
            assert e.upper == pytest.approx(want["upper"][i], abs=tol)
        accuracy = perf.cbpe_accuracy(ref_y, ref_p, raw, pred)
        assert accuracy == pytest.approx(expected["accuracy"]["value"][i], abs=1e-12)


def _classification_schema(k: int) -> Schema:
    probs = [
        ColumnSpec(name=f"p{c}", type="numerical", role="prediction_probability", class_=str(c))
        for c in range(k)
    ]
    return Schema(columns=[ColumnSpec(name="y", type="categorical", role="target"), *probs])


@pytest.mark.parametrize("task", ["binary", "multiclass"])
def test_monitor_emits_nannyml_estimates_with_bands(task: str) -> None:
    ref_y, ref_p, ana_y, ana_p = _classification(task)
    k = ref_p.shape[1]

    def table(y: np.ndarray, p: np.ndarray) -> pa.Table:
        return pa.table({"y": [str(v) for v in y], **{f"p{c}": p[:, c] for c in range(k)}})

    rows = _chunks(ana_p.shape[0])[1]
    result = LabelQualityMonitor().run(
        table(ref_y, ref_p),
        table(ana_y[rows], ana_p[rows]),
        _classification_schema(k),
        LabelQualityParams(),
    )
    for name in (*cbpe.METRICS, "accuracy"):
        want = FIXTURE[task]["expected"][name]
        m = result.metric(f"estimated_{name}")
        assert m.method == "cbpe" and m.details["rows"] == CHUNK
        assert m.value == pytest.approx(want["value"][1], abs=1e-7)
        assert m.details["lower"] == pytest.approx(want["lower"][1], abs=1e-7)
        assert m.details["upper"] == pytest.approx(want["upper"][1], abs=1e-7)


def _regression() -> tuple[dict[str, Any], dict[str, Any]]:
    inputs = FIXTURE["regression"]["inputs"]
    return inputs["reference"], inputs["analysis"]


def test_dle_is_close_to_nannyml_and_has_its_standard_errors() -> None:
    ref, ana = _regression()
    features = np.column_stack([ref["x1"], ref["x2"]])
    models = fit_loss_models(features, np.asarray(ref["y"]), np.asarray(ref["prediction"]))
    ana_x, ana_pred = np.column_stack([ana["x1"], ana["x2"]]), np.asarray(ana["prediction"])
    for i, rows in enumerate(_chunks(ana_pred.size)):
        for e in models.estimate(ana_x[rows], ana_pred[rows]):
            want = FIXTURE["regression"]["expected"][e.name]
            assert e.value == pytest.approx(want["value"][i], abs=DLE_TOLERANCE), (e.name, i)
            assert e.standard_error == pytest.approx(want["sampling_error"][i], abs=1e-12)


def _regression_table(period: dict[str, Any], rows: slice) -> pa.Table:
    return pa.table({k: np.asarray(v)[rows] for k, v in period.items()})


def test_monitor_fits_the_loss_models_once_per_reference_profile() -> None:
    ref, ana = _regression()
    schema = Schema(
        columns=[
            ColumnSpec(name="x1", type="numerical"),
            ColumnSpec(name="x2", type="numerical"),
            ColumnSpec(name="y", type="numerical", role="target"),
            ColumnSpec(name="prediction", type="numerical", role="prediction"),
        ]
    )
    profile = ReferenceProfile(_regression_table(ref, slice(None)), schema)
    expected = FIXTURE["regression"]["expected"]
    fitted = []
    for i, rows in enumerate(_chunks(len(ana["y"]))):
        result = LabelQualityMonitor().run(
            profile, _regression_table(ana, rows), schema, LabelQualityParams()
        )
        fitted.append(estimation.loss_models(profile, ("x1", "x2"), "y", "prediction"))
        for name in ("mae", "rmse"):
            m = result.metric(f"estimated_{name}")
            assert m.method == "dle"
            assert m.value == pytest.approx(expected[name]["value"][i], abs=DLE_TOLERANCE)
            assert m.details["lower"] < m.value < m.details["upper"]
    assert all(models is fitted[0] for models in fitted)  # fitted by the first run only
