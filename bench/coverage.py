"""Time the coverage and data_quality monitors on a 1M-row window against a 100k reference.

20 numerical + 5 categorical features (plus an id column); the window is shifted a little so
that some rows are uncovered. The reference profile is warmed first, as the service does when a
reference version is uploaded, and one run fills the profile's caches (kNN index and λ, bin
edges, reference codes, chance shares) before the timed runs, as the service's first run on a
reference version does; the coverage line prints wall and CPU time, the core count, the target
and the ratio to it. kNN uses its defaults: 20k reference rows (16k index, 4k held out), k=10,
2000 sampled window rows.

Peers on the same data: the k-th neighbour distances against scikit-learn's
``NearestNeighbors`` (brute force and its default tree choice), the duplicate-row mask against
``pandas.DataFrame.duplicated`` (table conversion not counted).

Run: ``.venv/bin/python bench/coverage.py [n_current] [n_reference] [repeats]``
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable

import numpy as np
import pyarrow as pa

from dqm.monitors.base import MonitorResult
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


def timed(fn: Callable[[], MonitorResult], repeats: int) -> tuple[float, MonitorResult]:
    best, result = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    assert result is not None
    return best, result


def timed_with_cpu(
    fn: Callable[[], MonitorResult], repeats: int
) -> tuple[float, float, MonitorResult]:
    """The fastest of ``repeats`` calls: its wall time, process CPU time and result."""
    best, result = (float("inf"), float("inf")), None
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        result = fn()
        best = min(best, (time.perf_counter() - wall, time.process_time() - cpu))
    assert result is not None
    return best[0], best[1], result


def best_of(fn: Callable[[], object], repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def peers(profile: ReferenceProfile, current: pa.Table, repeats: int) -> None:
    from sklearn.neighbors import NearestNeighbors

    names = [f"x{i}" for i in range(N_NUM)]
    index = standardized_matrix(profile.table.slice(0, 16_000), profile, names)
    queries = standardized_matrix(current.slice(0, 6_000), profile, names)
    ours = best_of(lambda: kth_neighbour_distance(queries, index, 10), repeats)
    print(f"kNN 6000 x 16000 x {N_NUM}: dqm {ours:.2f}s", end="")
    for algorithm in ("brute", "auto"):
        nn = NearestNeighbors(n_neighbors=10, algorithm=algorithm)

        def sklearn_knn(nn: NearestNeighbors = nn) -> object:
            return nn.fit(index).kneighbors(queries)

        theirs = best_of(sklearn_knn, repeats)
        print(f", sklearn {algorithm} {theirs:.2f}s (ratio {ours / theirs:.2f})", end="")
    frame = current.to_pandas()
    ours = best_of(lambda: duplicate_mask(current, current.column_names), repeats)
    theirs = best_of(lambda: frame.duplicated(), repeats)
    print(
        f"\nduplicate rows {current.num_rows} x {current.num_columns}: dqm {ours:.2f}s, "
        f"pandas {theirs:.2f}s (ratio {ours / theirs:.2f})"
    )


def main(n_current: int = 1_000_000, n_reference: int = 100_000, repeats: int = 2) -> None:
    t0 = time.perf_counter()
    reference, current = make_table(n_reference, 0, 0.0), make_table(n_current, 1, 0.1)
    print(
        f"data: {n_current} x {current.num_columns} window, {n_reference} reference rows "
        f"({time.perf_counter() - t0:.1f}s to generate)"
    )
    t0 = time.perf_counter()
    profile = ReferenceProfile(reference, SCHEMA).warm()
    print(f"profile warm-up: {time.perf_counter() - t0:.2f}s (once per reference version)")
    cov_params, dq_params = CoverageParams(), DataQualityParams()
    t0 = time.perf_counter()
    CoverageMonitor().run(profile, current, SCHEMA, cov_params)  # fills the profile's caches
    first = time.perf_counter() - t0
    cov_s, cov_cpu, cov = timed_with_cpu(
        lambda: CoverageMonitor().run(profile, current, SCHEMA, cov_params), repeats
    )
    knn_only = CoverageParams(max_slice_pairs=0)
    nos_s, _ = timed(lambda: CoverageMonitor().run(profile, current, SCHEMA, knn_only), repeats)
    dq_s, dq = timed(lambda: DataQualityMonitor().run(profile, current, SCHEMA, dq_params), repeats)
    print(
        f"coverage run, profile cached: wall {cov_s:.2f}s, CPU {cov_cpu:.2f}s on "
        f"{os.cpu_count()} cores (best of {repeats}; first run on the profile {first:.2f}s); "
        f"target {TARGET_SECONDS}s, ratio {cov_s / TARGET_SECONDS:.2f}"
    )
    print(f"  without slices:  {nos_s:6.2f}s  (slices: {cov_s - nos_s:.2f}s for 45 pairs)")
    print(f"data_quality run:  {dq_s:6.2f}s  (best of {repeats})")
    print(
        f"knn_ood_share={cov.value('knn_ood_share'):.4f} "
        f"slice_uncovered_share={cov.value('slice_uncovered_share'):.4f} "
        f"category_row_coverage[c0]={cov.value('category_row_coverage', 'c0'):.4f} "
        f"findings={len(cov.findings)}"
    )
    print(
        f"rows_with_any_problem_share={dq.value('rows_with_any_problem_share'):.4f} "
        f"findings={len(dq.findings)}"
    )
    peers(profile, current, repeats)


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:]))
