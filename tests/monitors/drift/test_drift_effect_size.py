"""The ``effect_size`` metric and the calibrated policy through the drift monitor."""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa
import pytest
from scipy import stats as sps

from dqm.monitors.drift.monitor import DriftMonitor, DriftParams
from dqm.monitors.schema import ColumnSpec, Schema

SCHEMA = Schema(
    columns=[ColumnSpec(name="x", type="numerical"), ColumnSpec(name="c", type="categorical")]
)
LEVELS = np.array(["a", "b", "c", "d"], dtype=object)
BASE_SHARES = np.array([0.4, 0.3, 0.2, 0.1])


def categorical(shares: np.ndarray, n: int) -> list[str]:
    """Exactly ``round(share * n)`` rows of each level (deterministic counts)."""
    return [
        str(v)
        for v, k in zip(LEVELS, np.round(shares * n).astype(int), strict=True)
        for _ in range(k)
    ]


def windows(n: int, shift: float, mass: float) -> tuple[pa.Table, pa.Table]:
    """Reference N(0, 1) and BASE_SHARES; current shifted by ``shift`` sd and ``mass`` moved
    from level a to level d."""
    x = np.random.default_rng(0).normal(size=n)
    moved = BASE_SHARES + np.array([-mass, 0.0, 0.0, mass])
    ref = pa.table({"x": x, "c": categorical(BASE_SHARES, n)})
    cur = pa.table({"x": x + shift, "c": categorical(moved, n)})
    return ref, cur


def hand_wasserstein_normed(ref: np.ndarray, cur: np.ndarray) -> float:
    # Equal sizes: W1 is the mean gap of the order statistics; normed by the population sd.
    return float(np.mean(np.abs(np.sort(ref) - np.sort(cur)))) / float(np.std(ref))


def hand_jensen_shannon(p: np.ndarray, q: np.ndarray) -> float:
    m = (p + q) / 2

    def kl(a: np.ndarray) -> float:
        return sum(float(ai * math.log(ai / mi)) for ai, mi in zip(a, m, strict=True) if ai > 0)

    return math.sqrt((kl(p) + kl(q)) / 2)


def effect_sizes(n: int, shift: float, mass: float, **params: object) -> tuple[float, float]:
    ref, cur = windows(n, shift, mass)
    r = DriftMonitor().run(ref, cur, SCHEMA, DriftParams.model_validate(params))
    x, c = r.metric("effect_size", "x"), r.metric("effect_size", "c")
    assert (x.method, c.method) == ("wasserstein", "jensenshannon")
    assert x.value is not None and c.value is not None
    return x.value, c.value


@pytest.mark.parametrize("n", [500, 4000])
def test_identical_windows_have_zero_effect_size(n: int) -> None:
    assert effect_sizes(n, 0.0, 0.0) == (0.0, 0.0)


@pytest.mark.parametrize("policy", ["evidently", "calibrated"])
def test_effect_size_grows_with_the_shift_and_equals_the_hand_formula(policy: str) -> None:
    steps = [0.0, 0.02, 0.05, 0.1, 0.2, 0.4]
    sizes = [effect_sizes(2000, s, s / 4, policy=policy) for s in steps]
    for (x0, c0), (x1, c1) in zip(sizes, sizes[1:], strict=False):
        assert x1 > x0 and c1 > c0
    ref, cur = windows(2000, 0.2, 0.05)
    x = np.asarray(ref["x"]), np.asarray(cur["x"])
    moved = BASE_SHARES + np.array([-0.05, 0.0, 0.0, 0.05])
    assert sizes[4][0] == pytest.approx(hand_wasserstein_normed(*x), rel=1e-9)
    # A pure location shift moves every order statistic by 0.2: W1 = 0.2 exactly.
    assert sizes[4][0] == pytest.approx(0.2 / float(np.std(x[0])), rel=1e-9)
    assert sizes[4][1] == pytest.approx(hand_jensen_shannon(BASE_SHARES, moved), rel=1e-9)


def test_effect_size_is_the_drift_score_where_evidently_uses_the_distance() -> None:
    ref, cur = windows(2000, 0.3, 0.1)
    r = DriftMonitor().run(ref, cur, SCHEMA, DriftParams())
    for column in ("x", "c"):
        score = r.metric("drift_score", column)
        assert score.method in ("wasserstein", "jensenshannon")
        assert r.value("effect_size", column) == score.value


def test_calibrated_policy_uses_two_sample_tests_with_the_default_floors() -> None:
    ref, cur = windows(2000, 0.1, 0.03)
    r = DriftMonitor().run(ref, cur, SCHEMA, DriftParams(policy="calibrated"))
    x, c = r.metric("drift_score", "x"), r.metric("drift_score", "c")
    assert (x.method, c.method) == ("ks", "chi2_contingency")
    assert x.value == pytest.approx(sps.ks_2samp(np.asarray(ref["x"]), np.asarray(cur["x"])).pvalue)
    counts = [[800, 600, 400, 200], [740, 600, 400, 260]]
    assert c.value == pytest.approx(sps.chi2_contingency(counts, correction=False).pvalue)
    assert (x.details["effect_size_floor"], c.details["effect_size_floor"]) == (0.05, 0.018)
    assert r.metric("effect_size", "x").threshold == 0.05
    assert x.drifted is True and c.drifted is True


def test_an_explicit_floor_overrides_the_calibrated_default() -> None:
    ref, cur = windows(2000, 0.1, 0.03)
    params = DriftParams(policy="calibrated", effect_size_floor=0.5)
    r = DriftMonitor().run(ref, cur, SCHEMA, params)
    assert r.metric("drift_score", "x").details["p_value"] < 0.05
    assert r.metric("drift_score", "x").drifted is False
    assert r.metric("drift_score", "c").drifted is False


def test_evidently_policy_sets_no_floor() -> None:
    ref, cur = windows(800, 0.3, 0.1)
    r = DriftMonitor().run(ref, cur, SCHEMA, DriftParams())
    assert r.metric("drift_score", "x").method == "ks"
    assert "effect_size_floor" not in r.metric("drift_score", "x").details
    assert r.metric("effect_size", "x").threshold is None
