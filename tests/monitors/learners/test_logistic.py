"""fit_logistic against sklearn.linear_model.LogisticRegression on the domain-classifier design."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from sklearn.linear_model import LogisticRegression

from dqm.monitors.drift.domain_classifier import design_matrix
from dqm.monitors.learners.logistic import fit_logistic
from dqm.monitors.schema import ColumnSpec, Schema

SCHEMA = Schema(
    columns=[
        ColumnSpec(name="x", type="numerical"),
        ColumnSpec(name="y", type="numerical"),
        ColumnSpec(name="c", type="categorical"),
    ]
)


def _table(seed: int, n: int, corr: float) -> pa.Table:
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 1, n)
    y = corr * x + np.sqrt(1 - corr**2) * rng.normal(0, 1, n)
    y[rng.random(n) < 0.05] = np.nan
    return pa.table({"x": x, "y": y, "c": rng.choice(["a", "b", "c"], n).tolist()})


def test_logistic_fit_matches_sklearn() -> None:
    x = design_matrix([_table(0, 300, 0.5), _table(1, 300, -0.5)], SCHEMA.columns)
    y = np.repeat([0, 1], 300)
    w = fit_logistic(np.column_stack([np.ones(600), x]), y, l2=1.0)
    model = LogisticRegression(C=1.0, tol=1e-12, max_iter=10_000).fit(x, y)
    np.testing.assert_allclose(w[0], model.intercept_[0], rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(w[1:], model.coef_[0], rtol=1e-4, atol=1e-6)
