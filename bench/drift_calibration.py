"""False alarms and power of the drift policies ``evidently`` and ``calibrated`` on simulated data.

Null: both windows are drawn from one distribution, so every flagged column is a false alarm.
Power: the current window is shifted by ``d`` standard deviations. Numerical columns are
N(0, 1) samples; a categorical column with k levels bins a latent N(0, 1) value into k
categories of Zipf-like probabilities (proportional to 1 / rank), and its shift moves the
latent value by ``d``, so the two kinds drift by comparable amounts. Sorted normal samples
are drawn in O(n) as exact order statistics (normalized cumulative exponential spacings
through the normal quantile function), so a million rows per window cost no sort.

Prints the share of columns flagged per window size and column kind for both policies, and
the share of runs (of ``RUN_COLUMNS`` columns) with any flagged column under ``bh``.

    .venv/bin/python -m bench.drift_calibration [--columns 200] [--big-columns 40] [--runs 200]

The worst null share per size and policy and the BH run rates go to
``bench/results/drift_calibration.json`` (see ``bench.harness``).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence

import numpy as np
from scipy import special

from bench.harness import Bench, Timing, cpu_seconds
from dqm.monitors.drift.column import ColumnOutcome, apply_multiple_testing, measure_pair
from dqm.monitors.drift.methods import CategoricalPair, NumericPair, Pair
from dqm.monitors.drift.params import DriftParams
from dqm.monitors.schema import ColumnSpec

SIZES = (1_000, 100_000, 1_000_000)
KINDS = ("numerical", "categorical 3", "categorical 10", "categorical 20")
RUN_COLUMNS = 20
NUM_SPEC = ColumnSpec(name="x", type="numerical")
CAT_SPEC = ColumnSpec(name="c", type="categorical")


def sorted_normal(rng: np.random.Generator, n: int, shift: float = 0.0) -> np.ndarray:
    """n sorted draws of N(shift, 1): uniform order statistics from exponential spacings."""
    spacings = rng.standard_exponential(n + 1)
    uniform = np.cumsum(spacings)[:-1] / spacings.sum()
    return np.asarray(special.ndtri(uniform) + shift)


def numeric_pair(rng: np.random.Generator, n: int, shift: float = 0.0) -> NumericPair:
    ref, cur = sorted_normal(rng, n), sorted_normal(rng, n, shift)
    return NumericPair(ref, cur, float(ref.std()), ref)


def category_probabilities(levels: int, shift: float = 0.0) -> np.ndarray:
    """Zipf-like probabilities of ``levels`` bins of a latent N(0, 1) moved by ``shift``."""
    weights = 1.0 / np.arange(1, levels + 1)
    cuts = special.ndtri(np.cumsum(weights)[:-1] / weights.sum())
    cdf = np.concatenate([[0.0], special.ndtr(cuts - shift), [1.0]])
    return np.asarray(np.diff(cdf))


def categorical_pair(
    rng: np.random.Generator, n: int, levels: int, shift: float = 0.0
) -> CategoricalPair:
    keys = np.array([f"c{i:02d}" for i in range(levels)], dtype=object)
    ref = rng.multinomial(n, category_probabilities(levels))
    cur = rng.multinomial(n, category_probabilities(levels, shift))
    seen_ref, seen_cur = ref > 0, cur > 0  # a window's counts hold only the categories it saw
    return CategoricalPair.from_counts(keys[seen_ref], ref[seen_ref], keys[seen_cur], cur[seen_cur])


def column_pair(rng: np.random.Generator, n: int, kind: str, shift: float = 0.0) -> Pair:
    """A pair of kind ``numerical`` or ``categorical <levels>``."""
    if kind == "numerical":
        return numeric_pair(rng, n, shift)
    return categorical_pair(rng, n, int(kind.split()[1]), shift)


def measure(pair: Pair, p: DriftParams) -> ColumnOutcome:
    return measure_pair(pair, NUM_SPEC if pair.kind == "numerical" else CAT_SPEC, p)


def flagged_share(
    n: int, kind: str, columns: int, policies: Sequence[DriftParams], shift: float, seed: int
) -> list[float]:
    """Share of ``columns`` simulated columns flagged under each params, on the same pairs."""
    rng = np.random.default_rng(seed)
    hits = np.zeros(len(policies))
    for _ in range(columns):
        pair = column_pair(rng, n, kind, shift)
        hits += [bool(measure(pair, p).drifted) for p in policies]
    return [float(h) / columns for h in hits]


def any_flag_share(n: int, runs: int, p: DriftParams, seed: int) -> float:
    """Share of null runs of ``RUN_COLUMNS`` columns (half numerical, half 3-20 levels) in
    which at least one column is flagged after the params' multiple-testing correction."""
    rng = np.random.default_rng(seed)
    kinds = ["numerical", *(f"categorical {3 + i % 18}" for i in range(RUN_COLUMNS // 2))]
    kinds += ["numerical"] * (RUN_COLUMNS - len(kinds))
    any_flag = 0
    for _ in range(runs):
        outcomes = [measure(column_pair(rng, n, k), p) for k in kinds]
        apply_multiple_testing(outcomes, p)
        any_flag += any(o.drifted for o in outcomes)
    return any_flag / runs


POLICIES = (
    DriftParams(),
    DriftParams(policy="calibrated"),
    DriftParams(policy="calibrated", effect_size_floor=0.0),
)


POLICY_NAMES = ("evidently", "calibrated", "calibrated floor 0")


def _table(title: str, shift: float, columns: int, big_columns: int) -> dict[int, list[float]]:
    """Print the shares flagged per size and kind; return, per size, each policy's largest."""
    print(f"\n{title}: share of columns flagged, evidently / calibrated / calibrated floor 0")
    print(f"{'n per window':>14} | " + " | ".join(f"{k:>23}" for k in KINDS))
    worst: dict[int, list[float]] = {}
    for n in SIZES:
        m = columns if n < 1_000_000 else big_columns
        cells = []
        worst[n] = [0.0] * len(POLICIES)
        for i, kind in enumerate(KINDS):
            m_kind = m if kind != "numerical" or n < 1_000_000 else max(big_columns // 2, 10)
            shares = flagged_share(n, kind, m_kind, POLICIES, shift, seed=i * 7 + n % 97)
            worst[n] = [max(w, s) for w, s in zip(worst[n], shares, strict=True)]
            cells.append(" / ".join(f"{s:6.1%}" for s in shares))
        print(f"{n:>14,} | " + " | ".join(cells))
    return worst


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--columns", type=int, default=200, help="columns per cell, n < 1M")
    parser.add_argument("--big-columns", type=int, default=40, help="columns per cell at 1M")
    parser.add_argument("--runs", type=int, default=200, help="runs for the BH family rate")
    args = parser.parse_args()
    bench = Bench("drift_calibration", description=__doc__)
    started = (time.perf_counter(), cpu_seconds())
    null = _table("Null (no drift)", 0.0, args.columns, args.big_columns)
    for n, shares in null.items():
        for policy, share in zip(POLICY_NAMES, shares, strict=True):
            name = f"null windows of {n:,} rows, policy {policy}: worst share of columns flagged"
            bench.add(name, value=share, unit="", note="over numerical, 3/10/20 categories")
    for shift in (0.02, 0.05, 0.1):
        quarter, big_quarter = max(args.columns // 4, 1), max(args.big_columns // 4, 1)
        _table(f"Power, shift {shift} sd", shift, quarter, big_quarter)
    print(f"\nNull runs of {RUN_COLUMNS} columns with any column flagged, multiple_testing=bh:")
    for n in SIZES[:2]:
        ev = any_flag_share(n, args.runs, DriftParams(multiple_testing="bh"), seed=1)
        cal = any_flag_share(
            n, args.runs, DriftParams(policy="calibrated", multiple_testing="bh"), 1
        )
        print(f"{n:>14,} | evidently {ev:6.1%} | calibrated {cal:6.1%}")
        for policy, share in (("evidently", ev), ("calibrated", cal)):
            name = f"null runs of {RUN_COLUMNS} columns x {n:,} rows, policy {policy}, bh"
            bench.add(f"{name}: share of runs with a column flagged", value=share, unit="")
    wall, cpu = time.perf_counter() - started[0], cpu_seconds() - started[1]
    bench.add("the whole simulation", Timing(wall, cpu, [wall], [cpu]))
    bench.save()


if __name__ == "__main__":
    main()
