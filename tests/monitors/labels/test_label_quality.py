"""The label_quality monitor end to end, against sklearn, scipy and cleanlab."""

from __future__ import annotations

import warnings

import numpy as np
import pyarrow as pa
import pytest
from cleanlab.filter import find_label_issues as cleanlab_find_label_issues  # type: ignore[import-untyped]
from scipy import stats as sps
from scipy.spatial.distance import jensenshannon
from sklearn import metrics as skm
from sklearn.isotonic import IsotonicRegression

from dqm.monitors.base import MonitorResult
from dqm.monitors.errors import InvalidInputError
from dqm.monitors.kinds import monitor_class, parse_params
from dqm.monitors.labels.monitor import DELAY_COLUMN, LabelQualityMonitor, LabelQualityParams
from dqm.monitors.schema import ColumnSpec, Schema

CLASSES = ["cat", "dog", "fox"]


def _schema(prediction: bool = True, row_id: bool = True) -> Schema:
    cols = [ColumnSpec(name="y", type="categorical", role="target")]
    if prediction:
        cols.append(ColumnSpec(name="pred", type="categorical", role="prediction"))
    if row_id:
        cols.append(ColumnSpec(name="id", type="categorical", role="id"))
    cols += [
        ColumnSpec.model_validate(
            {"name": f"p_{c}", "type": "numerical", "role": "prediction_probability", "class": c}
        )
        for c in CLASSES
    ]
    return Schema(columns=cols)


def _world(n: int, seed: int, alpha: float = 1.0, noise: float = 0.1) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    probs = rng.dirichlet([alpha] * 3, size=n)
    truth = (rng.random(n)[:, None] > np.cumsum(probs, axis=1)).sum(axis=1)
    flip = rng.random(n) < noise
    y = np.where(flip, (truth + 1) % 3, truth)
    return {"y": y, "pred": probs.argmax(axis=1), "probs": probs}


def _table(w: dict[str, np.ndarray], unlabeled: int = 0, delays: bool = False) -> pa.Table:
    n = w["y"].size
    names = np.array(CLASSES, dtype=object)
    y = names[w["y"]].tolist()
    for i in range(unlabeled):
        y[i] = None
    cols: dict[str, object] = {
        "id": [f"row-{i}" for i in range(n)],
        "y": y,
        "pred": names[w["pred"]].tolist(),
    }
    cols.update({f"p_{c}": w["probs"][:, i] for i, c in enumerate(CLASSES)})
    if delays:
        cols[DELAY_COLUMN] = [None] * unlabeled + [float(i + 1) for i in range(n - unlabeled)]
    return pa.table(cols)


def _run(ref: pa.Table, cur: pa.Table, schema: Schema, **params: object) -> MonitorResult:
    return LabelQualityMonitor().run(ref, cur, schema, LabelQualityParams.model_validate(params))


@pytest.fixture(scope="module")
def classification() -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], MonitorResult]:
    ref, cur = _world(600, seed=1), _world(500, seed=2, alpha=0.6)
    result = _run(_table(ref), _table(cur, unlabeled=100, delays=True), _schema())
    return ref, cur, result


def test_coverage_and_delay_quantiles(classification: tuple) -> None:  # type: ignore[type-arg]
    _, _, result = classification
    assert result.value("label_coverage") == 0.8
    # Delays 1..400 s: linear-interpolated p50 = 200.5, p95 = 1 + 0.95 * 399 = 380.05.
    assert result.value("label_delay_p50_seconds") == pytest.approx(200.5)
    assert result.value("label_delay_p95_seconds") == pytest.approx(380.05)


def test_realized_metrics_equal_sklearn(classification: tuple) -> None:  # type: ignore[type-arg]
    ref, cur, result = classification
    y, pred, probs = cur["y"][100:], cur["pred"][100:], cur["probs"][100:]
    expected = {
        "accuracy": skm.accuracy_score(y, pred),
        "precision_macro": skm.precision_score(y, pred, average="macro", zero_division=0),
        "recall_macro": skm.recall_score(y, pred, average="macro"),
        "f1_macro": skm.f1_score(y, pred, average="macro"),
        "roc_auc": skm.roc_auc_score(y, probs, multi_class="ovr"),
    }
    for name, value in expected.items():
        assert result.value(name) == pytest.approx(value), name
    ref_acc = skm.accuracy_score(ref["y"], ref["pred"])
    details = result.metric("accuracy").details
    assert details["reference"] == pytest.approx(ref_acc)
    assert details["difference"] == pytest.approx(expected["accuracy"] - ref_acc)


