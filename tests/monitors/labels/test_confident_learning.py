"""Confident learning against cleanlab (test-time oracle only; cleanlab is AGPL)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from cleanlab.count import compute_confident_joint, get_confident_thresholds  # type: ignore[import-untyped]
from cleanlab.filter import find_label_issues as cleanlab_find_label_issues  # type: ignore[import-untyped]
from cleanlab.rank import get_label_quality_scores  # type: ignore[import-untyped]
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_predict

from dqm.monitors.errors import InvalidInputError
from dqm.monitors.labels import confident_learning as cl


def _cleanlab_mask(labels: np.ndarray, probs: np.ndarray) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return np.asarray(cleanlab_find_label_issues(labels, probs, n_jobs=1))


def _random_case(seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    n, k = int(rng.integers(5, 300)), int(rng.integers(2, 6))
    probs = rng.dirichlet(np.ones(k) * rng.uniform(0.2, 3.0), size=n)
    labels = rng.integers(0, k, size=n)
    if seed % 2 == 0:  # mostly agreeing labels, as from a decent model
        labels = np.where(rng.random(n) < 0.7, probs.argmax(axis=1), labels)
    if seed % 5 == 0:  # a class nobody was labeled with
        labels[labels == k - 1] = 0
    return labels.astype(np.int64), probs


def noisy_problem(
    n: int = 1500, k: int = 3, noise: float = 0.1, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Given labels (10% flipped), out-of-sample probabilities, and the flip mask."""
    x, y = make_classification(
        n_samples=n,
        n_features=10,
        n_informative=6,
        n_classes=k,
        n_clusters_per_class=1,
        class_sep=1.5,
        random_state=seed,
    )
    rng = np.random.default_rng(seed)
    flipped = rng.random(n) < noise
    given = np.where(flipped, (y + rng.integers(1, k, size=n)) % k, y)
    probs = cross_val_predict(
        LogisticRegression(max_iter=500), x, given, cv=3, method="predict_proba"
    )
    return given.astype(np.int64), probs, flipped


@pytest.mark.parametrize("seed", range(60))
def test_flagged_rows_equal_cleanlab_on_random_inputs(seed: int) -> None:
    labels, probs = _random_case(seed)
    np.testing.assert_array_equal(
        cl.find_label_issues(labels, probs), _cleanlab_mask(labels, probs)
    )


def test_flagged_rows_equal_cleanlab_with_cross_validated_probabilities() -> None:
    labels, probs, flipped = noisy_problem()
    ours = cl.find_label_issues(labels, probs)
    np.testing.assert_array_equal(ours, _cleanlab_mask(labels, probs))
    # And it finds flipped labels far better than chance (10% base rate).
    precision = (ours & flipped).sum() / ours.sum()
    recall = (ours & flipped).sum() / flipped.sum()
    assert precision > 0.7 and recall > 0.8


@pytest.mark.parametrize("seed", range(20))
def test_confident_joint_and_thresholds_equal_cleanlab(seed: int) -> None:
    labels, probs = _random_case(seed)
    np.testing.assert_allclose(
        cl.confident_thresholds(labels, probs), get_confident_thresholds(labels, probs)
    )
    np.testing.assert_array_equal(
        cl.confident_joint(labels, probs), compute_confident_joint(labels, probs)
    )
    np.testing.assert_array_equal(
        cl.confident_joint(labels, probs, calibrate=False),
        compute_confident_joint(labels, probs, calibrate=False),
    )


def test_calibrated_joint_rows_sum_to_label_counts() -> None:
    labels, probs = _random_case(3)
    joint = cl.confident_joint(labels, probs)
    k = probs.shape[1]
    np.testing.assert_array_equal(joint.sum(axis=1), np.bincount(labels, minlength=k))


def test_row_scores_equal_cleanlab_rank_scores() -> None:
    labels, probs = _random_case(4)
    for method, ours in (
        ("self_confidence", cl.self_confidence(labels, probs)),
        ("normalized_margin", cl.normalized_margin(labels, probs)),
    ):
        theirs = get_label_quality_scores(labels, probs, method=method, adjust_pred_probs=False)
        np.testing.assert_allclose(ours, theirs, atol=1e-12)


def test_hand_example_flags_the_contradicted_row() -> None:
    labels = np.array([0, 0, 0, 1, 1, 1])
    probs = np.array([[0.9, 0.1], [0.8, 0.2], [0.1, 0.9], [0.2, 0.8], [0.3, 0.7], [0.1, 0.9]])
    assert cl.find_label_issues(labels, probs).tolist() == [False, False, True] + [False] * 3


def test_rejects_bad_inputs() -> None:
    with pytest.raises(InvalidInputError):
        cl.find_label_issues(np.array([0, 2]), np.array([[0.5, 0.5], [0.5, 0.5]]))
    with pytest.raises(InvalidInputError):
        cl.find_label_issues(np.array([], dtype=np.int64), np.zeros((0, 2)))


