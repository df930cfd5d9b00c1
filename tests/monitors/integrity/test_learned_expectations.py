"""Expectations the data_quality monitor learns from the reference when the user gives none:
value ranges, missing shares and category domains, against hand-derived bounds."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from dqm.monitors.base import MonitorResult
from dqm.monitors.integrity.monitor import DataQualityMonitor, DataQualityParams
from dqm.monitors.profile import ReferenceProfile
from dqm.monitors.schema import ColumnSpec, Schema

SCHEMA = Schema(
    columns=[
        ColumnSpec(name="body_mass_g", type="numerical"),
        ColumnSpec(name="species", type="categorical"),
    ]
)


def penguins(rng: np.random.Generator, n: int, scale: float = 1.0) -> pa.Table:
    """Body masses like the penguins': three species, kept within the measured 2700-6300 g."""
    species = rng.choice(3, size=4 * n, p=[0.44, 0.2, 0.36])
    mass = np.array([3700.0, 3730.0, 5080.0])[species] + rng.normal(0, 460, 4 * n)
    inside = np.flatnonzero((mass >= 2700) & (mass <= 6300))[:n]
    names = np.array(["Adelie", "Chinstrap", "Gentoo"])[species[inside]]
    return pa.table({"body_mass_g": mass[inside] * scale, "species": names})


def run(ref: pa.Table, cur: pa.Table, schema: Schema = SCHEMA, **p: Any) -> MonitorResult:
    return DataQualityMonitor().run(ref, cur, schema, DataQualityParams(**p))


def oracle_share(ref: pa.Table, cur: pa.Table, column: str, t: float) -> float:
    r, c = ref.column(column).to_numpy(), cur.column(column).to_numpy()
    q25, q75 = np.percentile(r, [25, 75])
    lo, hi = r.min() - t * (q75 - q25), r.max() + t * (q75 - q25)
    return float(np.mean((c < lo) | (c > hi)))


@pytest.mark.parametrize("n_reference", [224, 2000, 50_000])
def test_scaled_body_mass_is_flagged_and_samples_of_the_reference_are_not(
    n_reference: int,
) -> None:
    rng = np.random.default_rng(n_reference)
    ref = penguins(rng, n_reference)
    scaled = penguins(rng, 2000, scale=1.12)
    m = run(ref, scaled).metric("out_of_learned_range_share", "body_mass_g")
    assert m.value == pytest.approx(oracle_share(ref, scaled, "body_mass_g", 0.1))
    assert m.value is not None and m.value >= 0.015  # about 3%: heavy Gentoos pass the max
    assert m.details["range_source"] == "reference"
    for size in (50, 500, 5000):
        fresh = penguins(rng, size)
        share = run(ref, fresh).value("out_of_learned_range_share", "body_mass_g")
        assert share is not None and share <= 0.005, (size, share)
        sample = ref.take(pa.array(rng.choice(n_reference, size=min(size, n_reference))))
        assert run(ref, sample).value("out_of_learned_range_share", "body_mass_g") == 0.0


def test_user_ranges_override_the_learned_range_per_column() -> None:
    rng = np.random.default_rng(1)
    schema = Schema(
        columns=[
            ColumnSpec(name="body_mass_g", type="numerical"),
            ColumnSpec(name="flipper_mm", type="numerical"),
        ]
    )
    ref = pa.table({"body_mass_g": rng.uniform(2700, 6300, 300), "flipper_mm": np.arange(300.0)})
    cur = pa.table({"body_mass_g": [3000.0, 7000.0], "flipper_mm": [10.0, 400.0]})
    r = run(ref, cur, schema, ranges={"body_mass_g": (0.0, 10_000.0)})
    assert r.value("out_of_range_share", "body_mass_g") == 0.0
    with pytest.raises(KeyError):
        r.metric("out_of_learned_range_share", "body_mass_g")
    # flipper_mm: [0 - 0.1 * 149.5, 299 + 0.1 * 149.5] = [-14.95, 313.95]; 400 is outside.
    flipper = r.metric("out_of_learned_range_share", "flipper_mm")
    assert flipper.value == 0.5
    assert (flipper.details["min"], flipper.details["max"]) == pytest.approx((-14.95, 313.95))
    wide = run(ref, cur, schema, range_tolerance=0.7)  # up to 299 + 0.7 * 149.5 = 403.65
    assert wide.value("out_of_learned_range_share", "flipper_mm") == 0.0
    off = run(ref, cur, schema, learn_expectations=False)
    assert not any(m.name.endswith("above_expected") or "learned" in m.name for m in off.metrics)


def test_missing_share_above_the_reference_share_plus_tolerance() -> None:
    ref = pa.table({"x": [None if i % 10 == 0 else float(i) for i in range(1000)]})
    schema = Schema(columns=[ColumnSpec(name="x", type="numerical")])
    usual = pa.table({"x": [None if i % 10 == 0 else 5.0 for i in range(100)]})
    assert run(ref, usual, schema).value("missing_share_above_expected", "x") == 0.0
    many = pa.table({"x": [None if i % 10 < 4 else 5.0 for i in range(100)]})
    m = run(ref, many, schema).metric("missing_share_above_expected", "x")
    bound = 0.1 + 3 * np.sqrt(0.1 * 0.9 / 100)  # 3 SE is above the 0.01 tolerance here
    assert m.details["expected_at_most"] == pytest.approx(bound)
    assert m.value == pytest.approx(0.4 - bound)
    clean = pa.table({"x": np.arange(1000.0)})
    few = pa.table({"x": [1.0] * 98 + [None] * 2})
    m2 = run(clean, few, schema, missing_tolerance=0.05).metric("missing_share_above_expected", "x")
    assert m2.value == 0.0  # 2% missing is within the 5% tolerance of a clean reference


def test_late_labels_are_not_missing_values() -> None:
    schema = Schema(columns=[ColumnSpec(name="y", type="categorical", role="target")])
    ref = pa.table({"y": ["a", "b"] * 10})
    m = run(ref, pa.table({"y": pa.nulls(5, pa.string())}), schema).metric(
        "missing_share_above_expected", "y"
    )
    assert (m.value, m.status) == (None, "skipped: no labels yet")


def test_learned_domain_keeps_categories_with_enough_support() -> None:
    schema = Schema(columns=[ColumnSpec(name="c", type="categorical")])
    ref = pa.table({"c": ["a"] * 5 + ["b"] * 2 + ["rare"]})
    cur = pa.table({"c": ["a", "b", "rare", "new"]})
    assert run(ref, cur, schema).value("out_of_domain_share", "c") == 0.25  # only "new"
    strict = run(ref, cur, schema, domain_min_support=2).metric("out_of_domain_share", "c")
    assert (strict.value, strict.details["domain_size"]) == (0.5, 2)  # "rare" and "new"


def test_the_profile_learns_bounds_once_per_reference() -> None:
    ref = pa.table({"x": [4.0, 1.0, None, 3.0, 2.0]})
    profile = ReferenceProfile(ref, Schema(columns=[ColumnSpec(name="x", type="numerical")]))
    profile.warm()
    bounds = profile.bounds("x")
    assert bounds is profile.bounds("x")
    q25, q75 = np.percentile([1.0, 2.0, 3.0, 4.0], [25, 75])
    assert (bounds.min, bounds.max, bounds.q1, bounds.q3) == (1.0, 4.0, q25, q75)
