"""Spark end to end: a DataFrame profiled in Spark (local[2]) and pushed with
``Client.push_profile`` gives the stored profile and the drift run of the same rows pushed as a
batch: counts exactly, verdicts equal, the KS statistic within 0.01 of scipy's on the rows."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from scipy import stats

from dqm.service.settings import Settings
from dqm_client import Client
from tests.support.server import running_server

pytest.importorskip("pyspark", reason="pyspark is a test dependency (pip install -e '.[test]')")
from pyspark.sql import SparkSession  # noqa: E402

import dqm_client.spark as spark_profiles  # noqa: E402

pytestmark = pytest.mark.slow
ROWS = 200_000
SCHEMA = {
    "columns": [
        {"name": "id", "type": "categorical", "role": "id"},
        {"name": "age", "type": "numerical"},
        {"name": "income", "type": "numerical"},
        {"name": "plan", "type": "categorical"},
    ]
}
PLANS = np.array(["basic", "pro", "team", "enterprise"])


def table(n: int, seed: int, shift: float) -> pa.Table:
    """``age`` moved by ``shift`` std devs and plans reweighted when shifted; income still."""
    rng = np.random.default_rng(seed)
    weights = [0.5, 0.3, 0.15, 0.05] if shift == 0 else [0.3, 0.3, 0.25, 0.15]
    return pa.table(
        {
            "id": np.arange(n).astype(str),
            "age": rng.normal(40, 12, n) + 12 * shift,
            "income": rng.lognormal(10, 0.5, n),
            "plan": PLANS[rng.choice(4, n, p=weights)],
        }
    )


def _parquet(t: pa.Table) -> bytes:
    sink = io.BytesIO()
    pq.write_table(t, sink)
    return sink.getvalue()


def _scores(client: Client, monitor: str) -> tuple[dict[str, Any], dict[str, Any]]:
    detail = client.wait_for_run(client.run_now(monitor)).raw
    assert detail["status"] == "succeeded", detail
    scores = {m["column"]: m for m in detail["metrics"] if m["name"] == "drift_score"}
    return detail["window"], scores


def test_a_spark_profile_runs_like_the_same_rows(spark: SparkSession, settings: Settings) -> None:
    reference, window = table(50_000, 1, 0.0), table(ROWS, 2, 0.25)
    df = spark.createDataFrame(window.to_pandas()).repartition(6)
    with running_server(settings) as http, Client(str(http.base_url)) as client:
        for name, data in (("spark", "profiles"), ("rows", "rows")):
            client.create_dataset(name, schema=SCHEMA)
            client.put_reference(name, _parquet(reference), content_type=PARQUET)
            client.create_monitor(
                {
                    "name": name,
                    "dataset": name,
                    "kind": "drift",
                    "schedule": {"every": "1d"},
                    "window": {"last_batches": 1},
                    "params": {"data": data, "num_stattest": "ks"},
                }
            )
        schema = client.dataset("spark").schema
        assert schema is not None
        profile = spark_profiles.profile_dataframe(df, schema)
        assert client.push_profile("spark", profile, batch_id="b").kind == "profile"
        client.push_batch("rows", _parquet(window), batch_id="b", content_type=PARQUET)
        in_spark = http.get("/v1/datasets/spark/batches/b/profile").json()
        at_ingest = http.get("/v1/datasets/rows/batches/b/profile").json()
        on_profiles, approx = _scores(client, "spark")
        on_rows, exact = _scores(client, "rows")
    assert in_spark["rows"] == at_ingest["rows"] == ROWS
    for name in ("age", "income"):
        got, want = in_spark["columns"][name], at_ingest["columns"][name]
        assert [got[k] for k in ("count", "nulls", "min", "max")] == [
            want[k] for k in ("count", "nulls", "min", "max")
        ]
    assert in_spark["columns"]["plan"]["top"] == at_ingest["columns"]["plan"]["top"]
    assert (on_profiles["data"], on_rows["data"]) == ("profiles", "rows")
    for column in ("age", "income", "plan"):
        assert approx[column]["method"] == exact[column]["method"]
        if column == "plan" or _verdict_is_clear(reference[column], window[column]):
            assert approx[column]["drifted"] == exact[column]["drifted"], column
    assert exact["age"]["drifted"] and exact["plan"]["drifted"] and not exact["income"]["drifted"]
    for column in ("age", "income"):
        oracle = stats.ks_2samp(reference[column], window[column]).statistic
        assert abs(approx[column]["details"]["statistic"] - oracle) <= 0.01, column
    # exact category counts: the chi-square p-value is the rows run's
    assert approx["plan"]["value"] == pytest.approx(exact["plan"]["value"], rel=1e-9, abs=1e-300)


PARQUET = "application/vnd.apache.parquet"


def _verdict_is_clear(ref: Any, cur: Any, bound: float = 0.01, alpha: float = 0.05) -> bool:
    """Whether every KS statistic within ``bound`` of the exact one gives the same verdict: a
    p-value is steep in D at these sizes, so near the threshold the bound cannot fix it."""
    n, m = len(ref), len(cur)
    d = stats.ks_2samp(ref, cur).statistic
    scale = (n * m / (n + m)) ** 0.5
    low, high = (stats.kstwobign.sf(max(x, 0.0) * scale) for x in (d + bound, d - bound))
    return bool((low <= alpha) == (high <= alpha))
