"""Drift of a profiled window against the reference's rows: KS, Wasserstein, PSI, JS, KL,
Hellinger, TVD, chi-square and z, each with the most its score can differ from the same
method computed on the window's rows.

The reference is exact (its rows are stored); the window is a merged ``BatchProfile``.

Numbers. The window's distribution is read from its KLL sketch as a *quantile sample*: its
``G = min(count, QUANTILE_GRID)`` quantiles at mid-ranks (its sorted values when the sketch is
still exact). With ``e`` the sketch's normalized rank error (99%, all ranks at once) and
``r = e + 1/G``, the quantile sample's CDF is within ``r`` of the window's everywhere, so:

- ``ks``: the statistic D is within ``r``; the p-value is computed from D with the window's
  true size (asymptotic Kolmogorov distribution, as scipy's ``ks_2samp`` above 10,000 values);
- ``wasserstein`` (normed): within ``r * (max - min) / max(reference std, 0.001)``;
- binned methods (``psi``, ``jensenshannon``, ``kl_div``, ``hellinger``, ``tvd``): Evidently's
  Sturges bins over the exact combined range and the true combined size; each bin's window
  share is read from the sketch's CDF at the bin edges, within ``2 e``, so ``tvd`` is within
  ``bins * e``. PSI, KL, JS and Hellinger have no useful closed-form bound from the share
  error (they are steep near zero): their stated bound is the share error. On 10M-row windows
  JS and Hellinger were within 0.018 of the exact scores (0.03 is tested), PSI and KL, which
  fill empty bins and weigh thin tail bins by a log ratio, within 0.035 (0.06 is tested),
  against default thresholds of 0.1. The sketch compacts at random, so a profile merged twice may
  differ within these bounds.

Categories. While a column's profile holds exact counts (up to 1,000 values) every method is
identical to the rows-based one (bound 0); beyond, counts come from the frequent-items sketch
(each within its ``count_error``), values under the sketch's threshold are pooled as one
"other" category, and the bound is the per-category share error.

Methods that need the rows themselves (energy distance, Mann-Whitney, Cramér-von Mises,
Anderson-Darling, Fisher, MMD, embeddings) are not computable here: ``NEEDS_ROWS``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

from dqm.monitors.columns import FloatArray, IntArray, ObjectArray
from dqm.monitors.drift.methods import METHODS
from dqm.monitors.stats import binning, distances, hypothesis_tests
from dqm_client.profiles import CategoricalProfile, NumericProfile

QUANTILE_GRID = 65_536
NUMERIC_METHODS = ("ks", "wasserstein", "psi", "jensenshannon", "kl_div", "hellinger", "tvd")
CATEGORICAL_METHODS = ("chisquare", "z", "psi", "jensenshannon", "kl_div", "hellinger", "tvd")
NEEDS_ROWS = "needs rows"
OTHER = "\x00other"  # the pooled rare categories of a sketched column (sorts first)


@dataclass(frozen=True)
class ProfileScore:
    """A method's score on a profile, its verdict, and how far the score can be off."""

    method: str
    score: float
    threshold: float
    drifted: bool
    bound: float  # the most |score - rows-based score| can be (99%); for p-values, of the statistic
    bound_of: Literal["score", "statistic", "bin share"]


def quantile_sample(profile: NumericProfile) -> tuple[FloatArray, float]:
    """The window's values as a quantile sample, and the CDF error ``r`` it carries."""
    if profile.count == 0:
        return np.zeros(0), 0.0
    exact = profile.rank_error == 0.0  # the sketch still holds every value
    grid = profile.count if exact else min(profile.count, QUANTILE_GRID)
    ranks = (np.arange(grid) + 0.5) / grid  # mid-ranks: no rounding lands on a neighbour
    sample = np.asarray(profile.sketch.get_quantiles(ranks.tolist(), True), dtype=np.float64)
    return sample, 0.0 if exact else profile.rank_error + 1.0 / grid


def numeric_score(
    method: str, threshold: float | None, ref: FloatArray, ref_std: float, profile: NumericProfile
) -> ProfileScore:
    """``method`` on the sorted finite reference values ``ref`` and the window's profile."""
    if method not in NUMERIC_METHODS:
        raise ValueError(f"{method} {NEEDS_ROWS}")
    sample, r = quantile_sample(profile)
    if method == "ks":
        d = hypothesis_tests.ks_statistic_sorted(ref, sample)
        score = hypothesis_tests.ks_asymptotic_p(d, ref.size, profile.count)
        if r == 0.0 and max(ref.size, profile.count) <= hypothesis_tests.KS_EXACT_MAX_N:
            score = hypothesis_tests.ks_2samp_sorted(ref, sample)[1]
        return _verdict(method, threshold, score, r, "statistic")
    if method == "wasserstein":
        norm = max(ref_std, 0.001)
        score = distances.wasserstein_sorted(ref, sample) / norm
        span = max(float(ref[-1]), profile.maximum) - min(float(ref[0]), profile.minimum)
        return _verdict(method, threshold, score, r * span / norm, "score")
    ref_counts, cur_shares, share_error = _binned(ref, profile, sample, r)
    return _binned_score(method, threshold, ref_counts, cur_shares, share_error)


