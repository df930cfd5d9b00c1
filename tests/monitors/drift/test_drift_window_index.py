"""Drift scores from the pre-indexed reference equal scipy's and the merge path's."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy import stats as sps

import dqm.monitors.drift.methods as methods
from dqm.monitors.profile import numeric_profile


def _pair(seed: int, n_ref: int, n_cur: int, ties: bool) -> methods.NumericPair:
    rng = np.random.default_rng(seed)
    ref, cur = rng.normal(0, 1, n_ref), rng.normal(0.03, 1.1, n_cur)
    if ties:
        ref, cur = np.round(ref * 4), np.round(cur * 4)
    prof = numeric_profile(ref)
    return methods.NumericPair(
        prof.sorted_values, np.sort(cur), prof.std, prof.unique_values, prof.indexed
    )


@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize(("n_ref", "n_cur"), [(20_000, 3_000), (3_000, 12_000), (500, 40)])
def test_indexed_scores_equal_the_merge_path_and_scipy(n_ref: int, n_cur: int, ties: bool) -> None:
    pair = _pair(n_ref + n_cur, n_ref, n_cur, ties)
    plain = methods.NumericPair(pair.ref, pair.cur, pair.ref_std, pair.ref_unique)
    for name in ("ks", "wasserstein", "cramer_von_mises", "mannw", "ed", "anderson", "hellinger"):
        score = methods.METHODS[name].score
        assert score(pair) == pytest.approx(score(plain), rel=1e-12)
    ks_p = sps.ks_2samp(pair.ref, pair.cur).pvalue
    assert methods.METHODS["ks"].score(pair) == pytest.approx(ks_p, rel=1e-9, abs=1e-300)
    cvm = sps.cramervonmises_2samp(pair.ref, pair.cur).pvalue
    assert methods.METHODS["cramer_von_mises"].score(pair) == pytest.approx(
        cvm, rel=1e-6, abs=1e-12
    )
    mw = sps.mannwhitneyu(pair.ref, pair.cur, alternative="less").pvalue
    assert methods.METHODS["mannw"].score(pair) == pytest.approx(mw, rel=1e-9, abs=1e-300)
    ed = sps.energy_distance(pair.ref, pair.cur)
    assert methods.METHODS["ed"].score(pair) == pytest.approx(ed, rel=1e-9)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scipy warns when it caps the p-value
        ad = sps.anderson_ksamp([pair.ref, pair.cur]).pvalue
    assert methods.METHODS["anderson"].score(pair) == pytest.approx(ad, rel=1e-9)
    w = sps.wasserstein_distance(pair.ref, pair.cur) / max(float(np.std(pair.ref)), 0.001)
    assert methods.METHODS["wasserstein"].score(pair) == pytest.approx(w, rel=1e-9)
