"""fit_logistic against sklearn.linear_model.LogisticRegression on the domain-classifier design."""

from __future__ import annotations

import numpy as np
from sklearn.linear_model import LogisticRegression

from dqm.monitors.drift.domain_classifier import design_matrix
from dqm.monitors.learners.logistic import fit_logistic
from tests.monitors.tables import XYC_SCHEMA, correlated_table


def test_logistic_fit_matches_sklearn() -> None:
    x = design_matrix(
        [correlated_table(0, 300, 0.5), correlated_table(1, 300, -0.5)], XYC_SCHEMA.columns
    )
    y = np.repeat([0, 1], 300)
    w = fit_logistic(np.column_stack([np.ones(600), x]), y, l2=1.0)
    model = LogisticRegression(C=1.0, tol=1e-12, max_iter=10_000).fit(x, y)
    np.testing.assert_allclose(w[0], model.intercept_[0], rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(w[1:], model.coef_[0], rtol=1e-4, atol=1e-6)
