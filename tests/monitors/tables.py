"""Small seeded tables shared by monitor tests."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from dqm.monitors.schema import ColumnSpec, Schema

XYC_SCHEMA = Schema(
    columns=[
        ColumnSpec(name="x", type="numerical"),
        ColumnSpec(name="y", type="numerical"),
        ColumnSpec(name="c", type="categorical"),
    ]
)


def correlated_table(seed: int, n: int, corr: float) -> pa.Table:
    """x and y standard normal with correlation ``corr`` (5% of y missing), c uniform in a-c."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 1, n)
    y = corr * x + np.sqrt(1 - corr**2) * rng.normal(0, 1, n)
    y[rng.random(n) < 0.05] = np.nan
    return pa.table({"x": x, "y": y, "c": rng.choice(["a", "b", "c"], n).tolist()})
