"""Window-sparse category scores equal the scores of the full count vectors over the union.

The oracle builds both count vectors over the sorted union of categories from the raw values
(``collections.Counter``) and scores them with scipy or a direct numpy formula; Evidently's
empty-bin fill is restated here from its source (``get_binned_data(..., feel_zeroes=True)``).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pytest
from scipy import stats as sps
from scipy.spatial import distance

from dqm.monitors.columns import category_counts
from dqm.monitors.drift.methods import METHODS, CategoricalPair
from dqm.monitors.drift.policy import CHI2_CONTINGENCY
from dqm.monitors.profile import CategoricalProfile
from dqm.monitors.stats import sparse_counts
from dqm.monitors.stats.sparse_counts import WindowCounts

REL = 1e-10


def _window(ref: Sequence[str | None], cur: Sequence[str | None]) -> WindowCounts:
    cats, counts, n_null = category_counts(pa.table({"c": pa.array(ref, pa.string())}), "c")
    profile = CategoricalProfile(cats, counts, n_null)
    return profile.window_counts(pa.chunked_array([pa.array(cur, pa.string())]))


def _full(ref: Sequence[str | None], cur: Sequence[str | None]) -> tuple[np.ndarray, np.ndarray]:
    r, c = Counter(v for v in ref if v is not None), Counter(v for v in cur if v is not None)
    keys = sorted(set(r) | set(c))
    return np.array([r[k] for k in keys], float), np.array([c[k] for k in keys], float)


def _fill(p: np.ndarray) -> np.ndarray:
    out = p.copy()
    smallest = out[out != 0].min()
    out[out == 0] = smallest / 1e6 if smallest <= 1e-4 else 1e-4
    return out


def _oracle(r: np.ndarray, c: np.ndarray) -> dict[str, float]:
    p, q = r / r.sum(), c / c.sum()
    pf, qf = _fill(p), _fill(q)
    first_r, first_c = r[0], c[0]
    n1, n2 = r.sum(), c.sum()
    p1, p2 = (n1 - first_r) / n1, (n2 - first_c) / n2
    pooled = (p1 * n1 + p2 * n2) / (n1 + n2)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (p1 - p2) / math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
        chi_stat = float(np.sum((c - r * n2 / n1) ** 2 / (r * n2 / n1)))
    single = np.count_nonzero(r) == 1 and np.array_equal(r > 0, c > 0)
    if r.size >= 2:
        contingency = sps.chi2_contingency(np.vstack([r, c]), correction=False).pvalue
    else:
        contingency = 1.0
    return {
        "jensenshannon": float(distance.jensenshannon(p, q)),
        "psi": float(np.sum((pf - qf) * np.log(pf / qf))),
        "kl_div": float(sps.entropy(pf, qf)),
        "hellinger": math.sqrt(max(1.0 - float(np.sum(np.sqrt(p * q))), 0.0)),
        "tvd": 0.5 * float(np.sum(np.abs(p - q))),
        "chisquare": float(sps.chi2.sf(chi_stat, r.size - 1)),
        "z": 1.0 if single else float(2 * (1 - sps.norm.cdf(abs(z)))),
        "chi2_contingency": float(contingency),
    }


def _sparse(w: WindowCounts) -> dict[str, float]:
    return {
        "jensenshannon": sparse_counts.jensenshannon(w),
        "psi": sparse_counts.psi(w),
        "kl_div": sparse_counts.kl_divergence(w),
        "hellinger": sparse_counts.hellinger(w),
        "tvd": sparse_counts.total_variation(w),
        "chisquare": sparse_counts.chisquare(w)[1],
        "z": sparse_counts.z_test(w),
        "chi2_contingency": sparse_counts.chi2_contingency(w)[1],
    }


def _check(ref: Sequence[str | None], cur: Sequence[str | None]) -> None:
    w = _window(ref, cur)
    r, c = _full(ref, cur)
    keys, ur, uc = w.union()
    assert (ur.tolist(), uc.tolist()) == (r.astype(int).tolist(), c.astype(int).tolist())
    assert keys.tolist() == sorted({v for v in [*ref, *cur] if v is not None})
    want, got = _oracle(r, c), _sparse(w)
    for name in want:
        assert got[name] == pytest.approx(want[name], rel=REL, abs=1e-13), name
    # The methods read the sparse path from a window pair, the full vectors from given counts.
    by_window = CategoricalPair(window=w)
    by_counts = CategoricalPair.from_counts(keys, ur, keys, uc)
    for name in ("jensenshannon", "psi", "kl_div", "hellinger", "tvd", "chisquare", "z"):
        m = METHODS[name]
        assert m.score(by_window) == pytest.approx(m.score(by_counts), rel=REL, abs=1e-13), name
    assert CHI2_CONTINGENCY.score(by_window) == pytest.approx(
        CHI2_CONTINGENCY.score(by_counts), rel=REL, abs=1e-13
    )
    assert (by_window.n_ref, by_window.n_cur) == (int(r.sum()), int(c.sum()))
    assert by_window.n_unique() == keys.size


def _draw(rng: np.random.Generator, levels: int, n: int, start: int, skew: float) -> list[str]:
    weights = np.arange(1, levels + 1, dtype=float) ** -skew
    idx = rng.choice(levels, n, p=weights / weights.sum())
    return [f"v{start + i:06d}" for i in idx]


@pytest.mark.parametrize("levels", [2, 12, 900, 3000])
@pytest.mark.parametrize("seed", range(4))
def test_scores_equal_the_full_vectors(levels: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    ref = _draw(rng, levels, 40 * levels, 0, 0.5)
    # The window misses many reference levels, holds new ones (seed odd) and some nulls.
    shift = levels // 10 if seed % 2 else 0
    cur: list[str | None] = list(_draw(rng, levels, max(levels // 3, 50), shift, 1.0))
    cur += [None] * 7
    _check(ref, cur)


@pytest.mark.parametrize(
    ("ref", "cur"),
    [
        (["a", "b", "b"], ["a", "b", "b", "b"]),  # every level in both
        (["a", "b", "c"], ["b"]),  # one window level among three
        (["b", "c"], ["a", "a", "c"]),  # a new level sorting first (the z-test's key)
        (["b", "c"], ["d", "e"]),  # only new levels
        (["a"], ["a", "a", None]),  # one level in both: z p = 1, chi-square undefined
        (["a"], ["a", "b"]),  # one reference level, one new
        (["x", "y"], ["y", "y", "y"]),
    ],
)
def test_edge_windows(ref: list[str | None], cur: list[str | None]) -> None:
    w = _window(ref, cur)
    r, c = _full(ref, cur)
    want, got = _oracle(r, c), _sparse(w)
    for name in want:
        if name == "chisquare" and r.size == 1:
            # One category: 0 degrees of freedom, NaN both ways (the column is skipped).
            assert math.isnan(got[name]) and math.isnan(want[name])
            continue
        assert got[name] == pytest.approx(want[name], rel=REL, abs=1e-13), name


def test_identical_windows_score_exactly_zero() -> None:
    ref = [f"k{i}" for i in range(2000) for _ in range(1 + i % 3)]
    w = _window(ref, ref)
    assert sparse_counts.jensenshannon(w) == 0.0
    assert sparse_counts.total_variation(w) == 0.0
    assert sparse_counts.psi(w) == 0.0


def test_empty_and_all_null_windows_have_no_counts() -> None:
    for cur in ([], [None, None]):
        w = _window(["a", "b"], cur)
        assert w.n == 0 and w.n_unique == 2
        assert [k.tolist() for k in w.union()] == [["a", "b"], [1, 1], [0, 0]]
        assert CategoricalPair(window=w).n_cur == 0


def test_large_reference_sums_agree_with_direct_sums() -> None:
    # Above DIRECT_MAX_KEYS the lacking categories' sums are the total minus the window's.
    rng = np.random.default_rng(7)
    levels = 4 * sparse_counts.DIRECT_MAX_KEYS
    ref = _draw(rng, levels, 10 * levels, 0, 0.3)
    cur = _draw(rng, levels, levels // 4, 0, 0.3)
    w = _window(ref, cur)
    lacking = np.ones(w.reference.size, dtype=bool)
    lacking[w.seen] = False
    s = w.reference.shares[lacking]
    direct = (np.sum(s), np.sum(s * np.log(s)), np.sum(np.log(s)))
    assert w.absent_sums() == pytest.approx(direct, rel=1e-11)
    assert w.absent_share() == pytest.approx(direct[0], rel=1e-11)


@pytest.mark.parametrize("seed", range(8))
def test_jensenshannon_is_bit_for_bit_its_spelt_out_sum(seed: int) -> None:
    # The score is built in place (one buffer, np.add.reduce): the same operations in the
    # same order as the plain expression, so the same bits, above and below DIRECT_MAX_KEYS.
    rng = np.random.default_rng(seed)
    levels = [f"k{i}" for i in range(int(rng.choice([40, 3000])))]
    ref = [levels[i] for i in rng.integers(0, len(levels), 6000)]
    cur = [levels[i] for i in rng.integers(0, len(levels), 500)] + ["new"] * int(seed % 2)
    w = _window(ref, cur)
    p, q, q_new = w.seen_shares
    m = (p + q) / 2.0
    js = float(np.sum(p * np.log(p / m))) + float(np.sum(q * np.log(q / m)))
    js += math.log(2.0) * (w.absent_share() + float(np.sum(q_new)))
    assert sparse_counts.jensenshannon(w) == math.sqrt(max(js, 0.0) / 2.0)
