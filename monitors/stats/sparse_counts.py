"""Category-count scores of a window against a reference, in the window's categories only.

A run compares a window of a few thousand rows with a reference of up to a hundred thousand
categories. Over the sorted union of categories most window counts are 0; the terms of every
score at those categories depend only on the reference shares and on one fill value, so they
come from sums over the reference computed once per reference version
(:class:`ReferenceShares`). Each function here equals its full-vector namesake in
:mod:`dqm.monitors.stats.distances` / :mod:`dqm.monitors.stats.hypothesis_tests` /
:mod:`dqm.monitors.stats.contingency` on the union (Evidently's empty-bin fill included) up to
rounding, and costs the window's distinct categories, not the reference's.

>>> ref = ReferenceShares.of(np.array([5, 3, 2]))
>>> w = WindowCounts(np.array(["a", "b", "c"], dtype=object), ref,
...                  np.array([0]), np.array([4]), np.array(["d"], dtype=object), np.array([1]))
>>> [k.tolist() for k in w.union()]
[['a', 'b', 'c', 'd'], [5, 3, 2, 0], [4, 0, 0, 1]]
>>> round(total_variation(w), 6)  # 0.5 * (|0.5 - 0.8| + 0.3 + 0.2 + 0.2)
0.5
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from dqm.monitors.columns import FloatArray, IntArray, ObjectArray
from dqm.monitors.stats import hypothesis_tests
from dqm.monitors.stats.contingency import chi2_sf
from dqm.monitors.stats.lazy import lazy

# Up to this many reference categories, the sums over the categories a window lacks are taken
# directly (cheap there, and exact); above, as the reference's total minus the window's part.
DIRECT_MAX_KEYS = 1000


@dataclass(frozen=True)
class ReferenceShares:
    """A reference's category counts (all > 0) and the sums over them the scores need."""

    counts: IntArray
    n: int
    shares: FloatArray  # counts / n
    share_sum: float  # sum(shares): 1 up to rounding
    share_log_share: float  # sum(shares * ln(shares))
    log_share: float  # sum(ln(shares))

    @classmethod
    def of(cls, counts: IntArray) -> ReferenceShares:
        n = int(counts.sum())
        shares = counts / n if n else np.zeros(0)
        logs = np.log(shares)
        return cls(
            counts=counts,
            n=n,
            shares=shares,
            share_sum=float(np.sum(shares)),
            share_log_share=float(np.sum(shares * logs)),
            log_share=float(np.sum(logs)),
        )

    @property
    def size(self) -> int:
        return int(self.counts.size)

    @lazy
    def min_share(self) -> float:
        """The smallest share (what Evidently's empty-bin fill of the reference starts from)."""
        return float(self.shares.min()) if self.shares.size else 0.0


