"""dqm's drift monitor against Evidently's DataDriftPreset on the same data, in one process.

Prints both wall times, the ratio, the number of columns whose method or score differ (must be
0), and dqm's time against the floor for exact KS / Wasserstein: ``numpy.sort`` of the current
window's numeric columns, one after the other (conversion to numpy not timed).

``--memory`` traces peak memory with ``tracemalloc`` around dqm's runs only (numpy and
Python allocations made during the run; the input tables are allocated before and not counted,
Arrow's own pool is not traced) and prints dqm's peak relative to the bytes of the reference +
current numeric columns (float64).

    .venv/bin/python bench/drift_vs_evidently.py --shapes 100k_25 100k_100 [1m_25] [--memory]
"""

from __future__ import annotations

import argparse
import math
import time
import tracemalloc
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pyarrow as pa

from dqm.monitors.drift.methods import METHODS
from dqm.monitors.drift.monitor import DriftMonitor, DriftParams
from dqm.monitors.profile import ReferenceProfile
from dqm.monitors.schema import ColumnSpec, Schema

SHAPES = {"100k_25": (100_000, 20, 5), "1m_25": (1_000_000, 20, 5), "100k_100": (100_000, 100, 0)}
NAME = {m.display_name: m.name for m in METHODS.values()}


def make_data(
    n: int, n_num: int, n_cat: int, cur_fraction: float = 1.0, seed: int = 0
) -> tuple[pa.Table, pa.Table, Schema]:
    """Reference and current windows; every third column drifts, some hold NaN and inf."""
    rng = np.random.default_rng(seed)
    m = int(n * cur_fraction)
    ref: dict[str, Any] = {}
    cur: dict[str, Any] = {}
    for i in range(n_num):
        shift = 0.2 if i % 3 == 0 else 0.0
        r: np.ndarray = rng.normal(0, 1 + i % 4, n)
        c: np.ndarray = rng.normal(shift, 1 + i % 4, m)
        if i % 5 == 1:  # a low-cardinality numerical column (Jensen-Shannon path)
            r, c = np.round(np.abs(r)) % 4, np.round(np.abs(c)) % 4
        if i % 7 == 2:
            r[rng.random(n) < 0.05], c[rng.random(m) < 0.05] = np.nan, np.inf
        ref[f"num_{i}"], cur[f"num_{i}"] = r, c
    letters = np.array([f"cat_value_{k}" for k in range(12)])
    for j in range(n_cat):
        p = np.arange(1, 13, dtype=float) ** (1 + j % 2)
        q = p[::-1] if j % 3 == 0 else p
        ref[f"cat_{j}"] = pa.array(rng.choice(letters, n, p=p / p.sum()))
        cur[f"cat_{j}"] = pa.array(rng.choice(letters, m, p=q / q.sum()))
    specs = [ColumnSpec(name=k, type="numerical") for k in ref if k.startswith("num")]
    specs += [ColumnSpec(name=k, type="categorical") for k in ref if k.startswith("cat")]
    return pa.table(ref), pa.table(cur), Schema(columns=specs)


def run_evidently(ref: pa.Table, cur: pa.Table, schema: Schema) -> dict[str, tuple[str, float]]:
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    definition = DataDefinition(
        numerical_columns=[c.name for c in schema.columns if c.type == "numerical"],
        categorical_columns=[c.name for c in schema.columns if c.type == "categorical"],
    )
    ref_df, cur_df = ref.to_pandas(), cur.to_pandas()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        snapshot = Report([DataDriftPreset()]).run(
            Dataset.from_pandas(cur_df, data_definition=definition),
            Dataset.from_pandas(ref_df, data_definition=definition),
        )
        metrics = snapshot.dict()["metrics"]
    return {
        m["config"]["column"]: (NAME[m["config"]["method"]], float(m["value"]))
        for m in metrics
        if m["config"]["type"].endswith("ValueDrift")
    }


def run_dqm(
    ref: pa.Table | ReferenceProfile, cur: pa.Table, schema: Schema
) -> dict[str, tuple[str, float]]:
    result = DriftMonitor().run(ref, cur, schema, DriftParams())
    return {
        str(m.column): (str(m.method), float(m.value if m.value is not None else math.nan))
        for m in result.metrics
        if m.name == "drift_score"
    }