def categorical_score(
    method: str,
    threshold: float | None,
    ref_keys: ObjectArray,
    ref_counts: IntArray,
    profile: CategoricalProfile,
) -> ProfileScore:
    """``method`` on the reference's category counts and the window's profile."""
    if method not in CATEGORICAL_METHODS:
        raise ValueError(f"{method} {NEEDS_ROWS}")
    counts = profile.counts()
    known = sum(counts.values())
    if profile.count > known:  # rare values the sketch did not keep
        counts[OTHER] = profile.count - known
    cur_keys = np.asarray(sorted(counts), dtype=object)
    cur_counts = np.asarray([counts[k] for k in cur_keys], dtype=np.int64)
    keys, ref_aligned, cur_aligned = binning.align_counts(
        ref_keys, ref_counts, cur_keys, cur_counts
    )
    del keys
    share_error = profile.count_error / profile.count if profile.count else 0.0
    if method == "chisquare":
        score = hypothesis_tests.chisquare_counts(ref_aligned, cur_aligned)[1]
        return _verdict(method, threshold, score, share_error, "bin share")
    if method == "z":
        score = hypothesis_tests.z_test_proportions(ref_aligned, cur_aligned)
        return _verdict(method, threshold, score, share_error, "bin share")
    shares = cur_aligned / max(profile.count, 1)
    return _binned_score(method, threshold, ref_aligned, shares, share_error)


def _binned(
    ref: FloatArray, profile: NumericProfile, sample: FloatArray, r: float
) -> tuple[IntArray, FloatArray, float]:
    """Reference counts, window shares and the most a share can be off, on Evidently's bins
    (``NumericPair.binned``): Sturges bins, or the distinct values of at most 20."""
    ref_keys, ref_key_counts = binning.sorted_value_counts(ref)
    if ref_keys.size > 20:
        first = min(float(ref[0]), profile.minimum)
        last = max(float(ref[-1]), profile.maximum)
        edges = binning.sturges_edges_of_range(first, last, ref.size + profile.count)
        shares = _bin_shares(profile, edges)
        return binning.sorted_histogram(ref, edges), shares, 2 * profile.rank_error
    cur_keys, cur_counts = binning.sorted_value_counts(sample)
    _, ref_aligned, cur_aligned = binning.align_counts(
        ref_keys, ref_key_counts, cur_keys, cur_counts
    )
    return ref_aligned, cur_aligned / max(sample.size, 1), 2 * r


def _bin_shares(profile: NumericProfile, edges: FloatArray) -> FloatArray:
    """The window's share in each bin ``[e_i, e_i+1)`` (the last one closed), read from the
    sketch's CDF at the inner edges: each share is within twice its rank error."""
    if profile.count == 0:
        return np.zeros(edges.size - 1)
    below = profile.sketch.get_cdf(edges[1:-1].tolist(), False)[:-1]  # share < each inner edge
    return np.diff(np.concatenate([[0.0], np.asarray(below, dtype=np.float64), [1.0]]))


def _binned_score(
    method: str,
    threshold: float | None,
    ref_counts: IntArray,
    cur_shares: FloatArray,
    share_error: float,
) -> ProfileScore:
    ref_shares = ref_counts / ref_counts.sum()
    if method == "psi":
        score = distances.psi(
            binning.fill_empty_bins(ref_shares), binning.fill_empty_bins(cur_shares)
        )
    elif method == "kl_div":
        score = distances.kl_divergence(
            binning.fill_empty_bins(ref_shares), binning.fill_empty_bins(cur_shares)
        )
    elif method == "jensenshannon":
        score = distances.jensenshannon(ref_shares, cur_shares)
    elif method == "hellinger":
        bc = float(np.sum(np.sqrt(ref_shares * cur_shares)))
        score = math.sqrt(1.0 - min(max(bc, 0.0), 1.0))
    else:  # tvd
        score = 0.5 * float(np.abs(ref_shares - cur_shares).sum())
        return _verdict(method, threshold, score, ref_shares.size * share_error / 2, "score")
    return _verdict(method, threshold, score, share_error, "bin share")


def _verdict(
    method: str,
    threshold: float | None,
    score: float,
    bound: float,
    bound_of: Literal["score", "statistic", "bin share"],
) -> ProfileScore:
    spec = METHODS[method]
    limit = spec.default_threshold if threshold is None else threshold
    return ProfileScore(method, float(score), limit, spec.drifted(score, limit), bound, bound_of)
