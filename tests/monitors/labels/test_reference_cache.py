"""Reference-side work of label_quality is done once per reference profile, and stays correct.

Each window's CBPE accuracy is checked against ``sklearn.isotonic.IsotonicRegression`` fitted on
that profile's reference, so a calibration leaking between windows or references would fail.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from sklearn.isotonic import IsotonicRegression

import dqm.monitors.profile_cache as profile_cache
from dqm.monitors.labels.monitor import LabelQualityMonitor, LabelQualityParams
from dqm.monitors.profile import ReferenceProfile
from dqm.monitors.schema import ColumnSpec, Schema

CLASSES = ["a", "b", "c", "d"]
SCHEMA = Schema(
    columns=[
        ColumnSpec(name="y", type="categorical", role="target"),
        ColumnSpec(name="pred", type="categorical", role="prediction"),
        *(
            ColumnSpec.model_validate(
                {
                    "name": f"p_{c}",
                    "type": "numerical",
                    "role": "prediction_probability",
                    "class": c,
                }
            )
            for c in CLASSES
        ),
    ]
)


def _world(n: int, seed: int) -> tuple[pa.Table, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    probs = rng.dirichlet([0.7] * 4, size=n)
    y = np.minimum((rng.random(n)[:, None] > np.cumsum(probs, axis=1)).sum(axis=1), 3)
    names = np.array(CLASSES, dtype=object)
    cols: dict[str, object] = {"y": names[y].tolist(), "pred": names[probs.argmax(1)].tolist()}
    cols.update({f"p_{c}": probs[:, i] for i, c in enumerate(CLASSES)})
    return pa.table(cols), y, probs


def _oracle_accuracy(ref_y: np.ndarray, ref_p: np.ndarray, probs: np.ndarray) -> float:
    cal = np.column_stack(
        [
            IsotonicRegression(out_of_bounds="clip")
            .fit(ref_p[:, k], ref_y == k)
            .predict(probs[:, k])
            for k in range(len(CLASSES))
        ]
    )
    cal /= cal.sum(axis=1, keepdims=True)
    return float(cal[np.arange(probs.shape[0]), probs.argmax(1)].mean())


def test_windows_on_one_profile_reuse_its_calibration_and_match_sklearn() -> None:
    ref_table, ref_y, ref_p = _world(800, seed=1)
    profile = ReferenceProfile(ref_table, SCHEMA)
    built: list[dict[object, object]] = []
    for seed in (2, 3):
        cur, _, probs = _world(300 + 100 * seed, seed=seed)
        result = LabelQualityMonitor().run(profile, cur, SCHEMA, LabelQualityParams())
        expected = _oracle_accuracy(ref_y, ref_p, probs)
        assert result.value("estimated_accuracy") == pytest.approx(expected, abs=1e-12)
        built.append(dict(profile_cache._ENTRIES[profile]))
    # The second window found every reference-side entry built and reused the same objects.
    assert built[0].keys() == built[1].keys() and built[0]
    assert all(built[1][key] is value for key, value in built[0].items())


def test_another_reference_version_gets_its_own_calibration() -> None:
    cur, _, probs = _world(400, seed=4)
    for seed in (5, 6):
        ref_table, ref_y, ref_p = _world(700, seed=seed)
        profile = ReferenceProfile(ref_table, SCHEMA)
        result = LabelQualityMonitor().run(profile, cur, SCHEMA, LabelQualityParams())
        expected = _oracle_accuracy(ref_y, ref_p, probs)
        assert result.value("estimated_accuracy") == pytest.approx(expected, abs=1e-12)


def test_cached_value_is_built_once() -> None:
    profile = ReferenceProfile(_world(10, seed=7)[0], SCHEMA)
    built: list[int] = []

    def build() -> int:
        built.append(1)
        return len(built)

    assert [profile_cache.cached(profile, "k", build) for _ in range(3)] == [1, 1, 1]
    assert profile_cache.cached(profile, "other", build) == 2
