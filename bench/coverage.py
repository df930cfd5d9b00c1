"""Time the coverage and data_quality monitors on a 1M-row window against a 100k reference.

20 numerical + 5 categorical features (plus an id column); the window is shifted a little so
that some rows are uncovered. The reference profile is warmed first, as the service does when a
reference version is uploaded, and one run fills the profile's caches (kNN index and λ, bin
edges, reference codes, chance shares) before the timed runs, as the service's first run on a
reference version does; the coverage run is checked against its 1.2 s target. kNN uses its
defaults: 20k reference rows (16k index, 4k held out), k=10, 2000 sampled window rows.

Peers on the same data: the k-th neighbour distances against scikit-learn's
``NearestNeighbors`` (brute force and its default tree choice), the duplicate-row mask against
``pandas.DataFrame.duplicated`` (table conversion not counted).

Wall and CPU times are medians of ``--repeats`` runs (``bench.harness``); results go to
``bench/results/coverage.json``.

Run: ``.venv/bin/python -m bench.coverage [--rows N] [--reference-rows N] [--repeats R]``
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pyarrow as pa

from bench.harness import Bench
from dqm.monitors.coverage.knn import standardized_matrix
from dqm.monitors.coverage.monitor import CoverageMonitor, CoverageParams
from dqm.monitors.integrity.checks import duplicate_mask
from dqm.monitors.integrity.monitor import DataQualityMonitor, DataQualityParams
from dqm.monitors.learners.knn import kth_neighbour_distance
from dqm.monitors.profile import ReferenceProfile
from dqm.monitors.schema import ColumnSpec, Schema

N_NUM, N_CAT = 20, 5
TARGET_SECONDS = 1.2  # one coverage run on a 1M-row window, profile cached, on 2 cores
SCHEMA = Schema(
    columns=[
        ColumnSpec(name="id", type="categorical", role="id"),
        *(ColumnSpec(name=f"x{i}", type="numerical") for i in range(N_NUM)),
        *(ColumnSpec(name=f"c{i}", type="categorical") for i in range(N_CAT)),
    ]
)


def make_table(n: int, seed: int, shift: float) -> pa.Table:
    rng = np.random.default_rng(seed)
    columns: dict[str, pa.Array] = {"id": pa.array(np.char.add("r", np.arange(n).astype(str)))}
    for i in range(N_NUM):
        columns[f"x{i}"] = pa.array(rng.normal(loc=shift, size=n))
    for i in range(N_CAT):
        n_cats = 10 * (i + 1) + (3 if shift else 0)  # the window brings 3 new categories
        codes = np.minimum(rng.geometric(0.15, size=n) - 1, n_cats - 1).astype(np.int32)
        labels = pa.array([f"v{j}" for j in range(n_cats)])
        columns[f"c{i}"] = pa.DictionaryArray.from_arrays(pa.array(codes), labels).cast(pa.string())
    return pa.table(columns)


def peers(bench: Bench, profile: ReferenceProfile, current: pa.Table, repeats: int) -> None:
    from sklearn.neighbors import NearestNeighbors

    names = [f"x{i}" for i in range(N_NUM)]
    index = standardized_matrix(profile.table.slice(0, 16_000), profile, names)
    queries = standardized_matrix(current.slice(0, 6_000), profile, names)
    ours = bench.time(lambda: kth_neighbour_distance(queries, index, 10), repeats)
    for algorithm in ("brute", "auto"):
        nn = NearestNeighbors(n_neighbors=10, algorithm=algorithm)

        def sklearn_knn(nn: NearestNeighbors = nn) -> object:
            return nn.fit(index).kneighbors(queries)

        theirs = bench.time(sklearn_knn, repeats)
        peer = f"scikit-learn NearestNeighbors({algorithm})"
        bench.add(f"k-th neighbour, 6000 x 16000 x {N_NUM}, k=10", ours, peer=(peer, theirs))
    frame = current.to_pandas()
    ours = bench.time(lambda: duplicate_mask(current, current.column_names), repeats)
    theirs = bench.time(lambda: frame.duplicated(), repeats)
    shape = f"{current.num_rows:,} x {current.num_columns}"
    bench.add(
        f"duplicate rows, {shape} (pandas: conversion not timed)",
        ours,
        peer=("pandas DataFrame.duplicated", theirs),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="window rows")
    parser.add_argument("--reference-rows", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    bench = Bench("coverage", peers=["scikit-learn", "pandas"], description=__doc__)
    t0 = time.perf_counter()
    reference, current = make_table(args.reference_rows, 0, 0.0), make_table(args.rows, 1, 0.1)
    print(f"data: {time.perf_counter() - t0:.1f}s to generate")
    warm = bench.time(lambda: ReferenceProfile(reference, SCHEMA).warm(), repeats=1)
    profile = ReferenceProfile(reference, SCHEMA).warm()
    shape = f"{args.rows:,} x {current.num_columns} window, {args.reference_rows:,}-row reference"
    bench.add(f"profile warm-up, {shape} (once per reference version)", warm)
    cov_params, dq_params = CoverageParams(), DataQualityParams()
    first = bench.time(lambda: CoverageMonitor().run(profile, current, SCHEMA, cov_params), 1)
    bench.add(f"coverage first run, {shape} (fills the profile's caches)", first)
    cov = CoverageMonitor().run(profile, current, SCHEMA, cov_params)
    run = bench.time(
        lambda: CoverageMonitor().run(profile, current, SCHEMA, cov_params), args.repeats
    )
    bench.add(f"coverage run, {shape}, profile cached", run, target=TARGET_SECONDS)
    knn_only = CoverageParams(max_slice_pairs=0)
    bench.add(
        "coverage run without slices",
        bench.time(lambda: CoverageMonitor().run(profile, current, SCHEMA, knn_only), args.repeats),
    )
    dq = DataQualityMonitor().run(profile, current, SCHEMA, dq_params)
    bench.add(
        f"data_quality run, {shape}",
        bench.time(
            lambda: DataQualityMonitor().run(profile, current, SCHEMA, dq_params), args.repeats
        ),
    )
    print(
        f"knn_ood_share={cov.value('knn_ood_share'):.4f} "
        f"slice_uncovered_share={cov.value('slice_uncovered_share'):.4f} "
        f"category_row_coverage[c0]={cov.value('category_row_coverage', 'c0'):.4f} "
        f"findings={len(cov.findings)}; "
        f"rows_with_any_problem_share={dq.value('rows_with_any_problem_share'):.4f} "
        f"findings={len(dq.findings)}"
    )
    peers(bench, profile, current, args.repeats)
    bench.save()


if __name__ == "__main__":
    main()
