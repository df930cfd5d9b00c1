"""dqm's drift monitor against Evidently's DataDriftPreset on the same data, in one process.

Per shape: Evidently's wall and CPU time (``--evidently-repeats`` runs, median), dqm's (median
of ``--repeats`` runs after one warm-up) from raw tables (the reference profile built inside
every run) and from a cached, warmed profile (what the service does), the ratios against the
targets (>= 150x wall, >= 100x CPU), the number of columns whose method or score differ from
Evidently's (relative 1e-9; must be 0), and ``numpy.sort`` of the current window's numeric
columns as the floor. Threads: dqm scores columns in a pool of ``MAX_THREADS`` threads; the
harness reports the OS threads seen. CPU time is the process's (all threads).

Evidently at 1M rows takes minutes, so it runs only with ``--with-evidently-1m``, which also
stores its time and scores in ``bench/evidently_1m.json``; without it, a 1M shape compares with
that stored run (its date and load are printed) and checks the scores against the stored ones.

``--memory`` traces peak memory with ``tracemalloc`` around one dqm run of each kind (numpy and
Python allocations; Arrow's pool is not traced) relative to the float64 bytes of the numeric
columns of reference + current.

    .venv/bin/python -m bench.drift_vs_evidently [--shapes 100k_25 1m_25] [--with-evidently-1m]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import time
import tracemalloc
import warnings
from collections.abc import Callable
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from bench.harness import Bench, Timing, os_threads
from dqm.monitors.drift.methods import METHODS
from dqm.monitors.drift.monitor import MAX_THREADS, DriftMonitor, DriftParams
from dqm.monitors.profile import ReferenceProfile
from dqm.monitors.schema import ColumnSpec, Schema

SHAPES = {"100k_25": (100_000, 20, 5), "1m_25": (1_000_000, 20, 5), "100k_100": (100_000, 100, 0)}
NAME = {m.display_name: m.name for m in METHODS.values()}
STORED = Path(__file__).parent / "evidently_1m.json"
Scores = dict[str, tuple[str, float]]


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


def run_dqm(ref: pa.Table | ReferenceProfile, cur: pa.Table, schema: Schema) -> Scores:
    result = DriftMonitor().run(ref, cur, schema, DriftParams())
    return {
        str(m.column): (str(m.method), float(m.value if m.value is not None else math.nan))
        for m in result.metrics
        if m.name == "drift_score"
    }


def timed(fn: Callable[[], Any], repeats: int, warmup: int = 1) -> tuple[Any, Timing]:
    """Median wall and CPU (this process, all threads) of ``repeats`` calls after ``warmup``.

    Timed in process (``perf_counter``, ``process_time``): nothing else runs inside the timed
    region, which matters for runs of a few milliseconds.
    """
    out = None
    for _ in range(warmup):
        out = fn()
    walls, cpus, threads = [], [], 1
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        out = fn()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
        threads = max(threads, os_threads())
    return out, Timing(statistics.median(walls), statistics.median(cpus), walls, cpus, threads)


def traced_peak_mib(fn: Callable[[], Any]) -> float:
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return peak


def sort_floor(cur: pa.Table, schema: Schema, repeats: int) -> tuple[Timing, int]:
    """``numpy.sort`` of the current numeric columns, one after the other; their bytes."""
    arrays = [
        cur.column(c.name).to_numpy().astype(np.float64)
        for c in schema.columns
        if c.type == "numerical"
    ]
    _, timing = timed(lambda: [np.sort(a) for a in arrays], repeats)
    return timing, sum(a.nbytes for a in arrays)


def differences(a: Scores, b: Scores) -> list[str]:
    return [
        k
        for k in a
        if k not in b or a[k][0] != b[k][0] or not math.isclose(a[k][1], b[k][1], rel_tol=1e-9)
    ]


def evidently_peer(
    shape: str, ref: pa.Table, cur: pa.Table, schema: Schema, args: argparse.Namespace
) -> tuple[Scores, Timing, str] | None:
    """Evidently's scores and timing: measured now, or the stored 1M run; None if neither."""
    if not shape.startswith("1m") or args.with_evidently_1m:
        import evidently.presets  # noqa: F401  (imported before timing, not inside it)

        scores, timing = timed(lambda: run_evidently(ref, cur, schema), args.evidently_repeats, 0)
        if shape.startswith("1m"):
            store(shape, scores, timing)
        return scores, timing, ""
    if not STORED.exists():
        return None
    doc = json.loads(STORED.read_text())
    if shape not in doc["shapes"]:
        return None
    entry = doc["shapes"][shape]
    scores = {k: (v[0], float(v[1])) for k, v in entry["scores"].items()}
    timing = Timing(entry["wall_s"], entry["cpu_s"], [entry["wall_s"]], [entry["cpu_s"]])
    note = f"Evidently timed {entry['measured']}, load {entry['load']}, not rerun"
    return scores, timing, note


