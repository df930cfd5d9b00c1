"""isotonic_fit against sklearn.isotonic.IsotonicRegression."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.isotonic import IsotonicRegression

from dqm.monitors.learners.isotonic import isotonic_fit


@pytest.mark.parametrize("seed", range(8))
def test_isotonic_fit_equals_sklearn(seed: int) -> None:
    rng = np.random.default_rng(seed)
    x = np.round(rng.random(500), 2)  # many tied x values
    y = (rng.random(500) < x).astype(np.float64)
    grid = np.linspace(-0.1, 1.1, 301)
    expected = IsotonicRegression(out_of_bounds="clip").fit(x, y).predict(grid)
    np.testing.assert_allclose(isotonic_fit(x, y).predict(grid), expected, atol=1e-12)


def test_isotonic_fit_equals_sklearn_on_many_values_and_weights_by_ties() -> None:
    rng = np.random.default_rng(42)
    x = np.concatenate([rng.random(50_000), np.round(rng.random(50_000), 3)])
    y = rng.normal(x, 0.5)
    grid = np.sort(np.concatenate([rng.random(2_000), x[:500], [-1.0, 2.0]]))
    expected = IsotonicRegression(out_of_bounds="clip").fit(x, y).predict(grid)
    np.testing.assert_allclose(isotonic_fit(x, y).predict(grid), expected, atol=1e-12)
