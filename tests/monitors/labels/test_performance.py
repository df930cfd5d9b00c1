"""Realized metrics against sklearn.metrics; calibration against sklearn.isotonic."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as skm
from sklearn.isotonic import IsotonicRegression

import dqm.monitors.labels.performance as perf


def _multiclass(seed: int, k: int = 4, n: int = 300) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    probs = rng.dirichlet(np.ones(k), size=n)
    y = np.array([rng.choice(k, p=p) for p in probs], dtype=np.int64)
    pred = probs.argmax(axis=1).astype(np.int64)
    return y, pred, probs


@pytest.mark.parametrize("seed", range(5))
def test_label_metrics_equal_sklearn(seed: int) -> None:
    y, pred, _ = _multiclass(seed)
    pred[pred == 3] = 0  # a class that is never predicted: precision 0 for it
    assert perf.accuracy(y, pred) == pytest.approx(skm.accuracy_score(y, pred))
    for ours, theirs in (
        (perf.precision_macro, skm.precision_score),
        (perf.recall_macro, skm.recall_score),
        (perf.f1_macro, skm.f1_score),
    ):
        expected = theirs(y, pred, average="macro", zero_division=0)
        assert ours(y, pred) == pytest.approx(expected, abs=1e-12)


def test_macro_scores_skip_classes_absent_from_both_sides() -> None:
    y, pred = np.array([0, 2, 2, 0]), np.array([0, 2, 0, 0])
    expected = skm.f1_score(y, pred, average="macro", zero_division=0)
    assert perf.f1_macro(y, pred) == pytest.approx(expected)


@pytest.mark.parametrize("seed", range(5))
def test_roc_auc_equals_sklearn(seed: int) -> None:
    y, _, probs = _multiclass(seed)
    probs = np.round(probs, 2)  # ties
    expected = skm.roc_auc_score(y, probs / probs.sum(axis=1, keepdims=True), multi_class="ovr")
    ours = perf.roc_auc(y, probs / probs.sum(axis=1, keepdims=True))
    assert ours == pytest.approx(expected, abs=1e-12)
    yb, _, pb = _multiclass(seed, k=2)
    assert perf.roc_auc(yb, np.round(pb, 2)) == pytest.approx(
        skm.roc_auc_score(yb, np.round(pb, 2)[:, 1]), abs=1e-12
    )


def test_roc_auc_is_nan_with_one_class() -> None:
    assert np.isnan(perf.roc_auc(np.array([1, 1]), np.array([[0.3, 0.7], [0.4, 0.6]])))


def test_regression_metrics_equal_sklearn() -> None:
    rng = np.random.default_rng(0)
    y, p = rng.normal(size=200), rng.normal(size=200)
    assert perf.mae(y, p) == pytest.approx(skm.mean_absolute_error(y, p))
    assert perf.rmse(y, p) == pytest.approx(np.sqrt(skm.mean_squared_error(y, p)))
    y[3], p[7] = np.nan, np.nan
    got = perf.regression_metrics(y, p)
    keep = ~(np.isnan(y) | np.isnan(p))
    assert got["mae"] == pytest.approx(skm.mean_absolute_error(y[keep], p[keep]))


def test_binary_calibration_equals_sklearn_isotonic() -> None:
    y, _, probs = _multiclass(1, k=2, n=400)
    cur = np.random.default_rng(9).dirichlet([1.0, 1.0], size=50)
    expected = IsotonicRegression(out_of_bounds="clip").fit(probs[:, 1], y).predict(cur[:, 1])
    cal = perf.calibrate_probabilities(y, probs, cur)
    np.testing.assert_allclose(cal[:, 1], expected, atol=1e-12)
    np.testing.assert_allclose(cal.sum(axis=1), 1.0)


def _calibrated_world(n: int, alpha: list[float], seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Probabilities that are calibrated by construction: y is drawn from them."""
    rng = np.random.default_rng(seed)
    probs = rng.dirichlet(alpha, size=n)
    u = rng.random(n)[:, None]
    y = (u > np.cumsum(probs, axis=1)).sum(axis=1).astype(np.int64)
    return y, probs


@pytest.mark.parametrize("k", [2, 3])
def test_cbpe_tracks_realized_accuracy_under_covariate_shift(k: int) -> None:
    ref_y, ref_p = _calibrated_world(20_000, [1.0] * k, seed=1)
    # The current window is more confident (covariate shift), labels still follow P(y|x).
    cur_y, cur_p = _calibrated_world(20_000, [0.4] * k, seed=2)
    predicted = cur_p.argmax(axis=1)
    estimate = perf.cbpe_accuracy(ref_y, ref_p, cur_p, predicted)
    realized = perf.accuracy(cur_y, predicted)
    assert realized - perf.accuracy(ref_y, ref_p.argmax(axis=1)) > 0.05  # a real change
    assert estimate == pytest.approx(realized, abs=0.015)


