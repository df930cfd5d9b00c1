"""``slice_uncovered_share`` is calibrated against the reference's own chance share: data drawn
from the reference scores near 0 at any reference size, a shifted slice scores high."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pyarrow as pa
import pytest

from dqm.monitors.coverage.monitor import CoverageMonitor, CoverageParams
from dqm.monitors.coverage.slices import Codes, chance_share, uncovered_share
from dqm.monitors.schema import ColumnSpec, Schema

NUMERICAL = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"]
CATEGORICAL = ["species", "island", "sex"]
SCHEMA = Schema(
    columns=[
        ColumnSpec(name="id", type="categorical", role="id"),
        *(ColumnSpec(name=c, type="categorical") for c in CATEGORICAL),
        *(ColumnSpec(name=c, type="numerical") for c in NUMERICAL),
    ]
)


def penguins(rng: np.random.Generator, n: int, heavy_adelie: float = 0.0) -> pa.Table:
    """Penguin-like rows: three species with their own sizes, correlated measurements."""
    species = rng.choice(3, size=n, p=[0.44, 0.2, 0.36])
    mass = np.array([3700.0, 3730.0, 5080.0])[species] + rng.normal(0, 460, n)
    flipper = np.array([190.0, 196.0, 217.0])[species] + 0.01 * (mass - 4200) + rng.normal(0, 6, n)
    mass = mass + np.where(species == 0, heavy_adelie, 0.0)
    return pa.table(
        {
            "id": [f"p{i}" for i in rng.integers(0, 10**9, size=n)],
            "species": np.array(["Adelie", "Chinstrap", "Gentoo"])[species],
            "island": rng.choice(["Biscoe", "Dream", "Torgersen"], size=n),
            "sex": rng.choice(["male", "female"], size=n),
            "bill_length_mm": np.array([38.8, 48.8, 47.5])[species] + rng.normal(0, 2.8, n),
            "bill_depth_mm": np.array([18.3, 18.4, 15.0])[species] + rng.normal(0, 1.1, n),
            "flipper_length_mm": flipper,
            "body_mass_g": mass,
        }
    )


def slice_share(ref: pa.Table, cur: pa.Table, schema: Schema = SCHEMA) -> float | None:
    params = CoverageParams(sample_size=50, reference_cap=2000)
    return CoverageMonitor().run(ref, cur, schema, params).value("slice_uncovered_share")


@pytest.mark.parametrize("n_reference", [200, 2000, 50_000])
def test_data_from_the_reference_scores_near_zero_and_a_shifted_slice_high(
    n_reference: int,
) -> None:
    rng = np.random.default_rng(n_reference)
    ref = penguins(rng, n_reference)
    for size in (50, 100, n_reference // 2):
        sample = ref.take(pa.array(rng.choice(n_reference, size=size, replace=False)))
        share = slice_share(ref, sample)
        assert share is not None and share <= 0.05, (size, share)
    fresh = slice_share(ref, penguins(rng, 500))
    assert fresh is not None and fresh <= 0.05
    # Adelie penguins as heavy as Gentoos, with Adelie bills: cells the reference leaves empty.
    shifted = slice_share(ref, penguins(rng, 500, heavy_adelie=1500.0))
    assert shifted is not None and shifted >= 0.2


def test_chance_share_is_leave_one_out_by_hand() -> None:
    rng = np.random.default_rng(1)
    a, b = rng.integers(0, 4, size=300), rng.integers(0, 6, size=300)
    cells = Counter(zip(a.tolist(), b.tolist(), strict=True))
    for min_support in (1, 5, 12, 20):
        oracle = np.mean([cells[cell] - 1 < min_support for cell in zip(a, b, strict=True)])
        codes_a, codes_b = Codes(a, a[:1], 4), Codes(b, b[:1], 6)
        assert chance_share(codes_a, codes_b, min_support) == pytest.approx(oracle)


def test_chance_share_predicts_the_share_of_fresh_data() -> None:
    # Monte Carlo oracle: over many references, the mean uncovered share of fresh data from the
    # reference's distribution matches the mean leave-one-out share of the references.
    rng = np.random.default_rng(2)
    p_a, p_b = np.array([0.5, 0.3, 0.15, 0.05]), np.array([0.4, 0.3, 0.2, 0.07, 0.03])
    fresh, chance = [], []
    for _ in range(300):
        a, b = rng.choice(4, size=300, p=p_a), rng.choice(5, size=300, p=p_b)
        new_a, new_b = rng.choice(4, size=2000, p=p_a), rng.choice(5, size=2000, p=p_b)
        codes_a, codes_b = Codes(a, new_a, 4), Codes(b, new_b, 5)
        fresh.append(uncovered_share(codes_a, codes_b, min_support=8))
        chance.append(chance_share(codes_a, codes_b, min_support=8))
    assert 0.05 < np.mean(fresh) < 0.3  # a case where chance matters
    assert np.mean(chance) == pytest.approx(np.mean(fresh), abs=0.01)


def test_an_id_like_feature_pair_is_left_out_with_a_warning() -> None:
    rng = np.random.default_rng(3)
    ref = penguins(rng, 2000)
    as_feature = Schema(columns=[c.model_copy(update={"role": "feature"}) for c in SCHEMA.columns])
    sample = ref.slice(0, 100)
    m = CoverageMonitor().run(ref, sample, as_feature, CoverageParams(sample_size=50))
    metric = m.metric("slice_uncovered_share")
    assert metric.value is not None and metric.value <= 0.05
    warned = [w for w in metric.details["warnings"] if "(id, " in w]
    assert len(warned) == len(NUMERICAL) + len(CATEGORICAL)
    assert "id" not in metric.details["pair"]
