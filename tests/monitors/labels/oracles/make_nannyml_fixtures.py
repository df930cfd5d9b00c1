"""Write nannyml_0_13.json: input parameters and NannyML 0.13's CBPE and DLE estimates.

The inputs themselves are not stored: ``nannyml_inputs`` regenerates them from ``PARAMS`` here
and in the tests, and the fixture keeps their fingerprint. NannyML's pins conflict with dqm's,
so this runs in its own environment, from the repository root (see README.md):

    python -m venv /tmp/nannyml-env
    /tmp/nannyml-env/bin/pip install 'nannyml==0.13.*' statsmodels
    /tmp/nannyml-env/bin/python -m tests.monitors.labels.oracles.make_nannyml_fixtures
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import sys
from pathlib import Path
from typing import Any

os.environ.setdefault("NML_DISABLE_USAGE_LOGGING", "1")  # no usage statistics sent home

import nannyml as nml  # type: ignore[import-not-found]  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from tests.monitors.labels.oracles import nannyml_inputs as gen  # noqa: E402

PARAMS = gen.InputParams(
    seed=20260601,
    n_reference=2000,
    n_analysis=2000,
    decimals=10,
    score_power=2.0,
    alpha_reference=3.0,
    alpha_analysis=1.0,
    x2_scale_reference=1.0,
    x2_scale_analysis=1.8,
)
CHUNK_SIZE = 500
OUT = Path(__file__).with_name("nannyml_0_13.json")
CBPE_METRICS = ["precision", "recall", "f1", "roc_auc", "accuracy"]


def _frame(period: gen.Classification, k: int) -> pd.DataFrame:
    raw = period.probs
    frame = pd.DataFrame({f"p{c}": raw[:, c] for c in range(k)})
    frame["y"] = period.labels
    frame["y_pred"] = raw.argmax(axis=1)
    if k == 2:
        assert np.unique(raw[:, 1]).size == raw.shape[0], "tied scores: raise decimals"
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


def _run_cbpe(data: dict[str, gen.Classification], k: int) -> dict[str, Any]:
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


def _run_dle(data: dict[str, gen.Regression]) -> dict[str, Any]:
    ref, ana = (pd.DataFrame(data[p].columns()) for p in gen.PERIODS)
    estimator = nml.DLE(
        feature_column_names=["x1", "x2"],
        y_pred="prediction",
        y_true="y",
        metrics=["mae", "rmse"],
        chunk_size=CHUNK_SIZE,
    )
    estimator.fit(ref)
    return _estimates(estimator.estimate(ana).filter(period="analysis").to_df(), ["mae", "rmse"])


def _dumps(fixture: dict[str, Any]) -> str:
    """Indented JSON with each list of numbers on one line, so a rerun diffs line by line."""
    text = json.dumps(fixture, indent=1)
    return re.sub(r"\[\n\s+([^\[\]{}]*?)\n\s*\]", _one_line, text)


def _one_line(match: re.Match[str]) -> str:
    return "[" + ", ".join(v.strip() for v in match.group(1).split(",")) + "]"


def main() -> None:
    inputs = gen.generate(PARAMS)
    fixture: dict[str, Any] = {
        "generator": "tests/monitors/labels/oracles/make_nannyml_fixtures.py",
        "nannyml": nml.__version__,
        "chunk_size": CHUNK_SIZE,
        "params": dataclasses.asdict(PARAMS),
        "fingerprint": gen.fingerprint(inputs),
        "expected": {
            "binary": _run_cbpe(inputs.binary, 2),
            "multiclass": _run_cbpe(inputs.multiclass, 3),
            "regression": _run_dle(inputs.regression),
        },
    }
    OUT.write_text(_dumps(fixture) + "\n")
    print(f"wrote {OUT} with NannyML {nml.__version__}", file=sys.stderr)


if __name__ == "__main__":
    main()