def test_label_drift_is_evidently_chisquare_for_small_reference(classification: tuple) -> None:  # type: ignore[type-arg]
    ref, cur, result = classification
    rc = np.bincount(ref["y"], minlength=3)
    cc = np.bincount(cur["y"][100:], minlength=3)
    p = sps.chisquare(cc, rc * cc.sum() / rc.sum()).pvalue
    m = result.metric("label_drift_score")
    assert (m.method, m.threshold, m.drifted) == ("chisquare", 0.05, p < 0.05)
    assert m.value == pytest.approx(p)
    pm = result.metric("prediction_drift_score")
    pr, pc = np.bincount(ref["pred"], minlength=3), np.bincount(cur["pred"], minlength=3)
    assert pm.value == pytest.approx(sps.chisquare(pc, pr * pc.sum() / pr.sum()).pvalue)
    assert pm.drifted == (pm.value < 0.05) and pm.details == {"column": "pred"}


def test_label_drift_is_jensen_shannon_above_1000_rows() -> None:
    rng = np.random.default_rng(0)
    ref = _world(2000, seed=3)
    cur = _world(400, seed=4)
    cur["y"] = np.where(rng.random(400) < 0.5, 0, 1)  # "fox" disappears
    result = _run(_table(ref), _table(cur), _schema())
    rp = np.bincount(ref["y"], minlength=3) / 2000
    cp = np.bincount(cur["y"], minlength=3) / 400
    # Evidently's JS leaves empty bins at 0 (it fills them only for PSI / KL).
    m = result.metric("label_drift_score")
    assert m.method == "jensenshannon" and m.threshold == 0.1 and m.drifted
    assert m.value == pytest.approx(jensenshannon(rp, cp))


def test_cbpe_equals_sklearn_isotonic_calibration(classification: tuple) -> None:  # type: ignore[type-arg]
    ref, cur, result = classification
    cal = np.column_stack(
        [
            IsotonicRegression(out_of_bounds="clip")
            .fit(ref["probs"][:, k], ref["y"] == k)
            .predict(cur["probs"][:, k])
            for k in range(3)
        ]
    )
    cal /= cal.sum(axis=1, keepdims=True)
    expected = cal[np.arange(500), cur["pred"]].mean()
    m = result.metric("estimated_accuracy")
    assert m.method == "cbpe" and m.value == pytest.approx(expected)


def test_label_issue_findings_are_cleanlab_flags(classification: tuple) -> None:  # type: ignore[type-arg]
    _, cur, result = classification
    y, probs = cur["y"][100:], cur["probs"][100:]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mask = cleanlab_find_label_issues(y, probs, n_jobs=1)
    expected = {f"row-{i + 100}" for i in np.flatnonzero(mask)}
    assert {f.row_id for f in result.findings} == expected
    assert result.value("label_issue_share") == pytest.approx(mask.mean())
    assert result.value("label_health_score") == pytest.approx(1 - mask.mean())
    first = result.findings[0]
    row = int(first.row_id.split("-")[1])
    assert first.score == pytest.approx(1 - cur["probs"][row, cur["y"][row]])
    assert first.details["given_label"] == CLASSES[cur["y"][row]]


def test_max_findings_caps_findings_not_the_share() -> None:
    w = _world(300, seed=5, noise=0.3)
    full = _run(_table(w), _table(w), _schema())
    capped = _run(_table(w), _table(w), _schema(), max_findings=3)
    assert len(capped.findings) == 3 < len(full.findings)
    assert capped.findings == full.findings[:3]
    assert capped.value("label_issue_share") == full.value("label_issue_share")


def test_prediction_from_argmax_and_row_index_without_id_column() -> None:
    w = _world(200, seed=6, noise=0.3)
    table = _table(w).drop_columns(["pred", "id"])
    result = _run(table, table, _schema(prediction=False, row_id=False))
    assert result.value("accuracy") == pytest.approx(skm.accuracy_score(w["y"], w["pred"]))
    assert result.metric("prediction_drift_score").value == pytest.approx(1.0)
    assert all(f.row_id.isdigit() for f in result.findings) and result.findings


def test_numeric_target_matches_class_names() -> None:
    schema = Schema(
        columns=[
            ColumnSpec(name="y", type="numerical", role="target"),
            *(
                ColumnSpec.model_validate(
                    {
                        "name": f"p{c}",
                        "type": "numerical",
                        "role": "prediction_probability",
                        "class": c,
                    }
                )
                for c in ("0", "1")
            ),
        ]
    )
    table = pa.table(
        {"y": [0.0, 1.0, 1.0, 0.0], "p0": [0.9, 0.2, 0.6, 0.3], "p1": [0.1, 0.8, 0.4, 0.7]}
    )
    result = _run(table, table, schema)
    assert result.value("accuracy") == 0.5
    assert result.value("roc_auc") == pytest.approx(
        skm.roc_auc_score([0, 1, 1, 0], [0.1, 0.8, 0.4, 0.7])
    )