def test_cbpe_cannot_see_concept_drift() -> None:
    ref_y, ref_p = _calibrated_world(5_000, [1.0, 1.0, 1.0], seed=3)
    cur_y, cur_p = _calibrated_world(5_000, [1.0, 1.0, 1.0], seed=4)
    predicted = cur_p.argmax(axis=1)
    flipped = (cur_y + 1) % 3  # P(y|x) changed: every label moves
    estimate = perf.cbpe_accuracy(ref_y, ref_p, cur_p, predicted)
    assert perf.accuracy(flipped, predicted) < 0.3 < estimate  # documented blind spot


def test_estimated_accuracy_ignores_unusable_rows() -> None:
    ref_y, ref_p = _calibrated_world(2_000, [1.0, 1.0], seed=5)
    cur_p = ref_p[:100].copy()
    predicted = cur_p.argmax(axis=1)
    cur_p[0, 0] = np.nan
    predicted[1] = -1
    expected = perf.cbpe_accuracy(ref_y, ref_p, cur_p[2:], predicted[2:])
    assert perf.estimated_accuracy(ref_y, ref_p, cur_p, predicted) == pytest.approx(expected)
    assert np.isnan(perf.estimated_accuracy(np.full(2_000, -1), ref_p, cur_p, predicted))


def test_classification_metrics_use_labeled_predicted_rows() -> None:
    labels = np.array([0, 1, -1, 1, 0])
    predicted = np.array([0, 1, 1, -1, 1])
    probs = np.array([[0.8, 0.2], [0.3, 0.7], [0.4, 0.6], [0.1, 0.9], [0.45, 0.55]])
    got = perf.classification_metrics(labels, predicted, probs)
    assert got["accuracy"] == pytest.approx(skm.accuracy_score([0, 1, 0], [0, 1, 1]))
    assert got["roc_auc"] == pytest.approx(skm.roc_auc_score([0, 1, 1, 0], [0.2, 0.7, 0.9, 0.55]))
    none = perf.classification_metrics(np.full(5, -1), predicted, None)
    assert all(np.isnan(v) for v in none.values())


def test_compare_metrics_reports_reference_and_difference() -> None:
    out = perf.compare_metrics(("accuracy", "mae"), {"accuracy": 0.8}, {"accuracy": 0.9})
    assert out[0].value == 0.8
    assert out[0].details["reference"] == 0.9
    assert out[0].details["difference"] == pytest.approx(-0.1)
    assert out[1].value is None and out[1].status.startswith("skipped")


@pytest.mark.parametrize("k", [2, 3, 5])
def test_ranked_roc_auc_equals_sklearn_on_the_labeled_rows(k: int) -> None:
    from dqm.monitors.labels.matrix import ranked

    rng = np.random.default_rng(k)
    probs = rng.dirichlet(np.ones(k), size=3000)
    labels = np.where(rng.random(3000) < 0.7, rng.integers(0, k, 3000), -1)
    ranks = [ranked(probs[:, c]) for c in range(k)]
    got = perf.ranked_roc_auc(labels, ranks)
    y, p = labels[labels >= 0], probs[labels >= 0]
    if k == 2:
        expected = skm.roc_auc_score(y, p[:, 1])
    else:
        expected = skm.roc_auc_score(y, p, multi_class="ovr", average="macro")
    assert got == pytest.approx(expected, abs=1e-12)
    # The same number as the search into sorted negatives, bit for bit.
    assert got == perf.roc_auc(y, p)


def test_ranked_roc_auc_declines_tied_scores_and_classification_metrics_fall_back() -> None:
    from dqm.monitors.labels.matrix import ranked

    rng = np.random.default_rng(9)
    probs = np.round(rng.dirichlet(np.ones(3), size=2000), 2)
    labels = rng.integers(0, 3, 2000)
    ranks = [ranked(probs[:, c]) for c in range(3)]
    assert perf.ranked_roc_auc(labels, ranks) is None
    rows = np.ones(2000, dtype=bool)
    got = perf.classification_metrics(labels, labels, probs, (rows, ranks))
    expected = np.mean([skm.roc_auc_score(labels == c, probs[:, c]) for c in range(3)])
    assert got["roc_auc"] == pytest.approx(expected, abs=1e-12)
