"""Drift methods (Evidently "stattests"): the samples they read, their scores and verdicts.

A column pair is either a :class:`NumericPair` (sorted non-missing values of both windows) or a
:class:`CategoricalPair` (counts over the sorted union of categories). Each method turns a pair
into one score; :meth:`Method.drifted` compares it with a threshold the way Evidently 0.7 does,
method by method (``ks``: p <= t, ``chisquare``: p < t, ``wasserstein``: d >= t, ``ed``: d > t).

Three methods differ from Evidently's namesakes, on purpose:

- ``tvd`` is the total variation distance itself on Evidently's binning (drift when >= 0.1),
  for numerical and categorical columns; Evidently's ``TVD`` reports a 1000-permutation p-value
  of that distance instead, for categorical columns only.
- ``fisher_exact`` (Fisher's exact test, ``scipy.stats.fisher_exact``, p < 0.1 as Evidently's
  default) tests the 2x2 table of the two values' counts in reference and current; unlike
  Evidently it accepts windows of unequal sizes and numerical 0/1 columns, and skips columns
  with more than 2 values.
- ``mmd`` (Evidently: ``empirical_mmd``, p < 0.1) tests a seeded subsample of at most
  2000 values per side, with a median-heuristic RBF bandwidth over the pooled
  sample and 100 seeded permutations; its p-value is never 0 (see
  :func:`dqm.monitors.stats.kernels.mmd_permutation_test`).

>>> pair = CategoricalPair.from_counts(
...     np.array(["a", "b"], dtype=object), np.array([50, 50]),
...     np.array(["a", "b"], dtype=object), np.array([30, 70]))
>>> m = default_method(pair); m.name, round(m.score(pair), 6), m.drifted(m.score(pair), 0.05)
('z', 0.003892, True)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from dqm.monitors.columns import FloatArray, IntArray, ObjectArray
from dqm.monitors.profile import NumericProfile
from dqm.monitors.stats import (
    anderson_reference,
    binning,
    distances,
    fisher_exact,
    hypothesis_tests,
    kernels,
    sorted_reference,
    sparse_counts,
)
from dqm.monitors.stats.lazy import lazy
from dqm.monitors.stats.sorted_reference import Placed, SortedReference
from dqm.monitors.stats.sparse_counts import WindowCounts

# A window at most this fraction of the reference is scored against the pre-indexed reference
# (binary searches, O(m log n)); a larger one merges with it (O(n + m), cheaper there).
INDEX_MAX_WINDOW_SHARE = 0.25

MethodName = Literal[
    "ks",
    "wasserstein",
    "jensenshannon",
    "psi",
    "chisquare",
    "z",
    "hellinger",
    "kl_div",
    "ed",
    "mannw",
    "cramer_von_mises",
    "anderson",
    "tvd",
    "fisher_exact",
    "mmd",
]
# The embedding method is chosen by column type, never by name in the params.
EmbeddingMethodName = Literal["domain_classifier"]
# Methods of the calibrated policy (dqm.monitors.drift.policy), chosen by the policy, not by name.
PolicyMethodName = Literal["chi2_contingency"]


@dataclass(frozen=True)
class Counts:
    """Counts of reference and current over the sorted union of their distinct values."""

    keys: np.ndarray
    ref: IntArray
    cur: IntArray


@dataclass(frozen=True)
class NumericPair:
    """Sorted non-missing values of a numerical column in both windows."""

    ref: FloatArray
    cur: FloatArray
    ref_std: float
    ref_unique: FloatArray | None = None  # distinct reference values; None: from the profile
    # The reference pre-indexed for ECDF distances in window time (see SortedReference).
    ref_index: SortedReference | None = None
    # The reference's profile: its index and value counts, built once and only when asked.
    profile: NumericProfile | None = None
    kind: Literal["numerical"] = field(default="numerical", init=False)

    @lazy
    def counts(self) -> Counts:
        if self.profile is not None:
            rk, rc = self.profile.value_counts
        else:
            rk, rc = binning.sorted_value_counts(self.ref)
        ck, cc = binning.sorted_value_counts(self.cur)
        return Counts(*binning.align_counts(rk, rc, ck, cc))

    @property
    def index(self) -> SortedReference | None:
        """The pre-indexed reference when a method should use it: always when it was given,
        else the profile's (built on first use) for a non-empty window of at most
        ``INDEX_MAX_WINDOW_SHARE`` of the reference; None: merge the samples."""
        if self.n_cur == 0 or self.n_cur == self.n_ref:
            return None
        if self.ref_index is not None:
            return self.ref_index
        if self.profile is not None and self.n_cur <= INDEX_MAX_WINDOW_SHARE * self.n_ref:
            return self.profile.indexed
        return None

    @lazy
    def n_ref_unique(self) -> int:
        """How many distinct values the reference holds."""
        if self.ref_unique is not None:
            return int(self.ref_unique.size)
        if self.profile is not None:
            return self.profile.n_unique
        return int(self.reference_unique.size)

    @lazy
    def reference_unique(self) -> FloatArray:
        """The distinct reference values, ascending."""
        if self.ref_unique is not None:
            return self.ref_unique
        if self.profile is not None:
            return self.profile.unique_values
        return binning.sorted_value_counts(self.ref)[0]

    @lazy
    def placed(self) -> Placed | None:
        """The window placed in the pre-indexed reference (None without an index), shared
        by the method and the effect size."""
        index = self.index
        return None if index is None else Placed(index, self.cur)

    def n_distinct(self) -> int:
        """Distinct values of both windows together, from the reference's distinct values and
        the window's values not among them (binary searches: no count of the reference; none
        when the window is placed in the indexed reference already)."""
        cur, placed = self.cur, self.placed
        if placed is not None:  # the window's runs the reference holds are known already
            return self.n_ref_unique + int(placed.runs[0].size - placed.shared[0].size)
        unique = self.reference_unique
        if cur.size == 0 or unique.size == 0:
            return int(unique.size) + binning.sorted_value_counts(cur)[0].size
        distinct = cur[np.concatenate([[True], cur[1:] != cur[:-1]])]
        at = np.minimum(unique.searchsorted(distinct), unique.size - 1)
        return int(unique.size + distinct.size - np.count_nonzero(unique[at] == distinct))

    @property
    def n_ref(self) -> int:
        return int(self.ref.size)

    @property
    def n_cur(self) -> int:
        return int(self.cur.size)

    def n_unique(self) -> int:
        """Distinct values of both windows; a lower bound once the reference alone has > 5."""
        if self.n_ref_unique > 5:
            return self.n_ref_unique
        return int(self.counts.keys.size)

    def binned(self) -> tuple[IntArray, IntArray]:
        """Evidently's ``get_binned_data``: Sturges bins if > 20 distinct reference values."""
        if self.n_ref_unique > 20:
            edges = binning.sturges_edges(self.ref, self.cur)
            ref = binning.sorted_histogram(self.ref, edges)
            return ref, binning.sorted_histogram(self.cur, edges)
        return self.counts.ref, self.counts.cur