@dataclass(frozen=True)
class WindowCounts:
    """A window's category counts against a reference's.

    ``seen``: indices into ``categories`` of the window's categories the reference holds (each
    once, any order) with their window counts ``seen_counts`` (> 0); ``new_keys``: the window's
    other categories (any order) with their counts ``new_counts`` (> 0).
    """

    categories: ObjectArray  # the reference's categories, sorted
    reference: ReferenceShares
    seen: IntArray
    seen_counts: IntArray
    new_keys: ObjectArray
    new_counts: IntArray

    @lazy
    def n(self) -> int:
        """The window's non-missing values."""
        return int(self.seen_counts.sum()) + int(self.new_counts.sum())

    @property
    def n_unique(self) -> int:
        """Distinct categories of both windows together."""
        return self.reference.size + int(self.new_keys.size)

    @property
    def n_absent(self) -> int:
        """Reference categories the window lacks."""
        return self.reference.size - int(self.seen.size)

    def union(self) -> tuple[ObjectArray, IntArray, IntArray]:
        """Sorted union of categories with reference and window counts over it (equal to
        :func:`dqm.monitors.stats.binning.align_counts` of both sides' counts)."""
        cats, ref = self.categories, self.reference.counts
        if self.new_keys.size == 0:  # no new category: the reference's keys and counts as they are
            cur = np.zeros(cats.size, dtype=np.int64)
            cur[self.seen] = self.seen_counts
            return cats, ref, cur
        order = np.argsort(self.new_keys, kind="stable")
        new = self.new_keys[order]
        # New categories go where a sort of the union would put them (same Python ordering).
        at = np.searchsorted(cats, new)
        keys = np.insert(cats, at, new)
        cur = np.zeros(keys.size, dtype=np.int64)
        cur[self.seen + np.searchsorted(at, self.seen, "right")] = self.seen_counts
        cur[at + np.arange(new.size)] = self.new_counts[order]
        return keys, np.insert(ref, at, 0), cur

    @lazy
    def lead(self) -> tuple[int, int]:
        """Reference and window counts of the first category of the sorted union."""
        first_new = min(self.new_keys.tolist()) if self.new_keys.size else None
        if first_new is not None and (self.categories.size == 0 or first_new < self.categories[0]):
            return 0, int(self.new_counts[self.new_keys.tolist().index(first_new)])
        at = np.flatnonzero(self.seen == 0)
        return int(self.reference.counts[0]), int(self.seen_counts[at].sum())

    @lazy
    def seen_shares(self) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Reference shares, window shares at ``seen`` and window shares at ``new_keys``."""
        n = float(self.n)
        return self.reference.shares[self.seen], self.seen_counts / n, self.new_counts / n

    def absent_share(self) -> float:
        """The reference share of the categories the window lacks (0 when it lacks none)."""
        if self.n_absent == 0:
            return 0.0
        ref = self.reference
        if ref.size <= DIRECT_MAX_KEYS:
            lacking = np.ones(ref.size, dtype=bool)
            lacking[self.seen] = False
            return float(np.sum(ref.shares[lacking]))
        return max(ref.share_sum - float(np.add.reduce(self.seen_shares[0])), 0.0)

    def absent_sums(self) -> tuple[float, float, float]:
        """Over the reference categories the window lacks: sum of shares, of ``s ln s`` and of
        ``ln s``."""
        ref = self.reference
        if ref.size <= DIRECT_MAX_KEYS:
            lacking = np.ones(ref.size, dtype=bool)
            lacking[self.seen] = False
            s = ref.shares[lacking]
            logs = np.log(s)
            return float(np.sum(s)), float(np.sum(s * logs)), float(np.sum(logs))
        p = self.seen_shares[0]
        logs = np.log(p)
        return (
            ref.share_sum - float(np.sum(p)),
            ref.share_log_share - float(np.sum(p * logs)),
            ref.log_share - float(np.sum(logs)),
        )

    def fills(self) -> tuple[float, float]:
        """Evidently's empty-bin fill values of the reference and window shares (see
        :func:`dqm.monitors.stats.binning.fill_empty_bins`)."""
        smallest = min(
            int(self.seen_counts.min()) if self.seen_counts.size else self.n,
            int(self.new_counts.min()) if self.new_counts.size else self.n,
        )
        return _fill(self.reference.min_share), _fill(smallest / float(self.n))


def _fill(smallest: float) -> float:
    return smallest / 10**6 if smallest <= 0.0001 else 0.0001


def jensenshannon(w: WindowCounts) -> float:
    """:func:`dqm.monitors.stats.distances.jensenshannon` of the union's counts: where the
    window count is 0, ``m = p / 2`` and each category adds ``p ln 2`` (a new category,
    ``q ln 2``)."""
    p, q, q_new = w.seen_shares
    m = p + q
    m *= 0.5  # the same value as (p + q) / 2.0: halving is exact
    # rel_entr(x, y) is x ln(x / y) where both are > 0, as here: spelt out, 4x faster. The
    # terms are built in one buffer and summed by np.add.reduce (np.sum's own reduction,
    # without its Python wrapper): the same operations in the same order, 15% faster.
    terms = p / m
    np.log(terms, out=terms)
    terms *= p
    js = float(np.add.reduce(terms))
    np.divide(q, m, out=terms)
    np.log(terms, out=terms)
    terms *= q
    js += float(np.add.reduce(terms))
    js += math.log(2.0) * (w.absent_share() + float(np.add.reduce(q_new)))
    return math.sqrt(max(js, 0.0) / 2.0)


def psi(w: WindowCounts) -> float:
    """:func:`dqm.monitors.stats.distances.psi` of the union's shares with empty bins filled.

    At a reference category the window lacks the term is ``(p - f)(ln p - ln f)`` with the
    window's fill ``f``: summed from the reference's sums of ``p``, ``p ln p`` and ``ln p``.
    """
    p, q, q_new = w.seen_shares
    fill_ref, fill_cur = w.fills()
    total = float(np.sum((p - q) * np.log(p / q)))
    if q_new.size:
        total += float(np.sum((fill_ref - q_new) * np.log(fill_ref / q_new)))
    if w.n_absent:
        s, s_log_s, log_s = w.absent_sums()
        log_f = math.log(fill_cur)
        total += s_log_s - log_f * s - fill_cur * log_s + w.n_absent * fill_cur * log_f
    return total


def kl_divergence(w: WindowCounts) -> float:
    """:func:`dqm.monitors.stats.distances.kl_divergence` of the union's shares with empty
    bins filled (both renormalized to sum 1, as ``scipy.stats.entropy``)."""
    p, q, q_new = w.seen_shares
    fill_ref, fill_cur = w.fills()
    ref_sum = w.reference.share_sum + q_new.size * fill_ref
    cur_sum = float(np.sum(q)) + float(np.sum(q_new)) + w.n_absent * fill_cur
    x = p / ref_sum  # all shares here are > 0: rel_entr(x, y) = x ln(x / y)
    total = float(np.sum(x * np.log(x / (q / cur_sum))))
    if q_new.size:
        x_new = fill_ref / ref_sum
        total += float(np.sum(x_new * np.log(x_new / (q_new / cur_sum))))
    if w.n_absent:
        s, s_log_s, _ = w.absent_sums()
        shift = math.log(cur_sum) - math.log(ref_sum) - math.log(fill_cur)
        total += (s_log_s + s * shift) / ref_sum
    return total


def hellinger(w: WindowCounts) -> float:
    """:func:`dqm.monitors.stats.distances.hellinger_counts` of the union's counts (only
    categories in both windows add to the Bhattacharyya coefficient)."""
    p, q, _ = w.seen_shares
    bc = float(np.sum(np.sqrt(p * q)))
    return math.sqrt(1.0 - min(max(bc, 0.0), 1.0))


def total_variation(w: WindowCounts) -> float:
    """:func:`dqm.monitors.stats.distances.total_variation` of the union's counts."""
    p, q, q_new = w.seen_shares
    return 0.5 * (float(np.sum(np.abs(p - q))) + w.absent_share() + float(np.sum(q_new)))


