"""Profiles at scale: size per column, merging a window of 1,000 batch profiles, a drift run on
profiles against one on rows at 10M rows, Spark profiling throughput (local mode), and the peak
memory of a run over a 100M-row window made of profiles.

Everything runs in this process (the monitors' code paths, no HTTP), except the 100M-row memory
figure, measured in a fresh child process (its peak RSS, VmHWM, above its RSS once imports are
done), and Spark (a local[2] JVM with Python workers; wall only, the JVM's CPU is not counted).
Columns: ``num`` normal floats, ``cat`` 12 levels; the drift run has 5 numerical and 2
categorical columns, a 1M-row reference, num_stattest ``ks`` (the method whose accuracy is
tested), the window shifted by 0.02 std devs.

    .venv/bin/python -m bench.profiles [--window-rows 10000000] [--skip-spark]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
from typing import Any

import numpy as np
import pyarrow as pa

from bench.harness import Bench, Timing
from dqm.monitors.drift.monitor import DriftMonitor
from dqm.monitors.drift.on_profiles import measure_profiles
from dqm.monitors.drift.params import DriftParams
from dqm.monitors.profile import ReferenceProfile
from dqm.monitors.schema import ColumnSpec, Schema
from dqm_client.profiles import codec, merge_all, profile_arrow

NUMS = [f"n{i}" for i in range(5)]
CATS = ["c0", "c1"]
SCHEMA = Schema(
    columns=[ColumnSpec(name=n, type="numerical") for n in NUMS]
    + [ColumnSpec(name=c, type="categorical") for c in CATS]
)
TYPES: Any = {**dict.fromkeys(NUMS, "numerical"), **dict.fromkeys(CATS, "categorical")}
LEVELS = np.array([f"level_{i}" for i in range(12)], dtype=object)


def table(n: int, seed: int, shift: float = 0.0) -> pa.Table:
    rng = np.random.default_rng(seed)
    columns: dict[str, Any] = {n_: rng.normal(shift, 1.0, n) for n_ in NUMS}
    for c in CATS:
        columns[c] = pa.array(LEVELS.tolist(), pa.string()).take(rng.integers(0, 12, n))
    return pa.table(columns)


def sizes(bench: Bench) -> None:
    rng = np.random.default_rng(0)
    for n in (1_000, 100_000, 10_000_000):
        one = profile_arrow(pa.table({"x": rng.normal(size=n)}), {"x": "numerical"})
        size = len(codec.encode(one))
        bench.add(f"profile size, numerical column, {n:,} values", value=size, unit="bytes")
    for levels in (12, 1_000, 100_000):
        values = pa.array([f"v{i}" for i in rng.integers(0, levels, 1_000_000)], pa.string())
        one = profile_arrow(pa.table({"c": values}), {"c": "categorical"})
        bench.add(
            f"profile size, categorical column, {levels:,} levels (1M values)",
            value=len(codec.encode(one)),
            unit="bytes",
        )


def batch_blobs(count: int, rows: int) -> list[bytes]:
    """``count`` encoded batch profiles of ``rows`` rows (8 distinct ones, repeated)."""
    distinct = [codec.encode(profile_arrow(table(rows, 100 + i, 0.02), TYPES)) for i in range(8)]
    return [distinct[i % len(distinct)] for i in range(count)]


def merging(bench: Bench) -> None:
    blobs = batch_blobs(1_000, 10_000)
    decoded = [codec.decode(b) for b in blobs]
    t = bench.time(lambda: merge_all(decoded), repeats=3)
    bench.add("merge 1,000 batch profiles (7 columns, 10k rows each)", t)
    t = bench.time(lambda: merge_all(codec.decode(b) for b in blobs), repeats=3)
    bench.add(
        "decode + merge 1,000 stored batch profiles", t, note=f"{sum(map(len, blobs)):,} bytes"
    )


def drift(bench: Bench, window_rows: int) -> None:
    reference = ReferenceProfile(table(1_000_000, 1), SCHEMA).warm()
    params = DriftParams(num_stattest="ks")
    batches = 100
    rows_t, blobs = _on_rows(bench, reference, params, window_rows, batches)

    def on_profiles() -> Any:
        merged = merge_all(codec.decode(b) for b in blobs)
        return measure_profiles(reference, merged, SCHEMA, params)

    prof_t = bench.time(on_profiles, repeats=3)
    label = f"drift run, {window_rows:,}-row window, 7 columns, 1M-row reference"
    bench.add(f"{label}: on rows", rows_t)
    bench.add(f"{label}: on {batches} batch profiles (decode + merge + score)", prof_t)
    bench.add("rows / profiles wall ratio", value=rows_t.wall / prof_t.wall, unit="x")


def _on_rows(
    bench: Bench, reference: ReferenceProfile, params: DriftParams, rows: int, batches: int
) -> tuple[Timing, list[bytes]]:
    """The rows run's timing, and the window's batch profiles (the window is then dropped)."""
    window = table(rows, 2, 0.02)
    timing = bench.time(lambda: DriftMonitor().run(reference, window, SCHEMA, params), repeats=2)
    step = rows // batches
    parts = [window.slice(i * step, step) for i in range(batches)]
    once = bench.time(lambda: codec.encode(profile_arrow(parts[0], TYPES)), repeats=3)
    bench.add(f"profile one batch at ingest ({step:,} rows x 7 columns) and encode it", once)
    return timing, [codec.encode(profile_arrow(part, TYPES)) for part in parts]


def spark(bench: Bench) -> None:
    os.environ["PYSPARK_PYTHON"] = sys.executable
    from pyspark.sql import SparkSession

    import dqm_client.spark as spark_profiles

    session = (
        SparkSession.builder.master("local[2]")
        .appName("dqm-bench")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    n = 2_000_000
    df = session.createDataFrame(table(n, 3).to_pandas()).repartition(8).cache()
    df.count()
    schema = {"columns": [c.model_dump() for c in SCHEMA.columns]}
    wall = time.perf_counter()
    spark_profiles.profile_dataframe(df, schema)
    elapsed = time.perf_counter() - wall
    session.stop()
    bench.add(
        f"Spark profile_dataframe, local[2], {n:,} rows x 7 columns (cached DataFrame)",
        Timing(elapsed, float("nan"), [elapsed], []),
        note=f"{n / elapsed:,.0f} rows/s; wall only (JVM CPU not counted)",
        processes=3,
    )


def child_100m() -> None:
    """In a fresh process: decode and merge 1,000 profiles of 100k rows, score them against a
    1M-row reference; print peak RSS above the RSS after imports and setup, in bytes."""
    reference = ReferenceProfile(table(1_000_000, 1), SCHEMA).warm()
    blobs = batch_blobs(1_000, 100_000)
    base = _rss("VmRSS")
    _reset_peak()
    merged = merge_all(codec.decode(b) for b in blobs)
    result = measure_profiles(reference, merged, SCHEMA, DriftParams(num_stattest="ks"))
    assert merged.rows == 100_000_000 and result.value("share_drifted_columns") is not None
    print(_rss("VmHWM") - base, base, sum(map(len, blobs)))


def _rss(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return 0


def _reset_peak() -> None:
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # resets VmHWM to the current RSS


def memory(bench: Bench) -> None:
    wall, cpu = time.perf_counter(), resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run(
        [sys.executable, "-m", "bench.profiles", "--child-100m"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    peak, base, stored = (int(v) for v in out[-3:])
    used = after.ru_utime + after.ru_stime - cpu.ru_utime - cpu.ru_stime
    bench.add(
        "run on a 100M-row window of 1,000 batch profiles: peak RSS above setup",
        Timing(time.perf_counter() - wall, used, [], []),
        value=peak / 2**20,
        unit="MiB",
        note=f"setup RSS {base / 2**20:.0f} MiB (1M-row reference, profiles); "
        f"profiles {stored / 2**20:.1f} MiB stored; timing includes the child's setup",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--window-rows", type=int, default=10_000_000)
    parser.add_argument("--skip-spark", action="store_true")
    parser.add_argument("--child-100m", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_100m:
        child_100m()
        return
    bench = Bench("profiles", peers=["datasketches", "pyspark"], description=__doc__ or "")
    sizes(bench)
    merging(bench)
    memory(bench)
    drift(bench, args.window_rows)
    if not args.skip_spark:
        spark(bench)
    bench.save()


if __name__ == "__main__":
    main()