@dataclass(frozen=True)
class CategoricalPair:
    """Category counts of both windows: over the sorted union of categories (``given``), or
    a window's counts against a reference profile's (``window``). From a ``window``, methods
    score in the window's categories only (:mod:`dqm.monitors.stats.sparse_counts`) and
    the union is built only if a method asks for ``counts``."""

    given: Counts | None = None
    window: WindowCounts | None = None
    kind: Literal["categorical"] = field(default="categorical", init=False)

    @classmethod
    def from_counts(
        cls,
        ref_keys: ObjectArray,
        ref_counts: IntArray,
        cur_keys: ObjectArray,
        cur_counts: IntArray,
    ) -> CategoricalPair:
        return cls(Counts(*binning.align_counts(ref_keys, ref_counts, cur_keys, cur_counts)))

    @lazy
    def counts(self) -> Counts:
        """Counts of both windows over the sorted union of categories."""
        if self.given is not None:
            return self.given
        assert self.window is not None, "a CategoricalPair needs counts or a window"
        return Counts(*self.window.union())

    @lazy
    def n_ref(self) -> int:
        if self.window is not None:
            return self.window.reference.n
        return int(self.counts.ref.sum())

    @lazy
    def n_cur(self) -> int:
        if self.window is not None:
            return self.window.n
        return int(self.counts.cur.sum())

    def n_unique(self) -> int:
        if self.window is not None:
            return self.window.n_unique
        return int(self.counts.keys.size)

    def binned(self) -> tuple[IntArray, IntArray]:
        return self.counts.ref, self.counts.cur


