"""Isotonic regression: the least-squares non-decreasing fit, by pool-adjacent-violators.

>>> import numpy as np
>>> f = isotonic_fit(np.array([1.0, 2.0, 3.0]), np.array([2.0, 1.0, 3.0]))
>>> f.predict(np.array([1.0, 2.0, 3.0])).tolist()
[1.5, 1.5, 3.0]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import isotonic_regression

from dqm.monitors.columns import FloatArray


@dataclass(frozen=True)
class IsotonicFit:
    """A non-decreasing step function through ``(x, y)`` knots, linear between, clipped outside."""

    x: FloatArray
    y: FloatArray

    def predict(self, values: FloatArray) -> FloatArray:
        """The fitted function at ``values``."""
        return np.asarray(np.interp(values, self.x, self.y), dtype=np.float64)


def _pool_adjacent_violators(y: FloatArray, w: FloatArray) -> FloatArray:
    """Weighted least-squares non-decreasing fit of ``y`` (Ayer et al. 1955, PAV).

    SciPy's compiled stack algorithm: one pass, O(n), instead of a Python loop per value.
    """
    return np.asarray(isotonic_regression(y, weights=w, increasing=True).x, dtype=np.float64)


def isotonic_fit(x: FloatArray, y: FloatArray) -> IsotonicFit:
    """Fit a non-decreasing function of ``x`` to ``y`` by pool-adjacent-violators.

    Equal ``x`` values are pooled first (their mean ``y``, weighted by count), as
    ``sklearn.isotonic.IsotonicRegression`` does.

    >>> f = isotonic_fit(np.array([1.0, 2.0, 3.0, 4.0]), np.array([1.0, 3.0, 2.0, 4.0]))
    >>> f.predict(np.array([0.0, 2.0, 3.5, 9.0])).tolist()
    [1.0, 2.5, 3.25, 4.0]
    """
    ux, inverse, counts = np.unique(x, return_inverse=True, return_counts=True)
    sums = np.bincount(inverse, weights=y, minlength=ux.size)
    fitted = _pool_adjacent_violators(sums / counts, counts.astype(np.float64))
    # Inner points of a constant run change nothing under interpolation; dropping them makes
    # predict fast (a few hundred knots instead of one per distinct reference value).
    keep = np.ones(fitted.size, dtype=bool)
    keep[1:-1] = (fitted[1:-1] != fitted[:-2]) | (fitted[1:-1] != fitted[2:])
    return IsotonicFit(ux[keep].astype(np.float64), fitted[keep])