def chisquare(w: WindowCounts) -> tuple[float, float]:
    """:func:`dqm.monitors.stats.hypothesis_tests.chisquare_counts` of the union's counts: a
    reference category the window lacks adds its expected count; a new one, infinity."""
    n_ref = w.reference.n
    scale = w.n / n_ref
    if w.new_counts.size:
        stat = math.inf
    else:
        expected = w.reference.counts[w.seen] * scale
        stat = float(np.sum((w.seen_counts - expected) ** 2 / expected))
        stat += (n_ref - int(w.reference.counts[w.seen].sum())) * scale
    return stat, chi2_sf(stat, w.n_unique - 1)


def z_test(w: WindowCounts) -> float:
    """:func:`dqm.monitors.stats.hypothesis_tests.z_test_proportions` of the union's counts
    (it reads only the first category's counts and the totals)."""
    ref0, cur0 = w.lead
    ref = np.array([ref0, w.reference.n - ref0], dtype=np.int64)
    return hypothesis_tests.z_test_proportions(ref, np.array([cur0, w.n - cur0], dtype=np.int64))


def chi2_contingency(w: WindowCounts) -> tuple[float, float]:
    """:func:`dqm.monitors.stats.contingency.chi2_contingency_counts` of the union's counts:
    a reference category with count ``r`` the window lacks adds ``r n_cur / n_ref``."""
    if w.n_unique < 2:
        return 0.0, 1.0
    n_ref, n_cur = float(w.reference.n), float(w.n)
    total = n_ref + n_cur
    ref_seen = w.reference.counts[w.seen]
    obs_ref = np.concatenate([ref_seen, np.zeros(w.new_counts.size, dtype=np.int64)])
    obs_cur = np.concatenate([w.seen_counts, w.new_counts])
    col = (obs_ref + obs_cur).astype(np.float64)
    exp_ref, exp_cur = col * (n_ref / total), col * (n_cur / total)
    stat = float(np.sum((obs_ref - exp_ref) ** 2 / exp_ref + (obs_cur - exp_cur) ** 2 / exp_cur))
    stat += (w.reference.n - int(ref_seen.sum())) * (n_cur / n_ref)
    return stat, chi2_sf(stat, w.n_unique - 1)