def store(shape: str, scores: Scores, timing: Timing) -> None:
    doc = json.loads(STORED.read_text()) if STORED.exists() else {"shapes": {}}
    doc["shapes"][shape] = {
        "measured": datetime.now(UTC).isoformat(timespec="seconds"),
        "load": "/".join(f"{x:.1f}" for x in os.getloadavg()),
        "evidently": metadata.version("evidently"),
        "wall_s": timing.wall,
        "cpu_s": timing.cpu,
        "scores": scores,
    }
    STORED.write_text(json.dumps(doc, indent=1) + "\n")


def bench(shape: str, args: argparse.Namespace, out: Bench) -> None:
    n, n_num, n_cat = SHAPES[shape]
    ref, cur, schema = make_data(n, n_num, n_cat, args.current_fraction)
    label = f"{shape} ({n:,} x {n_num + n_cat}, {n_cat} categorical)"
    peer = evidently_peer(shape, ref, cur, schema, args)
    raw_scores, raw = timed(lambda: run_dqm(ref, cur, schema), args.repeats)
    profile, build = timed(lambda: ReferenceProfile(ref, schema).warm(), 1, 0)
    cached_scores, cached = timed(lambda: run_dqm(profile, cur, schema), args.repeats)
    floor, cur_bytes = sort_floor(cur, schema, args.repeats)
    threads = f"{MAX_THREADS}-thread column pool"
    for kind, timing in (("raw tables", raw), ("cached profile", cached)):
        name = f"drift {label}, {kind}"
        if peer is None:
            out.add(name, timing, note=f"{threads}; no Evidently run stored for {shape}")
            continue
        note = ", ".join(x for x in (threads, peer[2]) if x)
        pair = (f"Evidently {metadata.version('evidently')}", peer[1])
        out.add(name, timing, peer=pair, target=150, target_of="ratio", note=note)
        out.add(f"{name} (CPU)", timing, peer=pair, target=100, target_of="ratio_cpu", note=note)
    out.add(f"reference profile build {shape}", build, note="once per reference version")
    out.add(f"numpy.sort floor {shape}", floor, note=f"{n_num} current numeric columns")
    if peer is not None:
        diff = differences(peer[0], raw_scores) + differences(peer[0], cached_scores)
        out.add(
            f"columns differing from Evidently {shape}",
            value=float(len(set(diff))),
            unit="columns",
            target=0,
            note=", ".join(sorted(set(diff))) or "same method and score (rel 1e-9) on every column",
        )
    if args.memory:
        data_mib = (cur_bytes + cur_bytes * ref.num_rows / max(cur.num_rows, 1)) / 2**20
        for kind, source in (("raw tables", ref), ("cached profile", profile)):
            peak = traced_peak_mib(lambda s=source: run_dqm(s, cur, schema))  # type: ignore[misc]
            out.add(
                f"traced peak {shape}, {kind}",
                value=peak,
                unit="MiB",
                note=f"{peak / data_mib:.2f}x the numeric data ({data_mib:.0f} MiB)",
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shapes", nargs="+", choices=sorted(SHAPES), default=["100k_25", "1m_25"])
    parser.add_argument(
        "--with-evidently-1m",
        action="store_true",
        help="run Evidently at 1M rows (minutes) and store its time and scores",
    )
    parser.add_argument("--memory", action="store_true", help="trace peak memory of dqm runs")
    parser.add_argument("--repeats", type=int, default=5, help="dqm runs per timing (median)")
    parser.add_argument("--evidently-repeats", type=int, default=1, help="Evidently runs")
    parser.add_argument(
        "--current-fraction", type=float, default=1.0, help="current rows / reference rows"
    )
    args = parser.parse_args()
    out = Bench("drift_vs_evidently", peers=["evidently"], description=__doc__.split("\n")[0])
    for shape in args.shapes:
        bench(shape, args, out)
    out.save()


if __name__ == "__main__":
    main()