def test_label_issue_metrics_share_findings_and_cap() -> None:
    labels, probs, _ = noisy_problem(n=600, seed=1)
    labels = labels.copy()
    labels[:5] = -1  # unlabeled rows are ignored
    probs = probs.copy()
    probs[5, 0] = np.nan  # so are rows with a missing probability
    ids = np.array([f"r{i}" for i in range(labels.size)], dtype=object)
    metrics, findings = cl.label_issue_metrics(labels, probs, ids, ["a", "b", "c"], "y", 10)
    used = np.arange(6, labels.size)
    expected = _cleanlab_mask(labels[used], probs[used])
    share = metrics[0].value
    assert metrics[0].name == "label_issue_share" and share == pytest.approx(expected.mean())
    assert metrics[1].name == "label_health_score" and metrics[1].value == pytest.approx(
        1 - (share or 0)
    )
    assert len(findings) == 10
    scores = [f.score for f in findings]
    assert scores == sorted(scores, reverse=True)
    flagged_ids = {f"r{i}" for i in used[expected]}
    top = findings[0]
    assert top.row_id in flagged_ids and top.reason == "label_issue" and top.column == "y"
    row = int(top.row_id[1:])
    assert top.score == pytest.approx(1 - probs[row, labels[row]] / probs[row].sum())
    assert top.details["given_label"] == "abc"[labels[row]]
    assert top.details["suggested_label"] == "abc"[int(probs[row].argmax())]


def test_label_issue_metrics_skip_without_enough_rows() -> None:
    metrics, findings = cl.label_issue_metrics(
        np.array([0, -1]),
        np.array([[0.6, 0.4], [0.5, 0.5]]),
        np.array(["a", "b"]),
        ["x", "y"],
        "t",
        5,
    )
    assert [m.value for m in metrics] == [None, None] and findings == []
    assert metrics[0].status.startswith("skipped")


def _ulp_case(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Repeated probability rows, each scaled by 1 + m ulp (|m| <= 4): sums are 1 +- ~1e-15."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(30, 300))
    base = np.array(
        [[0.6, 0.3, 0.1], [0.3, 0.6, 0.1], [0.1, 0.3, 0.6], [0.45, 0.45, 0.1], [0.2, 0.2, 0.6]]
    )
    ulps = rng.integers(-4, 5, n)[:, None] * np.finfo(np.float64).eps
    probs = base[rng.integers(0, 5, n)] * (1 + ulps)
    labels = np.where(rng.random(n) < 0.75, probs.argmax(axis=1), rng.integers(0, 3, n))
    return labels.astype(np.int64), probs


@pytest.mark.parametrize("seed", [7, 32, 156, 235, 299])
def test_rows_summing_to_one_within_ulps_are_read_as_given(seed: int) -> None:
    labels, probs = _ulp_case(seed)
    assert np.abs(probs.sum(axis=1) - 1).max() < 1e-14
    want = _cleanlab_mask(labels, probs)
    # Rescaling these rows reorders tied margins: cleanlab itself then flags other rows.
    assert (_cleanlab_mask(labels, probs / probs.sum(axis=1, keepdims=True)) != want).any()
    ids = np.array([f"r{i}" for i in range(labels.size)], dtype=object)
    metrics, findings = cl.label_issue_metrics(labels, probs, ids, ["a", "b", "c"], "y", 10_000)
    assert metrics[0].value == pytest.approx(want.mean())
    assert {f.row_id for f in findings} == {f"r{i}" for i in np.flatnonzero(want)}


def test_rows_off_by_more_than_the_tolerance_are_rescaled() -> None:
    labels, probs = _random_case(2)
    scaled = probs * np.linspace(0.5, 3.0, probs.shape[0])[:, None]
    ids = np.array([str(i) for i in range(labels.size)], dtype=object)
    classes = [str(c) for c in range(probs.shape[1])]
    metrics, findings = cl.label_issue_metrics(labels, scaled, ids, classes, "y", 10_000)
    want = _cleanlab_mask(labels, scaled / scaled.sum(axis=1, keepdims=True))
    assert metrics[0].value == pytest.approx(want.mean())
    assert {f.row_id for f in findings} == {str(i) for i in np.flatnonzero(want)}


def test_calibrated_joint_equals_cleanlab_on_noisy_digits() -> None:
    # 20% of the digits labels flipped, 3-fold out-of-sample probabilities, 363 rows: the
    # rescaled joint's total, summed in another memory order, once rounded one entry differently.
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    rng = np.random.default_rng(3)
    given = np.where(rng.random(y.size) < 0.2, (y + rng.integers(1, 10, size=y.size)) % 10, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        probs = cross_val_predict(
            LogisticRegression(max_iter=2000), x / 16, given, cv=3, method="predict_proba"
        )
    rows = rng.choice(y.size, 363, replace=False)
    labels, probs = given[rows].astype(np.int64), probs[rows]
    np.testing.assert_array_equal(
        cl.confident_joint(labels, probs), compute_confident_joint(labels, probs)
    )
    np.testing.assert_array_equal(
        cl.find_label_issues(labels, probs), _cleanlab_mask(labels, probs)
    )
