"""Seeded inputs of the NannyML oracle, regenerated from the parameters in ``nannyml_0_13.json``.

Both the fixture script (in NannyML's environment) and the tests import this module, so it
needs numpy only. It draws from one PCG64 ``Generator`` with ``dirichlet`` (alphas >= 0.1),
``random`` and ``normal``, whose streams have stayed the same across numpy releases; numpy
does not promise that for ``Generator``, so :func:`fingerprint` is stored in the fixture and a
changed stream fails a check instead of comparing estimates made on different data.

Model scores are deliberately over-confident (a monotone distortion of the true
probabilities), so NannyML decides to calibrate them, as dqm always does. The analysis data is
covariate-shifted; labels still follow the true probabilities (no concept drift).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
PERIODS = ("reference", "analysis")
TASKS = ("binary", "multiclass", "regression")


@dataclass(frozen=True)
class InputParams:
    """What the inputs are drawn from; stored in the fixture as ``params``.

    Parameters
    ----------
    seed
        Seed of the single PCG64 generator all tasks draw from, in the order of ``TASKS``.
    n_reference, n_analysis
        Rows of each period.
    decimals
        Model scores and regression columns are rounded to this many decimals.
    score_power
        Over-confidence of the model: scores are the true probabilities to this power,
        renormalized.
    alpha_reference, alpha_analysis
        Symmetric Dirichlet concentration of the true class probabilities; the smaller
        analysis alpha makes the analysis rows more clear-cut (covariate shift).
    x2_scale_reference, x2_scale_analysis
        Standard deviation of the regression feature ``x2``, which drives the noise.
    """

    seed: int
    n_reference: int
    n_analysis: int
    decimals: int
    score_power: float
    alpha_reference: float
    alpha_analysis: float
    x2_scale_reference: float
    x2_scale_analysis: float

    def rows(self, period: str) -> int:
        return self.n_reference if period == "reference" else self.n_analysis


@dataclass(frozen=True)
class Classification:
    """One period of a classification task: model scores (rows x classes) and true labels."""

    probs: FloatArray
    labels: IntArray


@dataclass(frozen=True)
class Regression:
    """One period of the regression task: features, target and the model's prediction."""

    x1: FloatArray
    x2: FloatArray
    y: FloatArray
    prediction: FloatArray

    def columns(self) -> dict[str, FloatArray]:
        return {"x1": self.x1, "x2": self.x2, "y": self.y, "prediction": self.prediction}


@dataclass(frozen=True)
class Inputs:
    """Every task's data by period (``"reference"``, ``"analysis"``)."""

    binary: dict[str, Classification]
    multiclass: dict[str, Classification]
    regression: dict[str, Regression]

    def arrays(self) -> dict[str, NDArray[Any]]:
        """Each array by a dotted name such as ``binary.reference.probs``."""
        out: dict[str, NDArray[Any]] = {}
        for task, data in (("binary", self.binary), ("multiclass", self.multiclass)):
            for period in PERIODS:
                out[f"{task}.{period}.probs"] = data[period].probs
                out[f"{task}.{period}.labels"] = data[period].labels
        for period in PERIODS:
            for name, values in self.regression[period].columns().items():
                out[f"regression.{period}.{name}"] = values
        return out


def _sharpen(p: FloatArray, power: float) -> FloatArray:
    """An over-confident model: ``p ** power`` renormalized, kept away from 0 and 1."""
    s = p**power
    return np.asarray(0.98 * s / s.sum(axis=1, keepdims=True) + 0.02 / p.shape[1])


def _draw_labels(rng: np.random.Generator, probs: FloatArray) -> IntArray:
    u = rng.random((probs.shape[0], 1))
    return np.asarray((u > np.cumsum(probs, axis=1)).sum(axis=1), dtype=np.int64)


def _classification(
    rng: np.random.Generator, params: InputParams, k: int
) -> dict[str, Classification]:
    alphas = {"reference": params.alpha_reference, "analysis": params.alpha_analysis}
    out: dict[str, Classification] = {}
    for period in PERIODS:
        true_p = rng.dirichlet([alphas[period]] * k, size=params.rows(period))
        probs = np.round(_sharpen(true_p, params.score_power), params.decimals)
        out[period] = Classification(probs=probs, labels=_draw_labels(rng, true_p))
    return out


def _regression(rng: np.random.Generator, params: InputParams) -> dict[str, Regression]:
    scales = {"reference": params.x2_scale_reference, "analysis": params.x2_scale_analysis}
    out: dict[str, Regression] = {}
    for period in PERIODS:
        n = params.rows(period)
        x1, x2 = rng.normal(size=n), rng.normal(scale=scales[period], size=n)
        y = x1 + rng.normal(size=n) * (0.3 + 0.6 * np.abs(x2))  # noisier where |x2| is large
        prediction = x1 + 0.1 * x2
        columns = (np.round(v, params.decimals) for v in (x1, x2, y, prediction))
        out[period] = Regression(*columns)
    return out


def generate(params: InputParams) -> Inputs:
    """Draw the binary, 3-class and regression inputs, in that order, from ``params.seed``."""
    rng = np.random.default_rng(params.seed)
    binary = _classification(rng, params, 2)
    multiclass = _classification(rng, params, 3)
    return Inputs(binary=binary, multiclass=multiclass, regression=_regression(rng, params))


def fingerprint(inputs: Inputs) -> dict[str, dict[str, Any]]:
    """Per array: SHA-256 of its shape and little-endian bytes, and its first values.

    The digest decides whether regenerated inputs are the ones the expected numbers were
    computed on; the first values show how far a drifted array moved.
    """
    out: dict[str, dict[str, Any]] = {}
    for name, values in inputs.arrays().items():
        kind = "<f8" if values.dtype.kind == "f" else "<i8"
        canonical = np.ascontiguousarray(values, dtype=kind)
        digest = hashlib.sha256(repr(canonical.shape).encode() + canonical.tobytes())
        out[name] = {"sha256": digest.hexdigest(), "first": canonical.ravel()[:3].tolist()}
    return out


def drifted(inputs: Inputs, stored: dict[str, dict[str, Any]]) -> list[str]:
    """Names of the arrays whose regenerated digest differs from ``stored`` (or is missing)."""
    current = fingerprint(inputs)
    names = sorted(set(current) | set(stored))
    return [n for n in names if current.get(n, {}).get("sha256") != stored.get(n, {}).get("sha256")]
