"""A DataFrame profiled in Spark (local mode, two cores) gives the profile of the same rows
profiled in one piece: counts exactly, categories exactly, quantiles within the sketch bound."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from dqm_client.profiles import CategoricalProfile, NumericProfile, profile_arrow, profiled_types

pytest.importorskip("pyspark", reason="pyspark is a test dependency (pip install -e '.[test]')")
from pyspark.sql import SparkSession  # noqa: E402

import dqm_client.spark as spark_profiles  # noqa: E402

pytestmark = pytest.mark.slow
# Enough rows for what the test is about, not for throughput (docs/scale.md measures 2M rows):
# 8 partitions of 25,000 rows, each several of Spark's Arrow batches (10,000 rows) merged in the
# partition, and every KLL sketch past its exact capacity (compacting) before the tree merge.
ROWS = 200_000
NULLS = ROWS // 100
SCHEMA = {
    "columns": [
        {"name": "id", "type": "categorical", "role": "id"},
        {"name": "age", "type": "numerical"},
        {"name": "income", "type": "numerical"},
        {"name": "plan", "type": "categorical"},
        {"name": "score", "type": "numerical", "role": "prediction"},
        {"name": "note", "type": "text"},
    ]
}


def rows(n: int = ROWS) -> pa.Table:
    rng = np.random.default_rng(11)
    age = rng.normal(40, 12, n)
    age[rng.choice(n, n // 100, replace=False)] = np.nan
    plans = np.array(["basic", "pro", "team", "enterprise"])
    return pa.table(
        {
            "id": np.arange(n),
            "age": pa.array(age, from_pandas=True),  # NaN -> null, as Spark stores it
            "income": rng.lognormal(10, 0.5, n),
            "plan": plans[rng.choice(4, n, p=[0.5, 0.3, 0.15, 0.05])],
            "score": rng.random(n),
            "note": np.repeat("n", n),
        }
    )


def test_spark_profile_equals_the_profile_of_the_same_rows(spark: SparkSession) -> None:
    table = rows()
    df = spark.createDataFrame(table.to_pandas()).repartition(8)
    in_spark = spark_profiles.profile_dataframe(df, SCHEMA)
    direct = profile_arrow(table, profiled_types(SCHEMA))

    assert in_spark.rows == direct.rows == ROWS
    assert sorted(in_spark.columns) == ["age", "income", "plan", "score"]
    for name in ("age", "income", "score"):
        got, want = in_spark.columns[name], direct.columns[name]
        assert isinstance(got, NumericProfile) and isinstance(want, NumericProfile)
        assert (got.count, got.nulls, got.minimum, got.maximum) == (
            want.count,
            want.nulls,
            want.minimum,
            want.maximum,
        )
        assert got.mean == pytest.approx(want.mean, rel=1e-12)
        assert got.variance == pytest.approx(want.variance, rel=1e-9)
        exact = np.sort(table.column(name).drop_null().to_numpy())
        bound = got.rank_error
        for q in np.linspace(0.01, 0.99, 99):
            rank = np.searchsorted(exact, got.quantile(float(q)), side="right") / exact.size
            assert abs(rank - q) <= bound + 1 / exact.size, (name, q, rank, bound)
    plan = in_spark.columns["plan"]
    assert isinstance(plan, CategoricalProfile) and plan.is_exact
    assert plan.counts() == direct.columns["plan"].counts()  # type: ignore[union-attr]
    assert in_spark.columns["age"].nulls == NULLS
    # Past the sketches' exact size (25,000 values a partition, k = 800): compacted, then merged.
    assert all(
        c.sketch.is_estimation_mode()
        for c in in_spark.columns.values()
        if isinstance(c, NumericProfile)
    )


def test_an_empty_dataframe_gives_an_empty_profile(spark: SparkSession) -> None:
    df = spark.createDataFrame(rows(10).to_pandas()).limit(0)
    profile = spark_profiles.profile_dataframe(df, SCHEMA)
    assert profile.rows == 0 and all(c.count == 0 for c in profile.columns.values())