Pair = NumericPair | CategoricalPair


def _percents(pair: Pair, fill: bool) -> tuple[FloatArray, FloatArray]:
    ref, cur = pair.binned()
    ref_p, cur_p = ref / pair.n_ref, cur / pair.n_cur
    if fill:
        return binning.fill_empty_bins(ref_p), binning.fill_empty_bins(cur_p)
    return ref_p, cur_p


def _window_index(pair: NumericPair) -> SortedReference | None:
    """The reference index when it applies (see :attr:`NumericPair.index`); equal sizes take
    the paired-quantile shortcut of the merge path."""
    return pair.index


def _ks(pair: Pair) -> float:
    assert isinstance(pair, NumericPair)
    index = _window_index(pair)
    if index is not None and max(pair.n_ref, pair.n_cur) > hypothesis_tests.KS_EXACT_MAX_N:
        d = sorted_reference.ks_statistic(index, pair.cur, pair.placed)
        return hypothesis_tests.ks_asymptotic_p(d, pair.n_ref, pair.n_cur)
    return hypothesis_tests.ks_2samp_sorted(pair.ref, pair.cur)[1]


def _wasserstein(pair: Pair) -> float:
    assert isinstance(pair, NumericPair)
    index = _window_index(pair)
    if index is not None:
        return sorted_reference.wasserstein(index, pair.cur, pair.placed) / max(pair.ref_std, 0.001)
    return distances.wasserstein_norm(pair.ref, pair.cur, pair.ref_std)


# Above this many categories, Jensen-Shannon sums logarithms over the window's categories only.
SPARSE_MIN_KEYS = 1000


def _window(pair: Pair) -> WindowCounts | None:
    """A categorical pair's window counts against its reference profile, if it has them."""
    return pair.window if isinstance(pair, CategoricalPair) else None


def _jensenshannon(pair: Pair) -> float:
    if (w := _window(pair)) is not None:
        return sparse_counts.jensenshannon(w)
    if isinstance(pair, CategoricalPair) and pair.n_unique() > SPARSE_MIN_KEYS:
        return distances.jensenshannon_counts(pair.counts.ref, pair.counts.cur)
    return distances.jensenshannon(*_percents(pair, fill=False))


def _psi(pair: Pair) -> float:
    if (w := _window(pair)) is not None:
        return sparse_counts.psi(w)
    return distances.psi(*_percents(pair, fill=True))


def _chisquare(pair: Pair) -> float:
    if (w := _window(pair)) is not None:
        return sparse_counts.chisquare(w)[1]
    c = pair.counts
    return hypothesis_tests.chisquare_counts(c.ref, c.cur)[1]


def _z(pair: Pair) -> float:
    if (w := _window(pair)) is not None:
        return sparse_counts.z_test(w)
    c = pair.counts
    return hypothesis_tests.z_test_proportions(c.ref, c.cur)


def _hellinger(pair: Pair) -> float:
    if isinstance(pair, NumericPair):
        first, last = min(pair.ref[0], pair.cur[0]), max(pair.ref[-1], pair.cur[-1])
        return distances.hellinger_sorted_range(
            pair.ref, pair.cur, float(first), float(last), pair.n_distinct()
        )
    if pair.window is not None:
        return sparse_counts.hellinger(pair.window)
    c = pair.counts
    return distances.hellinger_counts(c.ref, c.cur)


