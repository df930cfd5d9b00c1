"""Direct loss estimation (NannyML's DLE): estimated MAE and RMSE of a regressor without labels.

On the labeled reference, one model learns each row's absolute error ``|y - ŷ|`` and another
its squared error from the features and the prediction ``ŷ``. On a window, the estimated MAE
is the mean predicted absolute error and the estimated RMSE the square root of the mean
predicted squared error (negative predictions clipped to 0), as in NannyML 0.13. NannyML fits
LightGBM; here the loss models are gradient-boosted stumps
(:mod:`dqm.monitors.learners.boosting`), so estimates differ from NannyML's by the difference
between the two learners. Like CBPE, DLE assumes P(y | x) is unchanged (no concept drift).

Standard errors are NannyML's: ``std(|e|) / sqrt(n)`` for MAE and
``sqrt(std(e²)² / (4 n mean(e²)))`` for RMSE, from the reference errors ``e``; bands are
the estimate ± 3 SE, clipped at 0.

>>> import numpy as np
>>> x = np.linspace(0.0, 1.0, 400)[:, None]
>>> y, pred = np.zeros(400), np.where(x[:, 0] > 0.5, 2.0, 0.0)
>>> model = fit_loss_models(x, y, pred)
>>> [round(e.value, 2) for e in model.estimate(np.array([[0.9], [0.95]]), np.array([2.0, 2.0]))]
[2.0, 2.0]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dqm.monitors.columns import FloatArray
from dqm.monitors.labels.cbpe import BAND_WIDTH, Estimate
from dqm.monitors.learners.boosting import BoostedStumps, fit_boosted_stumps


@dataclass(frozen=True)
class LossModels:
    """The reference's loss models and the statistics of its errors."""

    fill: FloatArray  # per-column reference median, used for missing feature values
    absolute: BoostedStumps
    squared: BoostedStumps
    abs_error_std: float
    sq_error_std: float
    sq_error_mean: float

    def _inputs(self, features: FloatArray, predicted: FloatArray) -> FloatArray:
        x = np.column_stack([features, predicted]) if features.size else predicted[:, None]
        return np.where(np.isnan(x), self.fill, x)

    def estimate(self, features: FloatArray, predicted: FloatArray) -> list[Estimate]:
        """Estimated ``mae`` and ``rmse`` of a window with their standard errors and bands.

        Parameters
        ----------
        features
            ``(m, d)`` feature values (NaN: missing), the same columns as in the fit.
        predicted
            The model's ``m`` predictions (complete).
        """
        x = self._inputs(features, predicted)
        m = predicted.size
        mae = float(np.mean(np.maximum(0.0, self.absolute.predict(x))))
        rmse = float(np.sqrt(np.mean(np.maximum(0.0, self.squared.predict(x)))))
        mae_se = self.abs_error_std / float(np.sqrt(m))
        rmse_se = (
            float(np.sqrt(self.sq_error_std**2 / (4 * m * self.sq_error_mean)))
            if self.sq_error_mean > 0
            else 0.0
        )
        return [_with_band("mae", mae, mae_se), _with_band("rmse", rmse, rmse_se)]


def _with_band(name: str, value: float, se: float) -> Estimate:
    return Estimate(name, value, se, max(0.0, value - BAND_WIDTH * se), value + BAND_WIDTH * se)


def fit_loss_models(features: FloatArray, target: FloatArray, predicted: FloatArray) -> LossModels:
    """Fit the absolute- and squared-error models on labeled, predicted reference rows.

    Parameters
    ----------
    features
        ``(n, d)`` feature values (NaN: missing; ``d`` may be 0).
    target, predicted
        The complete labels and predictions of the same rows.
    """
    x = np.column_stack([features, predicted]) if features.size else predicted[:, None]
    fill = np.array(
        [np.nanmedian(c) if (~np.isnan(c)).any() else 0.0 for c in x.T], dtype=np.float64
    )
    x = np.where(np.isnan(x), fill, x)
    error = target - predicted
    return LossModels(
        fill=fill,
        absolute=fit_boosted_stumps(x, np.abs(error)),
        squared=fit_boosted_stumps(x, error**2),
        abs_error_std=float(np.std(np.abs(error))),
        sq_error_std=float(np.std(error**2)),
        sq_error_mean=float(np.mean(error**2)),
    )
