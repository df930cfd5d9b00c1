"""L2-regularized logistic regression fitted by Newton's method, in numpy.

Symmetric data with labels rising along ``x`` give a zero intercept and a positive slope:

>>> import numpy as np
>>> x = np.column_stack([np.ones(4), [-2.0, -1.0, 1.0, 2.0]])
>>> w = fit_logistic(x, np.array([0, 0, 1, 1]), l2=1.0)
>>> abs(float(w[0])) < 1e-9, bool(w[1] > 0)
(True, True)
"""

from __future__ import annotations

import numpy as np

from dqm.monitors.columns import FloatArray, IntArray


def fit_logistic(x: FloatArray, y: IntArray, l2: float = 1.0, iterations: int = 50) -> FloatArray:
    """Newton's method for ``sum logloss + l2/2 |w|^2`` (intercept, first weight, not penalized).

    ``x`` must carry a leading column of ones. Same objective as scikit-learn's
    ``LogisticRegression(C=1/l2)``.
    """
    w = np.zeros(x.shape[1])
    penalty = np.full(x.shape[1], l2)
    penalty[0] = 0.0
    for _ in range(iterations):
        prob = 1.0 / (1.0 + np.exp(-(x @ w)))
        grad = x.T @ (prob - y) + penalty * w
        hess = (
            (x * (prob * (1.0 - prob))[:, None]).T @ x + np.diag(penalty) + 1e-10 * np.eye(w.size)
        )
        step = np.linalg.solve(hess, grad)
        w -= step
        if float(np.max(np.abs(step))) < 1e-10:
            break
    return w
