"""Boosted stumps against sklearn's GradientBoostingRegressor with depth-1 trees."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.ensemble import GradientBoostingRegressor

from dqm.monitors.learners.boosting import fit_boosted_stumps, split_candidates


@pytest.mark.parametrize("seed", range(3))
def test_equals_sklearn_depth_one_boosting(seed: int) -> None:
    # Few distinct values per feature: both search the same split candidates.
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 15, size=(500, 3)).astype(np.float64)
    y = np.sin(x[:, 0]) + 0.3 * x[:, 1] + rng.normal(size=500)
    ours = fit_boosted_stumps(x, y, rounds=60, learning_rate=0.1, min_leaf=5)
    theirs = GradientBoostingRegressor(
        n_estimators=60, max_depth=1, min_samples_leaf=5, learning_rate=0.1
    ).fit(x, y)
    probe = rng.integers(-2, 17, size=(200, 3)).astype(np.float64)
    np.testing.assert_allclose(ours.predict(probe), theirs.predict(probe), atol=1e-10)


def test_split_candidates_are_midpoints_or_quantile_midpoints() -> None:
    assert split_candidates(np.array([3.0, 1.0, 2.0, 2.0]), 8).tolist() == [1.5, 2.5]
    many = split_candidates(np.arange(1000.0), 4)
    assert many.tolist() == pytest.approx([124.875, 374.625, 624.375, 874.125])


def test_min_leaf_stops_splitting() -> None:
    x, y = np.arange(10.0)[:, None], np.arange(10.0)
    model = fit_boosted_stumps(x, y, rounds=5, min_leaf=6)
    assert model.features.size == 0
    np.testing.assert_allclose(model.predict(x), y.mean())