def timed(fn: Callable[[], Any], memory: bool) -> tuple[Any, float, float | None]:
    if memory:
        tracemalloc.start()
    start = time.perf_counter()
    out = fn()
    elapsed = time.perf_counter() - start
    peak = None
    if memory:
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    return out, elapsed, peak


def sort_floor(cur: pa.Table, schema: Schema, repeat: int) -> tuple[float, int]:
    """Best-of-``repeat`` time of ``numpy.sort`` over current numeric columns; their bytes."""
    arrays = [
        cur.column(c.name).to_numpy().astype(np.float64)
        for c in schema.columns
        if c.type == "numerical"
    ]
    best = math.inf
    for _ in range(repeat):
        start = time.perf_counter()
        for a in arrays:
            np.sort(a)
        best = min(best, time.perf_counter() - start)
    return best, sum(a.nbytes for a in arrays)


def differences(a: dict[str, tuple[str, float]], b: dict[str, tuple[str, float]]) -> list[str]:
    return [
        k
        for k in a
        if k not in b or a[k][0] != b[k][0] or not math.isclose(a[k][1], b[k][1], rel_tol=1e-9)
    ]


def bench(shape: str, memory: bool, repeat: int, cur_fraction: float) -> None:
    n, n_num, n_cat = SHAPES[shape]
    ref, cur, schema = make_data(n, n_num, n_cat, cur_fraction)
    ev, ev_s, _ = timed(lambda: run_evidently(ref, cur, schema), False)
    cold = min(timed(lambda: run_dqm(ref, cur, schema), False)[1] for _ in range(repeat))
    profile, prof_s, _ = timed(lambda: ReferenceProfile(ref, schema).warm(), False)
    warm = min(timed(lambda: run_dqm(profile, cur, schema), False)[1] for _ in range(repeat))
    dq, _, dq_mb = timed(lambda: run_dqm(ref, cur, schema), memory)
    _, prof_mb = timed(lambda: run_dqm(profile, cur, schema), memory)[::2]
    floor, cur_bytes = sort_floor(cur, schema, repeat)
    data_mib = (cur_bytes + cur_bytes * ref.num_rows / max(cur.num_rows, 1)) / 2**20
    diff = differences(ev, dq)
    print(f"== {shape}: {n} reference rows, {cur.num_rows} current rows", end="")
    print(f" x {n_num + n_cat} columns ({n_num} num, {n_cat} cat)")
    print(f"evidently        {ev_s:9.3f} s")
    peak = f"   peak {dq_mb:8.1f} MiB" if dq_mb else ""
    print(f"dqm (raw table)  {cold:9.3f} s   ratio {ev_s / cold:7.1f}x{peak}")
    print(f"dqm (profile)    {warm:9.3f} s   ratio {ev_s / warm:7.1f}x", end="")
    print(f"   (profile build {prof_s:.3f} s, once per reference version)")
    print(f"numpy.sort floor {floor:9.3f} s   dqm (profile) / floor {warm / floor:5.2f}x", end="")
    print(f"   dqm (raw table) / floor {cold / floor:5.2f}x")
    if dq_mb is not None and prof_mb is not None:
        print(f"numeric data (ref + cur) {data_mib:8.1f} MiB   dqm peak / data: ", end="")
        print(f"raw table {dq_mb / data_mib:5.2f}x, profile {prof_mb / data_mib:5.2f}x")
    print(f"columns differing from evidently: {len(diff)} {diff if diff else ''}")
    methods = sorted({m for m, _ in dq.values()})
    print(f"methods used: {methods}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--shapes", nargs="+", choices=sorted(SHAPES), default=["100k_25", "100k_100"]
    )
    parser.add_argument("--memory", action="store_true", help="trace peak memory (slower runs)")
    parser.add_argument("--repeat", type=int, default=3, help="dqm timing repeats (best of)")
    parser.add_argument(
        "--current-fraction", type=float, default=1.0, help="current rows / reference rows"
    )
    args = parser.parse_args()
    for shape in args.shapes:
        bench(shape, args.memory, args.repeat, args.current_fraction)


if __name__ == "__main__":
    main()
