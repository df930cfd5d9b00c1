"""What one drift column costs a run when the reference profile is cached: every method.

A 1M-row reference (``--ref``) is profiled and warmed once, as the service does per reference
version; then each method scores a 10k-row window (``--cur``) the way a run does: read the
window's column, sort or count it, align it with the cached reference, score, effect size
(``dqm.monitors.drift.monitor``'s column path, one thread). Columns: ``x`` continuous, ``b``
numerical 0/1, ``c`` categorical with ``--levels`` levels (100k), ``c12`` categorical with 12,
``cb`` categorical with 2. Every row is the median wall and CPU of ``--repeats`` runs after one
warm-up run (the warm-up builds what a method reads from the reference on first use, e.g. the
energy distance's squared prefix sums; that once-per-reference cost has its own rows).

Target per row: at most ``3 x`` the window's own sort floor (``numpy.sort`` of its 10k floats)
plus ``--fixed-ms`` (3 ms), on ``--target-of`` (wall by default; ``cpu`` on a busy machine).
A categorical column at 100k levels must cost at most twice a numerical column (defaults).

    .venv/bin/python -m bench.drift_window_cost [--ref 1000000] [--cur 10000] [--levels 100000]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pyarrow as pa

import dqm.monitors.drift.monitor as monitor
from bench.harness import Bench, Timing
from dqm.monitors.drift.methods import METHODS
from dqm.monitors.drift.params import DriftParams
from dqm.monitors.profile import ReferenceProfile
from dqm.monitors.schema import ColumnSpec, Schema
from dqm.monitors.stats.sorted_reference import SortedReference

COLUMNS = {"x": "numerical", "b": "numerical", "c": "categorical", "c12": "categorical"}
COLUMNS |= {"cb": "categorical"}


def timed(fn: Callable[[], Any], repeats: int) -> Timing:
    """Median wall and CPU of ``repeats`` calls after one warm-up (in process, one thread)."""
    fn()
    walls, cpus = [], []
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return Timing(statistics.median(walls), statistics.median(cpus), walls, cpus)


def tables(n_ref: int, n_cur: int, levels: int) -> tuple[pa.Table, pa.Table, Schema]:
    rng = np.random.default_rng(0)
    names = np.array([f"level_{i:06d}" for i in range(levels)], dtype=object)
    small = np.array([f"value_{i}" for i in range(12)], dtype=object)

    def table(n: int, shift: float) -> pa.Table:
        return pa.table(
            {
                "x": rng.normal(shift, 1.0 + shift, n),
                "b": (rng.random(n) < 0.5 + shift).astype(np.float64),
                "c": names[rng.integers(0, levels, n)],
                "c12": small[rng.integers(0, 12, n)],
                "cb": small[rng.integers(0, 2, n)],
            }
        )

    schema = Schema(columns=[ColumnSpec(name=k, type=t) for k, t in COLUMNS.items()])
    return table(n_ref, 0.0), table(n_cur, 0.05), schema


def plan() -> list[tuple[str, str | None]]:
    """(column, method) pairs: every method on every column type it applies to (None: the
    default choice), Fisher's exact test on the binary columns."""
    rows: list[tuple[str, str | None]] = [(c, None) for c in COLUMNS]
    for name, method in METHODS.items():
        if name == "fisher_exact":
            rows += [("b", name), ("cb", name)]
            continue
        if method.applies_to("numerical"):
            rows.append(("x", name))
        if method.applies_to("categorical"):
            rows += [("c", name), ("c12", name)]
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ref", type=int, default=1_000_000)
    parser.add_argument("--cur", type=int, default=10_000)
    parser.add_argument("--levels", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--fixed-ms", type=float, default=3.0)
    parser.add_argument("--target-of", choices=["wall", "cpu"], default="wall")
    args = parser.parse_args()
    out = Bench("drift_window_cost", description=__doc__.split("\n")[0])
    ref, cur, schema = tables(args.ref, args.cur, args.levels)
    spec = {c.name: c for c in schema.columns}
    profile = ReferenceProfile(ref, schema)
    build = timed(lambda: ReferenceProfile(ref, schema).warm(), 1)
    profile.warm()
    out.add(f"profile build + warm, {args.ref:,} rows x {len(COLUMNS)}", build, note="once")
    window = np.asarray(cur.column("x").to_numpy(), dtype=np.float64)
    floor = timed(lambda: np.sort(window), args.repeats * 5)
    out.add(f"window sort floor ({args.cur:,} float64)", floor)
    limit = 3 * getattr(floor, args.target_of) + args.fixed_ms / 1e3
    defaults: dict[str, float] = {}
    for column, name in plan():
        params = DriftParams(per_column_method={column: name}) if name else DriftParams()
        outcome = monitor._column(profile, cur, spec[column], params)
        label = f"{name or 'default'} on {column} ({COLUMNS[column]})"
        if outcome.status != "ok" or outcome.method is None:
            out.add(label, value=None, note=outcome.status)
            continue
        if name is None:
            label = f"default ({outcome.method.name}) on {column} ({COLUMNS[column]})"

        def run(c: str = column, p: DriftParams = params) -> object:
            return monitor._column(profile, cur, spec[c], p)

        t = timed(run, args.repeats)
        ratio = getattr(t, args.target_of) / getattr(floor, args.target_of)
        out.add(label, t, target=limit, target_of=args.target_of, note=f"{ratio:.0f}x floor")
        if name is None:
            defaults[column] = getattr(t, args.target_of)
    values = profile.numeric("x").sorted_values
    first_ed = timed(lambda: SortedReference.of(values).weighted_sq, 3)
    out.add("energy distance's squared prefix sums (first ed run)", first_ed, note="once")
    out.add(
        f"categorical at {args.levels:,} levels / numerical column (defaults)",
        value=defaults["c"] / defaults["x"],
        unit="x",
        target=2.0,
    )
    out.save()


if __name__ == "__main__":
    main()