def _kl_div(pair: Pair) -> float:
    if (w := _window(pair)) is not None:
        return sparse_counts.kl_divergence(w)
    return distances.kl_divergence(*_percents(pair, fill=True))


def _energy(pair: Pair) -> float:
    assert isinstance(pair, NumericPair)
    index = _window_index(pair)
    if index is not None:
        return sorted_reference.energy_distance(index, pair.cur, pair.placed)
    return distances.energy_distance_sorted(pair.ref, pair.cur)


def _mann_whitney(pair: Pair) -> float:
    assert isinstance(pair, NumericPair)
    index = _window_index(pair)
    if index is not None:
        u1, ties = sorted_reference.mann_whitney_u(index, pair.cur, pair.placed)
        return hypothesis_tests.mann_whitney_p(u1, ties, pair.n_ref, pair.n_cur)
    return hypothesis_tests.mann_whitney_u(pair.ref, pair.cur)[1]


def _cramer_von_mises(pair: Pair) -> float:
    assert isinstance(pair, NumericPair)
    index = _window_index(pair)
    if index is not None and min(pair.n_ref, pair.n_cur) >= 2:
        u = sorted_reference.cramer_von_mises_u(index, pair.cur, pair.placed)
        return hypothesis_tests.cramer_von_mises_of_u(u, pair.n_ref, pair.n_cur)[1]
    return hypothesis_tests.cramer_von_mises_sorted(pair.ref, pair.cur)[1]


def _anderson(pair: Pair) -> float:
    assert isinstance(pair, NumericPair)
    index = _window_index(pair)
    if index is not None:
        a2 = anderson_reference.anderson_darling_a2(index, pair.cur, pair.placed)
        return hypothesis_tests.anderson_darling_of_a2(a2, pair.n_ref, pair.n_cur)[1]
    return hypothesis_tests.anderson_darling_sorted(pair.ref, pair.cur)[1]


def _tvd(pair: Pair) -> float:
    if (w := _window(pair)) is not None:
        return sparse_counts.total_variation(w)
    return distances.total_variation(*pair.binned())


def _fisher_exact(pair: Pair) -> float:
    c = pair.counts
    table = np.zeros((2, 2), dtype=np.int64)  # rows: reference, current; columns: the values
    table[0, : c.keys.size], table[1, : c.keys.size] = c.ref, c.cur
    return fisher_exact.fisher_exact_pvalue(table)


def _not_binary(pair: Pair) -> str | None:
    u = pair.n_unique()  # a lower bound above 5 values: enough to refuse
    return f"fisher_exact needs a binary column, this one has {u} values" if u > 2 else None


def _mmd(pair: Pair) -> float:
    assert isinstance(pair, NumericPair)
    return kernels.mmd_subsample_p_value(pair.ref, pair.cur)


ColumnKind = Literal["numerical", "categorical"]
BOTH: tuple[ColumnKind, ...] = ("numerical", "categorical")
NUM: tuple[ColumnKind, ...] = ("numerical",)
CAT: tuple[ColumnKind, ...] = ("categorical",)


