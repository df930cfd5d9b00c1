"""Domain-classifier drift: out-of-fold AUC against scikit-learn, behaviour on shifts."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from dqm.monitors.drift.domain_classifier import classifier_auc
from dqm.monitors.drift.monitor import DriftMonitor, DriftParams
from dqm.monitors.schema import ColumnSpec, Schema
from tests.monitors.tables import XYC_SCHEMA, correlated_table


def test_correlation_flip_is_invisible_per_column_but_not_to_the_classifier() -> None:
    ref, cur = correlated_table(0, 3000, 0.8), correlated_table(1, 3000, -0.8)
    params = DriftParams(domain_classifier=True)
    r = DriftMonitor().run(ref, cur, XYC_SCHEMA, params)
    assert r.value("number_drifted_columns") == 0.0
    auc = r.metric("domain_classifier_auc")
    assert auc.value is not None and auc.value > 0.8
    assert auc.drifted is True


def test_identical_distributions_give_chance_auc_deterministically() -> None:
    params = DriftParams(domain_classifier=True)
    a = DriftMonitor().run(
        correlated_table(0, 2000, 0.3), correlated_table(1, 2000, 0.3), XYC_SCHEMA, params
    )
    b = DriftMonitor().run(
        correlated_table(0, 2000, 0.3), correlated_table(1, 2000, 0.3), XYC_SCHEMA, params
    )
    m = a.metric("domain_classifier_auc")
    assert m.value is not None and abs(m.value - 0.5) < 0.05
    assert m.drifted is False
    assert m == b.metric("domain_classifier_auc")


def _embeddings(seed: int, n: int, shift: float, dims: int = 48) -> pa.Array:
    rng = np.random.default_rng(seed)
    vectors = rng.normal(0, 1, (n, dims))
    vectors[:, :3] += shift
    rows: list[list[float] | None] = [list(v) for v in vectors]
    rows[0] = None
    return pa.array(rows, type=pa.list_(pa.float32()))


EMB_SCHEMA = Schema(columns=[ColumnSpec(name="e", type="embedding")])


def test_classifier_auc_matches_sklearn_out_of_fold() -> None:
    rng = np.random.default_rng(5)
    ref, cur = rng.normal(0, 1, (400, 4)), rng.normal(0.2, 1, (300, 4))
    got = classifier_auc(ref, cur)
    fold = np.random.default_rng(0).permutation(700) % 2  # the seeded split classifier_auc uses
    x, y = np.vstack([ref, cur]), np.repeat([0, 1], [400, 300])
    scores = np.empty(700)
    for k in (0, 1):
        model = LogisticRegression(C=1.0, tol=1e-12, max_iter=10_000).fit(
            x[fold != k], y[fold != k]
        )
        scores[fold == k] = model.decision_function(x[fold == k])
    assert got == pytest.approx(roc_auc_score(y, scores), abs=1e-6)


def test_embedding_drift_detects_a_shift_and_reports_missing_vectors() -> None:
    ref = pa.table({"e": _embeddings(0, 800, 0.0)})
    shifted = DriftMonitor().run(
        ref, pa.table({"e": _embeddings(1, 600, 1.0)}), EMB_SCHEMA, DriftParams()
    )
    m = shifted.metric("drift_score", "e")
    assert m.method == "domain_classifier" and m.threshold == 0.55
    assert m.value is not None and m.value > 0.7 and m.drifted is True
    assert shifted.value("missing_share", "e") == pytest.approx(1 / 600)
    same = DriftMonitor().run(
        ref, pa.table({"e": _embeddings(2, 600, 0.0)}), EMB_SCHEMA, DriftParams()
    )
    assert same.metric("drift_score", "e").drifted is False


def test_embedding_of_another_length_is_skipped() -> None:
    ref = pa.table({"e": _embeddings(0, 50, 0.0, dims=8)})
    cur = pa.table({"e": _embeddings(1, 50, 0.0, dims=6)})
    m = DriftMonitor().run(ref, cur, EMB_SCHEMA, DriftParams()).metric("drift_score", "e")
    assert m.value is None and m.status == "skipped: vector length 6 differs from 8"
