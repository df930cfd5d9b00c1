"""``knn_ood_share`` of the coverage monitor, recomputed independently with scikit-learn."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from sklearn.neighbors import NearestNeighbors

from dqm.monitors.base import MonitorResult
from dqm.monitors.coverage.monitor import CoverageMonitor, CoverageParams
from dqm.monitors.learners.knn import sample_rows, split_reference
from dqm.monitors.schema import ColumnSpec, Schema

SCHEMA = Schema(
    columns=[
        ColumnSpec(name="id", type="categorical", role="id"),
        ColumnSpec(name="x", type="numerical"),
        ColumnSpec(name="y", type="numerical"),
    ]
)


def table(rng: np.random.Generator, n: int, shift: float = 0.0) -> pa.Table:
    x = rng.normal(loc=10.0 + shift, scale=2.0, size=n)
    y = 0.5 * x + rng.normal(scale=0.1, size=n)  # a thin ridge: distance matters across it
    return pa.table({"id": [f"r{i}" for i in range(n)], "x": x, "y": y})


def run(ref: pa.Table, cur: pa.Table, schema: Schema = SCHEMA, **params: Any) -> MonitorResult:
    return CoverageMonitor().run(ref, cur, schema, CoverageParams(**params))


def test_share_and_threshold_match_sklearn_recomputation() -> None:
    rng = np.random.default_rng(3)
    ref, cur = table(rng, 600), table(rng, 900, shift=1.0)
    m = run(ref, cur, k=5, sample_size=300, seed=4, reference_cap=500).metric("knn_ood_share")

    raw = np.column_stack([ref.column("x").to_numpy(), ref.column("y").to_numpy()])
    z = (raw - raw.mean(axis=0)) / raw.std(axis=0)
    index_rows, held_rows = split_reference(600, cap=500, holdout_fraction=0.2, seed=4)
    nn = NearestNeighbors(n_neighbors=5).fit(z[index_rows])
    held = np.sort(nn.kneighbors(z[held_rows])[0][:, 4])
    lam = held[math.ceil(0.95 * held.size) - 1]
    picked = sample_rows(900, 300, seed=4)
    q = np.column_stack([cur.column("x").to_numpy(), cur.column("y").to_numpy()])[picked]
    d = nn.kneighbors((q - raw.mean(axis=0)) / raw.std(axis=0))[0][:, 4]

    assert m.details["threshold"] == pytest.approx(lam)
    assert m.value == pytest.approx(np.mean(d > lam))
    assert (m.details["n_reference_index"], m.details["n_reference_holdout"]) == (400, 100)
    assert m.details["n_sampled"] == 300


def test_in_distribution_share_is_near_one_minus_tpr() -> None:
    rng = np.random.default_rng(8)
    ref, cur = table(rng, 5000), table(rng, 4000)
    share = run(ref, cur).value("knn_ood_share")
    # SE of the 2000-row sample ~0.005, of λ from 1000 held-out rows ~0.007.
    assert share is not None and abs(share - 0.05) < 0.03


def test_shifted_window_is_out_of_distribution_and_findings_rank_by_distance() -> None:
    rng = np.random.default_rng(9)
    ref, cur = table(rng, 2000), table(rng, 500, shift=0.0)
    far = pa.table({"id": ["far1", "far2"], "x": [10.0, 10.0], "y": [9.0, 30.0]})
    r = run(ref, pa.concat_tables([cur, far]), sample_size=5000, max_findings=5)
    assert r.findings[0].row_id == "far2" and r.findings[1].row_id == "far1"
    scores = [f.score for f in r.findings]
    assert scores == sorted(scores, reverse=True) and len(scores) == 5
    assert all(s > 1.0 for s in scores)
    lam = r.metric("knn_ood_share").details["threshold"]
    assert r.findings[0].details["distance"] == pytest.approx(scores[0] * lam)
    shifted = run(ref, table(rng, 500, shift=12.0)).value("knn_ood_share")
    assert shifted == 1.0


def test_embedding_column_is_l2_normalized() -> None:
    rng = np.random.default_rng(4)
    schema = Schema(
        columns=[ColumnSpec(name="x", type="numerical"), ColumnSpec(name="e", type="embedding")]
    )
    # Reference vectors point along e0, current ones along e1: far apart once normalized.
    ref_e = rng.normal(size=(400, 8)) + 4.0 * np.eye(8)[0]
    cur_e = rng.normal(size=(300, 8)) + 4.0 * np.eye(8)[1]
    ref = pa.table({"x": np.zeros(400), "e": [list(v) for v in ref_e]})
    cur = pa.table({"x": np.zeros(300), "e": [list(v) for v in cur_e]})
    cur_scaled = pa.table({"x": np.zeros(300), "e": [list(10.0 * v) for v in cur_e]})
    a = run(ref, cur, schema, embedding_column="e").metric("knn_ood_share")
    b = run(ref, cur_scaled, schema, embedding_column="e").metric("knn_ood_share")
    assert a.details["features"] == "embedding:e"
    assert a.value == b.value and a.value is not None and a.value > 0.9
    same = run(ref, ref, schema, embedding_column="e").value("knn_ood_share")
    assert same is not None and same < 0.15  # 80 held-out rows: λ is noisy


def test_seed_makes_runs_deterministic() -> None:
    rng = np.random.default_rng(6)
    ref, cur = table(rng, 3000), table(rng, 3000, shift=0.5)
    a = run(ref, cur, sample_size=500, seed=1)
    assert a == run(ref, cur, sample_size=500, seed=1)
    assert a.value("knn_ood_share") != run(ref, cur, sample_size=500, seed=2).value("knn_ood_share")


def test_knn_is_skipped_without_features_or_enough_reference_rows() -> None:
    cat_only = Schema(columns=[ColumnSpec(name="c", type="categorical")])
    m = run(pa.table({"c": ["a"]}), pa.table({"c": ["a"]}), cat_only).metric("knn_ood_share")
    assert m.value is None and m.status == "skipped: no numerical features"
    rng = np.random.default_rng(0)
    tiny = run(table(rng, 8), table(rng, 8)).metric("knn_ood_share")
    assert tiny.value is None and tiny.status.startswith("skipped: reference too small")
