"""tvd, fisher_exact and mmd as selectable drift methods, and the embedding drift metrics."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from scipy import stats as sps

import dqm.monitors.stats.kernels as kernels
from dqm.monitors.base import MonitorResult
from dqm.monitors.drift.methods import METHODS, CategoricalPair
from dqm.monitors.drift.monitor import DriftMonitor, DriftParams
from dqm.monitors.errors import InvalidInputError
from dqm.monitors.schema import ColumnSpec, Schema

SCHEMA = Schema(
    columns=[
        ColumnSpec(name="x", type="numerical"),
        ColumnSpec(name="flag", type="categorical"),
        ColumnSpec(name="c", type="categorical"),
    ]
)


def _table(seed: int, n: int, shift: float = 0.0, p_yes: float = 0.3) -> pa.Table:
    rng = np.random.default_rng(seed)
    return pa.table(
        {
            "x": rng.normal(shift, 1, n),
            "flag": np.where(rng.random(n) < p_yes, "yes", "no").tolist(),
            "c": rng.choice(["a", "b", "c"], n).tolist(),
        }
    )


def _run(ref: pa.Table, cur: pa.Table, **params: object) -> MonitorResult:
    return DriftMonitor().run(ref, cur, SCHEMA, DriftParams.model_validate(params))


def _hand_tvd(a: list[object], b: list[object]) -> float:
    keys = sorted(set(a) | set(b), key=str)
    pa_ = np.array([a.count(k) for k in keys]) / len(a)
    pb = np.array([b.count(k) for k in keys]) / len(b)
    return float(0.5 * np.abs(pa_ - pb).sum())


def test_tvd_by_type_matches_hand_computed_distances() -> None:
    ref, cur = _table(0, 600), _table(1, 500, shift=0.5, p_yes=0.6)
    r = _run(ref, cur, stattest="tvd")
    for col in ("flag", "c"):
        m = r.metric("drift_score", col)
        want = _hand_tvd(ref[col].to_pylist(), cur[col].to_pylist())
        assert (m.method, m.threshold) == ("tvd", 0.1)
        assert m.value == pytest.approx(want, rel=1e-12)
        assert m.drifted is (want >= 0.1)
    # numerical, > 20 distinct reference values: Sturges bins over both windows (numpy's)
    x_ref, x_cur = ref["x"].to_numpy(), cur["x"].to_numpy()
    edges = np.histogram_bin_edges(np.concatenate([x_ref, x_cur]), bins="sturges")
    h_ref, h_cur = np.histogram(x_ref, edges)[0], np.histogram(x_cur, edges)[0]
    want = 0.5 * np.abs(h_ref / h_ref.sum() - h_cur / h_cur.sum()).sum()
    assert r.value("drift_score", "x") == pytest.approx(want, rel=1e-9)
    assert r.metric("drift_score", "x").drifted is True


def test_fisher_exact_per_column_matches_scipy_and_skips_non_binary() -> None:
    ref, cur = _table(2, 300), _table(3, 200, p_yes=0.45)
    r = _run(ref, cur, per_column_method={"flag": "fisher_exact", "c": "fisher_exact"})
    yes = [t["flag"].to_pylist().count("yes") for t in (ref, cur)]
    table = [[yes[0], 300 - yes[0]], [yes[1], 200 - yes[1]]]
    want = sps.fisher_exact(table).pvalue
    m = r.metric("drift_score", "flag")
    assert (m.method, m.threshold) == ("fisher_exact", 0.1)
    assert m.value == pytest.approx(want, rel=1e-9)
    assert m.drifted is bool(want < 0.1) is True
    c = r.metric("drift_score", "c")
    assert c.value is None and c.drifted is None
    assert c.status == "skipped: fisher_exact needs a binary column, this one has 3 values"


@pytest.mark.parametrize(
    "table",
    [
        [[8, 2], [1, 5]],
        [[100, 50], [60, 90]],
        [[0, 5], [5, 0]],
        [[3, 3], [3, 3]],
        [[20, 1], [1, 0]],
    ],
)
def test_fisher_exact_matches_scipy(table: list[list[int]]) -> None:
    # Rows are reference and current, columns the two values "a" and "b".
    keys = np.array(["a", "b"], dtype=object)
    pair = CategoricalPair.from_counts(keys, np.array(table[0]), keys, np.array(table[1]))
    got = METHODS["fisher_exact"].score(pair)
    assert got == pytest.approx(sps.fisher_exact(table).pvalue, rel=1e-9)


def test_fisher_exact_on_a_constant_column_finds_no_drift() -> None:
    ref = pa.table({"x": [0.0] * 10, "flag": ["no"] * 10, "c": ["a"] * 10})
    r = _run(ref, ref.slice(0, 6), cat_stattest="fisher_exact")
    assert r.value("drift_score", "flag") == 1.0
    assert r.metric("drift_score", "flag").drifted is False


def test_mmd_num_stattest_detects_shift_and_is_deterministic() -> None:
    ref = _table(4, 400)
    shifted = _run(ref, _table(5, 300, shift=0.8), num_stattest="mmd")
    m = shifted.metric("drift_score", "x")
    assert (m.method, m.threshold) == ("mmd", 0.1)
    assert m.value == pytest.approx(1 / 101) and m.drifted is True
    same = _run(ref, _table(6, 300), num_stattest="mmd")
    assert same.metric("drift_score", "x").drifted is False
    assert same == _run(ref, _table(6, 300), num_stattest="mmd")
    # the categorical columns keep Evidently's default method
    assert same.metric("drift_score", "c").method == "chisquare"


def test_mmd_tests_a_seeded_subsample_of_2000_values_per_side() -> None:
    ref, cur = _table(7, 6000), _table(8, 2500, shift=0.05)
    got = _run(ref, cur, per_column_method={"x": "mmd"}).value("drift_score", "x")
    rng = np.random.default_rng(0)
    a, b = (np.sort(t["x"].to_numpy()) for t in (ref, cur))
    a_sub, b_sub = a[rng.choice(6000, 2000, replace=False)], b[rng.choice(2500, 2000, False)]
    assert got == kernels.mmd_permutation_test(a_sub, b_sub, 100, 0)[1]


def test_mmd_on_a_categorical_column_is_skipped_or_refused() -> None:
    r = _run(_table(0, 100), _table(1, 100), stattest="mmd")
    assert r.metric("drift_score", "c").status == (
        "skipped: method mmd does not apply to categorical columns"
    )
    with pytest.raises(InvalidInputError, match="mmd .* does not apply to categorical"):
        _run(_table(0, 100), _table(1, 100), per_column_method={"c": "mmd"})


EMB_SCHEMA = Schema(columns=[ColumnSpec(name="e", type="embedding")])


def _vectors(seed: int, n: int, shift: float, dims: int = 12) -> np.ndarray:
    vectors = np.random.default_rng(seed).normal(0, 2, (n, dims))
    vectors[:, :3] += shift
    return vectors


def _emb_run(ref: np.ndarray, cur: np.ndarray, **params: object) -> MonitorResult:
    a, b = (pa.table({"e": pa.array(list(v), type=pa.list_(pa.float64()))}) for v in (ref, cur))
    return DriftMonitor().run(a, b, EMB_SCHEMA, DriftParams.model_validate(params))


def test_embedding_mean_distance_matches_numpy_by_hand() -> None:
    ref, cur = _vectors(0, 500, 0.0), _vectors(1, 400, 0.7)
    r = _emb_run(ref, cur)
    gap = np.sqrt(np.sum((cur.mean(axis=0) - ref.mean(axis=0)) ** 2))
    want = gap / np.sqrt(np.trace(np.cov(ref.T, bias=True)))
    m = r.metric("embedding_mean_distance", "e")
    assert m.value == pytest.approx(want, rel=1e-9)
    assert _emb_run(ref, ref).value("embedding_mean_distance", "e") == 0.0
    # scale-free: scaling every vector leaves it unchanged
    scaled = _emb_run(ref * 10, cur * 10).value("embedding_mean_distance", "e")
    assert scaled == pytest.approx(want, rel=1e-9)


@pytest.mark.parametrize("correction", ["none", "bonferroni", "bh"])
def test_embedding_drifted_components_share_matches_scipy_ks(correction: str) -> None:
    ref, cur = _vectors(2, 300, 0.0), _vectors(3, 250, 0.6)
    r = _emb_run(ref, cur, multiple_testing=correction)
    p = np.array([sps.ks_2samp(ref[:, j], cur[:, j]).pvalue for j in range(12)])
    if correction == "bonferroni":
        p = np.minimum(p * 12, 1.0)
    elif correction == "bh":
        order = np.argsort(p)
        ranked = np.minimum.accumulate((p[order] * 12 / np.arange(1, 13))[::-1])[::-1]
        p = np.empty(12)
        p[order] = np.minimum(ranked, 1.0)
    m = r.metric("embedding_drifted_components_share", "e")
    assert m.value == pytest.approx(np.mean(p <= 0.05), abs=1e-12)
    assert m.details["number_drifted_components"] == int(np.sum(p <= 0.05))
    assert m.details["components"] == 12 and m.details["multiple_testing"] == correction
    assert m.value is not None and m.value >= 3 / 12  # the three shifted components


def test_embedding_metrics_without_drift_and_with_too_few_vectors() -> None:
    r = _emb_run(_vectors(4, 400, 0.0), _vectors(5, 400, 0.0), multiple_testing="bh")
    assert r.value("embedding_drifted_components_share", "e") == 0.0
    skipped = _emb_run(_vectors(4, 1, 0.0), _vectors(5, 10, 0.0))
    assert skipped.metric("drift_score", "e").status.startswith("skipped")
    assert not [m for m in skipped.metrics if m.name.startswith("embedding_")]
