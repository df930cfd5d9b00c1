"""CBPE and DLE against NannyML 0.13 on the committed fixture (oracles/README.md reruns it).

The fixture holds NannyML's numbers and the parameters of their inputs; ``nannyml_inputs``
regenerates the inputs, and every test first checks they are the ones NannyML saw.

CBPE values, standard errors and bands equal NannyML's; ROC AUC to 1e-7, because NannyML
rounds the cumulative expected counts of its ROC curve to 5 decimals. DLE's standard errors
equal NannyML's; its estimates come from boosted stumps instead of LightGBM, so they are held
to 0.05 of NannyML's (about 5% of the MAE and RMSE here).
"""

from __future__ import annotations

import dataclasses
import functools
import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

import dqm.monitors.labels.cbpe as cbpe
import dqm.monitors.labels.estimation as estimation
import dqm.monitors.labels.performance as perf
import tests.monitors.labels.oracles.nannyml_inputs as gen
from dqm.monitors.labels.dle import fit_loss_models
from dqm.monitors.labels.monitor import LabelQualityMonitor, LabelQualityParams
from dqm.monitors.profile import ReferenceProfile
from dqm.monitors.schema import ColumnSpec, Schema

FIXTURE = json.loads((Path(__file__).parent / "oracles" / "nannyml_0_13.json").read_text())
PARAMS = gen.InputParams(**FIXTURE["params"])
EXPECTED: dict[str, dict[str, Any]] = FIXTURE["expected"]
CHUNK = FIXTURE["chunk_size"]
DLE_TOLERANCE = 0.05


@functools.cache
def _inputs() -> gen.Inputs:
    """The regenerated inputs, failing loudly when they are not the ones NannyML estimated on."""
    inputs = gen.generate(PARAMS)
    stored = FIXTURE["fingerprint"]
    changed = gen.drifted(inputs, stored)
    regenerated = gen.fingerprint(inputs)
    first = {
        n: (stored.get(n, {}).get("first"), regenerated.get(n, {}).get("first")) for n in changed
    }
    assert not changed, (
        "regenerated NannyML inputs differ from the fixture's (numpy's random stream or rounding "
        f"changed?); first values stored vs regenerated: {first}. Rerun oracles/README.md."
    )
    return inputs


def test_regenerated_inputs_are_the_ones_nannyml_estimated_on() -> None:
    inputs = _inputs()
    assert inputs.binary["reference"].probs.shape == (PARAMS.n_reference, 2)
    assert inputs.multiclass["analysis"].labels.shape == (PARAMS.n_analysis,)
    assert gen.drifted(inputs, FIXTURE["fingerprint"]) == []


def test_the_input_check_notices_a_one_ulp_change() -> None:
    inputs = _inputs()
    probs = inputs.binary["analysis"].probs.copy()
    probs[-1, 1] = np.nextafter(probs[-1, 1], 1.0)
    nudged = dataclasses.replace(
        inputs,
        binary={
            **inputs.binary,
            "analysis": gen.Classification(probs, inputs.binary["analysis"].labels),
        },
    )
    assert gen.drifted(nudged, FIXTURE["fingerprint"]) == ["binary.analysis.probs"]


def _chunks(n: int) -> list[slice]:
    return [slice(s, s + CHUNK) for s in range(0, n, CHUNK)]


def _classification(task: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    data: dict[str, gen.Classification] = getattr(_inputs(), task)
    ref, ana = data["reference"], data["analysis"]
    return ref.labels, ref.probs, ana.labels, ana.probs


@pytest.mark.parametrize("task", ["binary", "multiclass"])
def test_cbpe_equals_nannyml(task: str) -> None:
    ref_y, ref_p, _, ana_p = _classification(task)
    expected = EXPECTED[task]
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
        want = EXPECTED[task][name]
        m = result.metric(f"estimated_{name}")
        assert m.method == "cbpe" and m.details["rows"] == CHUNK
        assert m.value == pytest.approx(want["value"][1], abs=1e-7)
        assert m.details["lower"] == pytest.approx(want["lower"][1], abs=1e-7)
        assert m.details["upper"] == pytest.approx(want["upper"][1], abs=1e-7)


def _regression() -> tuple[gen.Regression, gen.Regression]:
    data = _inputs().regression
    return data["reference"], data["analysis"]


def test_dle_is_close_to_nannyml_and_has_its_standard_errors() -> None:
    ref, ana = _regression()
    models = fit_loss_models(np.column_stack([ref.x1, ref.x2]), ref.y, ref.prediction)
    ana_x, ana_pred = np.column_stack([ana.x1, ana.x2]), ana.prediction
    for i, rows in enumerate(_chunks(ana_pred.size)):
        for e in models.estimate(ana_x[rows], ana_pred[rows]):
            want = EXPECTED["regression"][e.name]
            assert e.value == pytest.approx(want["value"][i], abs=DLE_TOLERANCE), (e.name, i)
            assert e.standard_error == pytest.approx(want["sampling_error"][i], abs=1e-12)


def _regression_table(period: gen.Regression, rows: slice) -> pa.Table:
    return pa.table({k: v[rows] for k, v in period.columns().items()})


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
    expected = EXPECTED["regression"]
    fitted = []
    for i, rows in enumerate(_chunks(ana.y.size)):
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
