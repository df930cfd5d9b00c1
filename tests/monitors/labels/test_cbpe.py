"""CBPE precision, recall, F1 and ROC AUC: sklearn on certain labels, and realized metrics
(sklearn.metrics) on labeled chunks of a calibrated world."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as skm

import dqm.monitors.labels.cbpe as cbpe
import dqm.monitors.labels.performance as perf

SKLEARN = {
    "precision": skm.precision_score,
    "recall": skm.recall_score,
    "f1": skm.f1_score,
}


def _world(n: int, alpha: list[float], seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Probabilities calibrated by construction (labels are drawn from them)."""
    rng = np.random.default_rng(seed)
    probs = rng.dirichlet(alpha, size=n)
    u = rng.random(n)[:, None]
    return (u > np.cumsum(probs, axis=1)).sum(axis=1).astype(np.int64), probs


@pytest.mark.parametrize("seed", range(3))
def test_binary_estimates_equal_sklearn_when_labels_are_certain(seed: int) -> None:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, 300)
    raw = np.round(rng.random(300), 1)  # many ties in the score
    pred = (rng.random(300) < 0.5).astype(np.int64)
    got = cbpe.binary_estimates(pred, y.astype(np.float64), raw)
    for name, score in SKLEARN.items():
        assert got[name] == pytest.approx(score(y, pred), abs=1e-12)
    assert got["roc_auc"] == pytest.approx(skm.roc_auc_score(y, raw), abs=1e-12)


def test_multiclass_estimates_are_sklearn_macro_when_labels_are_certain() -> None:
    rng = np.random.default_rng(7)
    y, raw = rng.integers(0, 3, 400), rng.dirichlet([1.0, 1.0, 1.0], size=400)
    pred = np.where(rng.random(400) < 0.7, y, rng.integers(0, 3, 400))
    got = cbpe.multiclass_estimates(pred, np.eye(3)[y], raw)
    for name, score in SKLEARN.items():
        assert got[name] == pytest.approx(score(y, pred, average="macro"), abs=1e-12)
    expected_auc = skm.roc_auc_score(y, raw, multi_class="ovr", average="macro")
    assert got["roc_auc"] == pytest.approx(expected_auc, abs=1e-12)


def test_auc_placements_average_to_the_auc() -> None:
    y, probs = _world(1000, [1.0, 3.0], seed=2)  # class 1 is the majority: roles flip
    placements = cbpe.auc_placements(y == 1, probs[:, 1])
    assert placements.size == int(np.sum(y == 0))
    assert placements.mean() == pytest.approx(skm.roc_auc_score(y, probs[:, 1]), abs=1e-12)


def test_band_is_three_standard_errors_clipped_to_the_unit_interval() -> None:
    assert cbpe.band(0.5, 0.1) == pytest.approx((0.2, 0.8))
    assert cbpe.band(0.95, 0.1) == pytest.approx((0.65, 1.0))
    assert all(np.isnan(cbpe.band(0.5, float("nan"))))


def _chunk_estimates(k: int, seed: int) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """CBPE estimates and realized (sklearn) values on 100 shifted chunks of 500 rows."""
    ref_y, ref_p = _world(5_000, [2.0] * k, seed=seed)
    cur_y, cur_p = _world(50_000, [0.8] * k, seed=seed + 1)  # covariate shift only
    estimates: dict[str, list[cbpe.Estimate]] = {n: [] for n in cbpe.METRICS}
    realized: dict[str, list[float]] = {n: [] for n in cbpe.METRICS}
    average = "binary" if k == 2 else "macro"
    for start in range(0, cur_y.size, 500):
        y, raw = cur_y[start : start + 500], cur_p[start : start + 500]
        pred = raw.argmax(axis=1)
        calibrated = perf.calibrate_probabilities(ref_y, ref_p, raw)
        out = cbpe.classification_estimates(
            ref_y, ref_p.argmax(axis=1), ref_p, calibrated, raw, pred
        )
        for e in out:
            estimates[e.name].append(e)
        for name, score in SKLEARN.items():
            realized[name].append(score(y, pred, average=average, zero_division=0))
        auc = (
            skm.roc_auc_score(y, raw[:, 1])
            if k == 2
            else skm.roc_auc_score(y, raw, multi_class="ovr")
        )
        realized["roc_auc"].append(auc)
    arrays = {
        n: np.array([[e.value, e.lower, e.upper] for e in estimates[n]]) for n in cbpe.METRICS
    }
    return arrays, {n: np.array(v) for n, v in realized.items()}


@pytest.mark.parametrize("k", [2, 3])
def test_realized_metrics_fall_inside_the_band_on_calibrated_data(k: int) -> None:
    estimates, realized = _chunk_estimates(k, seed=10 * k)
    for name in cbpe.METRICS:
        value, lower, upper = estimates[name].T
        inside = np.mean((lower <= realized[name]) & (realized[name] <= upper))
        assert inside >= 0.9, (name, inside)
        # An unbiased estimate: its error over chunks averages out.
        assert np.mean(value - realized[name]) == pytest.approx(0.0, abs=0.01), name
        assert np.mean(np.abs(value - realized[name])) < 0.03, name


def test_standard_error_matches_the_spread_of_realized_chunks() -> None:
    """The binary SE predicts how much realized precision and recall vary between chunks."""
    ref_y, ref_p = _world(20_000, [2.0, 2.0], seed=3)
    comps = cbpe.binary_components(ref_y == 1, ref_p.argmax(axis=1) == 1, ref_p[:, 1])
    cur_y, cur_p = _world(200_000, [2.0, 2.0], seed=4)  # no shift: the reference's spread
    y, pred = cur_y.reshape(-1, 500), cur_p.argmax(axis=1).reshape(-1, 500)
    for name in ("precision", "recall"):
        per_chunk = [SKLEARN[name](a, b) for a, b in zip(y, pred, strict=True)]
        se = cbpe.binary_standard_error(comps[name], 500)
        assert se == pytest.approx(np.std(per_chunk), rel=0.15), name


@pytest.mark.parametrize("decimals", [None, 2])
def test_expected_roc_auc_is_the_weighted_roc_auc_of_expected_labels(
    decimals: int | None,
) -> None:
    """Each row counted as a positive with weight q and a negative with weight 1 - q: the
    expected ROC curve is sklearn's weighted one (without ties, and with them)."""
    rng = np.random.default_rng(11)
    raw = rng.random(5000)
    if decimals is not None:
        raw = np.round(raw, decimals)
    q = np.clip(raw + rng.normal(0, 0.1, raw.size), 0.0, 1.0)
    expected = skm.roc_auc_score(
        np.r_[np.ones(raw.size), np.zeros(raw.size)],
        np.r_[raw, raw],
        sample_weight=np.r_[q, 1.0 - q],
    )
    assert cbpe.expected_roc_auc(q, raw) == pytest.approx(expected, abs=1e-12)
