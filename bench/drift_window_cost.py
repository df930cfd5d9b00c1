"""What one drift method costs per column when the reference profile is cached.

For a large reference (default 1M rows) and a small window (default 10k rows), prints per
numerical method the time of one score with the pre-indexed reference (``indexed``) and with
the merge of both samples (``merge``), the window's own ``numpy.sort`` time (the floor of any
exact method), ``indexed / floor``, and wall and CPU time; then one categorical column with
many levels (counting the window and aligning it with the cached reference counts) against
one numerical column (sorting the window and scoring Wasserstein). Times are the median of
``--repeat`` runs; the machine's core count and load average are printed first.

    .venv/bin/python bench/drift_window_cost.py [--ref 1000000] [--cur 10000] [--levels 100000]
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable

import numpy as np
import pyarrow as pa

import dqm.monitors.drift.methods as methods
from dqm.monitors.columns import category_counts, sorted_finite_values, string_column
from dqm.monitors.profile import ReferenceProfile
from dqm.monitors.schema import ColumnSpec, Schema

NUMERIC = ["wasserstein", "ks", "ed", "cramer_von_mises", "anderson", "mannw"]


def timed(fn: Callable[[], object], repeat: int) -> tuple[float, float]:
    """Median wall and CPU seconds of ``fn``."""
    walls, cpus = [], []
    for _ in range(repeat):
        w, c = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - w)
        cpus.append(time.process_time() - c)
    return float(np.median(walls)), float(np.median(cpus))


def numeric_rows(n_ref: int, n_cur: int, repeat: int) -> None:
    rng = np.random.default_rng(0)
    schema = Schema(columns=[ColumnSpec(name="x", type="numerical")])
    profile = ReferenceProfile(pa.table({"x": rng.normal(0, 1, n_ref)}), schema).warm()
    prof = profile.numeric("x")
    window = rng.normal(0.05, 1.1, n_cur)
    floor, _ = timed(lambda: np.sort(window), repeat)
    cur = np.sort(window)
    indexed = methods.NumericPair(
        prof.sorted_values, cur, prof.std, prof.unique_values, prof.indexed
    )
    merge = methods.NumericPair(prof.sorted_values, cur, prof.std, prof.unique_values)
    print(f"window sort floor: {floor * 1e3:.3f} ms ({n_cur} values; reference {n_ref})")
    print(f"{'method':18} {'indexed ms':>10} {'cpu ms':>8} {'merge ms':>9} {'/floor':>7}")
    for name in NUMERIC:
        score = methods.METHODS[name].score
        wall, cpu = timed(lambda s=score: s(indexed), repeat)  # type: ignore[misc]
        old, _ = timed(lambda s=score: s(merge), max(1, repeat // 3))  # type: ignore[misc]
        print(f"{name:18} {wall * 1e3:10.2f} {cpu * 1e3:8.2f} {old * 1e3:9.2f} {wall / floor:7.1f}")


def categorical_row(n_ref: int, n_cur: int, levels: int, repeat: int) -> None:
    rng = np.random.default_rng(1)
    names = np.array([f"level_{i:06d}" for i in range(levels)], dtype=object)
    schema = Schema(
        columns=[ColumnSpec(name="c", type="categorical"), ColumnSpec(name="x", type="numerical")]
    )
    ref = pa.table({"c": names[rng.integers(0, levels, n_ref)], "x": rng.normal(0, 1, n_ref)})
    cur = pa.table({"c": names[rng.integers(0, levels, n_cur)], "x": rng.normal(0, 1, n_cur)})
    profile = ReferenceProfile(ref, schema).warm()

    def categorical() -> float:
        counts = methods.Counts(*profile.categorical("c").aligned(string_column(cur, "c")))
        pair = methods.CategoricalPair(counts)
        return methods.default_method(pair).score(pair)

    def categorical_by_sorting() -> float:
        cprof = profile.categorical("c")
        keys, counts, _ = category_counts(cur, "c")
        pair = methods.CategoricalPair.from_counts(cprof.categories, cprof.counts, keys, counts)
        return methods.default_method(pair).score(pair)

    def numerical() -> float:
        prof = profile.numeric("x")
        values = sorted_finite_values(cur, "x")
        pair = methods.NumericPair(
            prof.sorted_values, values, prof.std, prof.unique_values, prof.indexed
        )
        return methods.default_method(pair).score(pair)

    cat, cat_cpu = timed(categorical, repeat)
    by_sorting, _ = timed(categorical_by_sorting, repeat)
    print(f"categorical by sorting Python strings (union1d): {by_sorting * 1e3:.2f} ms")
    num, num_cpu = timed(numerical, repeat)
    print(f"categorical, {levels} levels, window {n_cur}: {cat * 1e3:.2f} ms", end=" ")
    print(f"(cpu {cat_cpu * 1e3:.2f})")
    print(f"numerical, window {n_cur}: {num * 1e3:.2f} ms (cpu {num_cpu * 1e3:.2f})")
    print(f"categorical / numerical: {cat / num:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ref", type=int, default=1_000_000)
    parser.add_argument("--cur", type=int, default=10_000)
    parser.add_argument("--levels", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=9)
    args = parser.parse_args()
    print(f"cores: {os.cpu_count()}, load average: {os.getloadavg()}")
    numeric_rows(args.ref, args.cur, args.repeat)
    categorical_row(args.ref, args.cur, args.levels, args.repeat)


if __name__ == "__main__":
    main()
