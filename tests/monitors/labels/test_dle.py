"""DLE against realized MAE and RMSE (sklearn.metrics) on labeled, covariate-shifted chunks."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import mean_absolute_error, mean_squared_error

from dqm.monitors.labels.dle import fit_loss_models


def _world(n: int, rng: np.random.Generator, shifted: bool) -> tuple[np.ndarray, ...]:
    """The noise grows with |x2|; the shifted window has more rows with large |x2|."""
    x1 = rng.normal(size=n)
    x2 = rng.uniform(-2.5, 2.5, size=n) if shifted else rng.normal(size=n)
    y = x1 + rng.normal(size=n) * (0.3 + 0.6 * np.abs(x2))
    return np.column_stack([x1, x2]), y, x1 + 0.1 * x2


def test_dle_tracks_realized_errors_under_covariate_shift() -> None:
    rng = np.random.default_rng(0)
    x, y, pred = _world(5_000, rng, shifted=False)
    models = fit_loss_models(x, y, pred)
    reference_mae = mean_absolute_error(y, pred)
    errors: dict[str, list[float]] = {"mae": [], "rmse": []}
    inside: dict[str, list[bool]] = {"mae": [], "rmse": []}
    for _ in range(40):
        xc, yc, pc = _world(500, rng, shifted=True)
        realized = {
            "mae": mean_absolute_error(yc, pc),
            "rmse": float(np.sqrt(mean_squared_error(yc, pc))),
        }
        assert realized["mae"] > reference_mae + 0.1  # the shift is real
        for e in models.estimate(xc, pc):
            errors[e.name].append(e.value - realized[e.name])
            inside[e.name].append(e.lower <= realized[e.name] <= e.upper)
    for name in ("mae", "rmse"):
        assert np.mean(np.abs(errors[name])) < 0.06, name
        assert np.mean(inside[name]) >= 0.9, name


def test_missing_features_take_the_reference_median() -> None:
    rng = np.random.default_rng(1)
    x, y, pred = _world(2_000, rng, shifted=False)
    models = fit_loss_models(x, y, pred)
    xc = x[:5].copy()
    xc[:, 1] = np.nan
    filled = xc.copy()
    filled[:, 1] = np.median(x[:, 1])
    got = [e.value for e in models.estimate(xc, pred[:5])]
    assert got == pytest.approx([e.value for e in models.estimate(filled, pred[:5])])
