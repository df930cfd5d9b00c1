"""Coverage caches its reference side per profile: results equal a fresh profile's, and the
quantile-bin codes equal ``numpy.searchsorted``."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

import dqm.monitors.coverage.slices as slices
import dqm.monitors.profile_cache as profile_cache
from dqm.monitors.coverage.monitor import CoverageMonitor, CoverageParams
from dqm.monitors.profile import ReferenceProfile
from dqm.monitors.schema import ColumnSpec, Schema

SCHEMA = Schema(
    columns=[
        *(ColumnSpec(name=f"x{i}", type="numerical") for i in range(3)),
        ColumnSpec(name="c", type="categorical"),
    ]
)


def _table(n: int, seed: int, shift: float) -> pa.Table:
    rng = np.random.default_rng(seed)
    cols: dict[str, object] = {f"x{i}": rng.normal(shift, size=n) for i in range(3)}
    cols["c"] = [f"v{j}" for j in rng.geometric(0.3 if shift else 0.4, size=n)]
    return pa.table(cols)


def _summary(profile: ReferenceProfile, current: pa.Table) -> tuple[object, ...]:
    p = CoverageParams(sample_size=300, reference_cap=1_500, k=5)
    result = CoverageMonitor().run(profile, current, SCHEMA, p)
    return tuple((m.name, m.value, repr(m.details)) for m in result.metrics), result.findings


def test_windows_on_a_cached_profile_equal_fresh_profiles() -> None:
    reference = _table(2_000, 0, 0.0)
    cached_profile = ReferenceProfile(reference, SCHEMA)
    for seed, shift in ((1, 0.0), (2, 0.8)):
        window = _table(1_000, seed, shift)
        fresh = _summary(ReferenceProfile(reference, SCHEMA), window)
        assert _summary(cached_profile, window) == fresh
    keys = {key[0] for key in profile_cache._ENTRIES[cached_profile] if isinstance(key, tuple)}
    assert keys == {"deep_knn", "slice_codes", "slice_chance_share"}


def test_another_reference_gets_its_own_index_and_bins() -> None:
    window = _table(1_000, 3, 0.5)
    first = _summary(ReferenceProfile(_table(2_000, 4, 0.0), SCHEMA), window)
    second = _summary(ReferenceProfile(_table(2_000, 5, 1.0), SCHEMA), window)
    assert first[0] != second[0]


@pytest.mark.parametrize("n_edges", [0, 1, 9, 254, 300])
def test_decile_code_equals_searchsorted(n_edges: int) -> None:
    rng = np.random.default_rng(n_edges)
    edges = np.unique(rng.normal(size=n_edges))
    values = np.concatenate([rng.normal(size=5_000), edges, [np.inf, -np.inf, np.nan, -0.0, 0.0]])
    expected = np.searchsorted(edges, values, side="right")
    expected[np.isnan(values)] = edges.size + 1
    np.testing.assert_array_equal(slices._decile_code(edges, values), expected)
