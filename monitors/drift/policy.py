"""The ``calibrated`` decision policy and the effect size reported beside every drift score.

Under ``policy="calibrated"`` each column is tested by a two-sample test whose false-alarm
rate is its threshold (0.05 by default) at every sample size: the contingency chi-square
(:func:`dqm.monitors.stats.contingency.chi2_contingency_counts`) for categorical columns and
numerical ones with at most 5 distinct values, the Kolmogorov-Smirnov test for other
numerical columns. A p-value alone flags negligible shifts once windows are large, so the
test counts as drift only when the effect size also reaches a floor: 0.05 reference standard
deviations of Wasserstein distance (numerical), 0.018 of Jensen-Shannon distance
(categorical). For a small location shift of d standard deviations the Jensen-Shannon
distance is about d / sqrt(8), so both floors mean a shift of about 0.05 sd. Requiring both
can only lower the false-alarm rate below the test's.

>>> import numpy as np
>>> from dqm.monitors.drift.methods import CategoricalPair
>>> keys = np.array(["a", "b"], dtype=object)
>>> pair = CategoricalPair.from_counts(keys, np.array([50, 50]), keys, np.array([30, 70]))
>>> m = calibrated_method(pair); m.name, round(m.score(pair), 6)
('chi2_contingency', 0.003892)
>>> size, name = effect_size(pair); round(size, 4), name
(0.1449, 'jensenshannon')
"""

from __future__ import annotations

from dqm.monitors.drift.methods import METHODS, CategoricalPair, Method, NumericPair, Pair
from dqm.monitors.drift.params import DriftParams
from dqm.monitors.stats import sparse_counts
from dqm.monitors.stats.contingency import chi2_contingency_counts

# Effect-size floors of the calibrated policy by column kind, both about a 0.05 sd shift.
CALIBRATED_FLOORS = {"numerical": 0.05, "categorical": 0.018}


def _chi2_contingency(pair: Pair) -> float:
    if isinstance(pair, CategoricalPair) and pair.window is not None:
        return sparse_counts.chi2_contingency(pair.window)[1]
    c = pair.counts
    return chi2_contingency_counts(c.ref, c.cur)[1]


CHI2_CONTINGENCY = Method(
    "chi2_contingency", "chi-square contingency p_value", _chi2_contingency, 0.05, "<"
)


def calibrated_method(pair: Pair) -> Method:
    """The calibrated policy's test: KS for numerical columns with more than 5 distinct
    values, the contingency chi-square for the others."""
    if pair.kind == "numerical" and pair.n_unique() > 5:
        return METHODS["ks"]
    return CHI2_CONTINGENCY


def default_floor(pair: Pair, p: DriftParams) -> float | None:
    """The effect-size floor of this column: the params' own, else the policy's default."""
    if p.effect_size_floor is not None:
        return p.effect_size_floor
    return CALIBRATED_FLOORS[pair.kind] if p.policy == "calibrated" else None


def effect_size(pair: Pair, known: tuple[str, float] | None = None) -> tuple[float, str]:
    """How far the windows are apart, growing with drift: value and method name.

    The normed Wasserstein distance (in reference standard deviations) for numerical
    columns, the Jensen-Shannon distance (natural log, Evidently's binning) for categorical.
    ``known``: a method name and the score it already gave this pair, reused when it is the
    same distance (Evidently's default above 1,000 reference values), so it is not recomputed.
    """
    method = METHODS["wasserstein" if isinstance(pair, NumericPair) else "jensenshannon"]
    if known is not None and known[0] == method.name:
        return known[1], method.name
    return method.score(pair), method.name
