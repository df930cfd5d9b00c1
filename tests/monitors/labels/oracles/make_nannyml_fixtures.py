"""Write nannyml_0_13.json: seeded inputs and NannyML 0.13's CBPE and DLE estimates on them.

NannyML's pins conflict with dqm's, so this runs in its own environment (see README.md):

    python -m venv /tmp/nannyml-env
    /tmp/nannyml-env/bin/pip install 'nannyml==0.13.*' statsmodels
    /tmp/nannyml-env/bin/python tests/monitors/labels/oracles/make_nannyml_fixtures.py

Model scores are deliberately over-confident (a monotone distortion of the true
probabilities), so NannyML decides to calibrate them, as dqm always does. The analysis data
is covariate-shifted; labels still follow the true probabilities (no concept drift).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

os.environ.setdefault("NML_DISABLE_USAGE_LOGGING", "1")  # no usage statistics sent home

import nannyml as nml  # type: ignore[import-not-found]  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

SEED = 20260601
N_REFERENCE = 2000
N_ANALYSIS = 2000
CHUNK_SIZE = 500
DECIMALS = 10  # inputs are rounded before NannyML sees them, so both sides read the same numbers
OUT = Path(__file__).with_name("nannyml_0_13.json")
CBPE_METRICS = ["precision", "recall", "f1", "roc_auc", "accuracy"]


def _sharpen(p: np.ndarray, power: float) -> np.ndarray:
    """An over-confident model: ``p ** power`` renormalized, kept away from 0 and 1."""
    s = p**power
    return np.asarray(0.98 * s / s.sum(axis=1, keepdims=True) + 0.02 / p.shape[1])


def _draw(rng: np.random.Generator, probs: np.ndarray) -> np.ndarray:
    u = rng.random((probs.shape[0], 1))
    return np.asarray((u > np.cumsum(probs, axis=1)).sum(axis=1))


def _classification(rng: np.random.Generator, k: int) -> dict[str, Any]:
    alpha_ref, alpha_ana = [3.0] * k, [1.0] * k  # the analysis data is more clear-cut
    out: dict[str, Any] = {}
    for period, alpha, n in (
        ("reference", alpha_ref, N_REFERENCE),
        ("analysis", alpha_ana, N_ANALYSIS),
    ):
        true_p = rng.dirichlet(alpha, size=n)
        raw = np.round(_sharpen(true_p, 2.0), DECIMALS)
        out[period] = {"probs": raw.tolist(), "labels": _draw(rng, true_p).tolist()}
    return out


def _frame(period: dict[str, Any], k: int) -> pd.DataFrame:
    raw = np.asarray(period["probs"])
    frame = pd.DataFrame({f"p{c}": raw[:, c] for c in range(k)})
    frame["y"] = period["labels"]
    frame["y_pred"] = raw.argmax(axis=1)
    if k == 2:
        assert np.unique(raw[:, 1]).size == raw.shape[0], "tied scores: raise DECIMALS"
    return frame


def _estimates(df: pd.DataFrame, metrics: list[str]) -> dict[str, Any]:
    analysis = df[df[("chunk", "period")] == "analysis"] if ("chunk", "period") in df else df
    out: dict[str, Any] = {}
    for m in metrics:
        out[m] = {
            key: analysis[(m, col)].astype(float).tolist()
            for key, col in (
                ("value", "value"),
                ("sampling_error", "sampling_error"),
                ("lower", "lower_confidence_boundary"),
                ("upper", "upper_confidence_boundary"),
                ("realized", "realized"),
            )
        }
    return out


def _run_cbpe(data: dict[str, Any], k: int) -> dict[str, Any]:
    ref, ana = _frame(data["reference"], k), _frame(data["analysis"], k)
    proba: Any = "p1" if k == 2 else {c: f"p{c}" for c in range(k)}
    estimator = nml.CBPE(
        y_pred_proba=proba,
        y_pred="y_pred",
        y_true="y",
        problem_type="classification_binary" if k == 2 else "classification_multiclass",
        metrics=CBPE_METRICS,
        chunk_size=CHUNK_SIZE,
    )
    estimator.fit(ref)
    if k == 2:
        assert estimator.needs_calibration, "NannyML chose not to calibrate"
    else:
        kinds = {type(c).__name__ for c in estimator._calibrators.values()}
        assert kinds == {"IsotonicCalibrator"}, kinds
    result = estimator.estimate(ana)
    return _estimates(result.filter(period="analysis").to_df(), CBPE_METRICS)


def _regression(rng: np.random.Generator) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for period, spread, n in (("reference", 1.0, N_REFERENCE), ("analysis", 1.8, N_ANALYSIS)):
        x1, x2 = rng.normal(size=n), rng.normal(scale=spread, size=n)
        y = x1 + rng.normal(size=n) * (0.3 + 0.6 * np.abs(x2))  # noisier where |x2| is large
        pred = x1 + 0.1 * x2
        out[period] = {
            name: np.round(v, DECIMALS).tolist()
            for name, v in (("x1", x1), ("x2", x2), ("y", y), ("prediction", pred))
        }
    return out


def _run_dle(data: dict[str, Any]) -> dict[str, Any]:
    ref, ana = (pd.DataFrame(data[p]) for p in ("reference", "analysis"))
    estimator = nml.DLE(
        feature_column_names=["x1", "x2"],
        y_pred="prediction",
        y_true="y",
        metrics=["mae", "rmse"],
        chunk_size=CHUNK_SIZE,
    )
    estimator.fit(ref)
    return _estimates(estimator.estimate(ana).filter(period="analysis").to_df(), ["mae", "rmse"])


def main() -> None:
    rng = np.random.default_rng(SEED)
    fixture: dict[str, Any] = {
        "generator": "tests/monitors/labels/oracles/make_nannyml_fixtures.py",
        "nannyml": nml.__version__,
        "seed": SEED,
        "chunk_size": CHUNK_SIZE,
    }
    for name, k in (("binary", 2), ("multiclass", 3)):
        data = _classification(rng, k)
        fixture[name] = {"inputs": data, "expected": _run_cbpe(data, k)}
    data = _regression(rng)
    fixture["regression"] = {"inputs": data, "expected": _run_dle(data)}
    OUT.write_text(json.dumps(fixture, separators=(",", ":")) + "\n")
    print(f"wrote {OUT} with NannyML {nml.__version__}", file=sys.stderr)


if __name__ == "__main__":
    main()