def test_regression_metrics_and_ks_drift() -> None:
    rng = np.random.default_rng(7)
    schema = Schema(
        columns=[
            ColumnSpec(name="y", type="numerical", role="target"),
            ColumnSpec(name="yhat", type="numerical", role="prediction"),
        ]
    )
    ry, cy = rng.normal(size=400), rng.normal(0.5, 1, size=300)
    ref = pa.table({"y": ry, "yhat": ry + rng.normal(0, 0.3, 400)})
    cur = pa.table({"y": cy, "yhat": cy + rng.normal(0, 0.5, 300)})
    result = _run(ref, cur, schema)
    cp = cur.column("yhat").to_numpy()
    assert result.value("mae") == pytest.approx(skm.mean_absolute_error(cy, cp))
    assert result.value("rmse") == pytest.approx(np.sqrt(skm.mean_squared_error(cy, cp)))
    m = result.metric("label_drift_score")
    assert m.method == "ks" and m.drifted
    assert m.value == pytest.approx(sps.ks_2samp(ry, cy).pvalue)
    with pytest.raises(KeyError):
        result.metric("accuracy")


def test_regression_drift_is_normed_wasserstein_above_1000_rows() -> None:
    rng = np.random.default_rng(8)
    schema = Schema(columns=[ColumnSpec(name="y", type="numerical", role="target")])
    ry, cy = rng.normal(size=1500), rng.normal(0.5, 1, size=500)
    result = _run(pa.table({"y": ry}), pa.table({"y": cy}), schema)
    m = result.metric("label_drift_score")
    assert m.method == "wasserstein" and m.drifted
    assert m.value == pytest.approx(sps.wasserstein_distance(ry, cy) / ry.std())


def test_annotators_and_labeling_functions_via_params() -> None:
    schema = Schema(columns=[ColumnSpec(name="x", type="numerical")])
    table = pa.table(
        {"x": [1.0, 2.0, 3.0], "a1": ["s", "h", "s"], "a2": ["s", "h", "h"], "lf": [1, -1, 0]}
    )
    result = _run(
        table, table, schema, annotator_columns=["a1", "a2"], labeling_function_columns=["lf"]
    )
    assert result.metric("label_coverage").status.startswith("skipped")
    assert result.value("cohen_kappa") == pytest.approx(
        skm.cohen_kappa_score(["s", "h", "s"], ["s", "h", "h"])
    )
    assert result.value("lf_coverage", "lf") == pytest.approx(2 / 3)


def test_params_are_validated_and_task_can_be_forced() -> None:
    assert monitor_class("label_quality") is LabelQualityMonitor
    with pytest.raises(InvalidInputError):
        parse_params("label_quality", {"bogus": 1})
    schema = Schema(columns=[ColumnSpec(name="y", type="numerical", role="target")])
    table = pa.table({"y": [1, 2, 3, 2, 1]})
    assert _run(table, table, schema).metric("label_drift_score").method == "chisquare"
    forced = _run(table, table, schema, task="regression")
    assert forced.metric("label_drift_score").method == "chisquare"  # <= 5 distinct values
    binary = pa.table({"y": [1, 2, 2, 1]})
    assert _run(binary, binary, schema).metric("label_drift_score").method == "z"


def test_missing_delay_column_and_empty_window() -> None:
    w = _world(50, seed=9)
    result = _run(_table(w), _table(w), _schema())
    assert result.metric("label_delay_p50_seconds").status.startswith("skipped")
    with pytest.raises(InvalidInputError):
        _run(_table(w), _table(w).slice(0, 0), _schema())


def test_empty_reference_and_missing_columns_degrade_to_skipped_metrics() -> None:
    w = _world(100, seed=10)
    current = _table(w, unlabeled=20)
    empty_ref = _table(w).slice(0, 0)
    result = _run(empty_ref, current, _schema())
    assert result.metric("label_drift_score").status.startswith("skipped")
    assert result.metric("estimated_accuracy").status.startswith("skipped")
    assert result.metric("accuracy").details == {"reference": None, "difference": None}
    # A window without probability columns still gets label-based metrics.
    bare = current.drop_columns([f"p_{c}" for c in CLASSES])
    result = _run(_table(w), bare, _schema())
    assert result.value("accuracy") == pytest.approx(
        skm.accuracy_score(w["y"][20:], w["pred"][20:])
    )
    assert result.metric("roc_auc").status.startswith("skipped")
    assert result.metric("label_issue_share").status.startswith("skipped")
    assert result.findings == ()


def test_unknown_labels_count_for_coverage_only() -> None:
    w = _world(60, seed=11)
    table = _table(w)
    y = table.column("y").to_pylist()
    y[0] = "wolf"
    table = table.set_column(table.column_names.index("y"), "y", pa.array(y))
    result = _run(_table(w), table, _schema())
    assert result.value("label_coverage") == 1.0
    expected = skm.accuracy_score(w["y"][1:], w["pred"][1:])
    assert result.value("accuracy") == pytest.approx(expected)


def test_foreign_params_are_rejected() -> None:
    w = _world(10, seed=12)
    with pytest.raises(InvalidInputError):
        LabelQualityMonitor().run(_table(w), _table(w), _schema(), _schema())