@dataclass(frozen=True)
class Method:
    """One drift method: Evidently's name, score function, default threshold and comparison.

    ``column_types`` are the column types the method may be forced on (Evidently's
    ``allowed_feature_types``; dqm also allows ``tvd`` and ``fisher_exact`` on numerical ones).
    """

    name: MethodName | EmbeddingMethodName | PolicyMethodName
    display_name: str
    score: Callable[[Pair], float]
    default_threshold: float
    drift_when: Literal["<=", "<", ">=", ">"]  # score against threshold, as Evidently
    column_types: tuple[ColumnKind, ...] = BOTH
    requires: Callable[[Pair], str | None] | None = None  # why it cannot test a pair, if so

    @property
    def is_p_value(self) -> bool:
        return self.drift_when in ("<=", "<")

    @property
    def numerical_only(self) -> bool:
        return self.column_types == NUM

    def applies_to(self, column_type: str) -> bool:
        """Whether the method may test a column of this type."""
        return column_type in self.column_types

    def drifted(self, score: float, threshold: float) -> bool:
        """Evidently's verdict for ``score`` at ``threshold``."""
        return {
            "<=": score <= threshold,
            "<": score < threshold,
            ">=": score >= threshold,
            ">": score > threshold,
        }[self.drift_when]

    def skip_reason(self, pair: Pair, by_default: bool = False) -> str | None:
        """Why this method cannot test ``pair`` (None when it can).

        ``by_default``: the method is Evidently's default choice, which may put ``chisquare``
        or ``z`` on a numerical column with at most 5 distinct values.
        """
        if not by_default and not self.applies_to(pair.kind):
            return f"method {self.name} does not apply to {pair.kind} columns"
        return self.requires(pair) if self.requires is not None else None


METHODS: dict[str, Method] = {
    m.name: m
    for m in (
        Method("ks", "K-S p_value", _ks, 0.05, "<=", NUM),
        Method("wasserstein", "Wasserstein distance (normed)", _wasserstein, 0.1, ">=", NUM),
        Method("jensenshannon", "Jensen-Shannon distance", _jensenshannon, 0.1, ">="),
        Method("psi", "PSI", _psi, 0.1, ">="),
        # Chi-square and z compare counts of exact values: meaningless on continuous values,
        # which Evidently refuses too (they remain its default for <= 5 distinct values).
        Method("chisquare", "chi-square p_value", _chisquare, 0.05, "<", CAT),
        Method("z", "Z-test p_value", _z, 0.05, "<", CAT),
        Method("hellinger", "Hellinger distance", _hellinger, 0.1, ">="),
        Method("kl_div", "Kullback-Leibler divergence", _kl_div, 0.1, ">="),
        Method("ed", "Energy-distance", _energy, 0.1, ">", NUM),
        Method("mannw", "Mann-Whitney U-rank test", _mann_whitney, 0.05, "<", NUM),
        Method("cramer_von_mises", "Cramer-von Mises", _cramer_von_mises, 0.1, "<=", NUM),
        Method("anderson", "Anderson-Darling", _anderson, 0.1, "<", NUM),
        Method("tvd", "Total variation distance", _tvd, 0.1, ">="),
        Method("fisher_exact", "Fisher's exact test", _fisher_exact, 0.1, "<", BOTH, _not_binary),
        Method("mmd", "MMD (RBF kernel) permutation p_value", _mmd, 0.1, "<", NUM),
    )
}


def methods_for(column_type: str) -> list[str]:
    """Names of the methods that may be forced on a column of this type."""
    return [name for name, m in METHODS.items() if m.applies_to(column_type)]


def _not_for_pairs(pair: Pair) -> float:
    raise TypeError("the domain classifier scores embedding matrices, not column pairs")


# Embedding columns: ROC AUC of a reference-vs-current classifier
# (see dqm.monitors.drift.domain_classifier).
EMBEDDING_METHOD = Method(
    "domain_classifier", "Domain classifier ROC AUC", _not_for_pairs, 0.55, ">="
)


def default_method(pair: Pair) -> Method:
    """Evidently 0.7's ``_get_default_stattest`` for a column pair.

    Up to 1000 reference values: z-test (<= 2 distinct values), chi-square (3-5 values, or any
    categorical), KS (numerical, > 5 values); above: Jensen-Shannon (categorical, or numerical
    with <= 5 values), normed Wasserstein (numerical, > 5 values).
    """
    u = pair.n_unique()
    if pair.n_ref <= 1000:
        if pair.kind == "numerical" and u > 5:
            return METHODS["ks"]
        return METHODS["chisquare"] if u > 2 else METHODS["z"]
    if pair.kind == "numerical" and u > 5:
        return METHODS["wasserstein"]
    return METHODS["jensenshannon"]
