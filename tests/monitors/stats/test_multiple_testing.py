"""dqm.monitors.stats.multiple_testing against scipy and the Bonferroni definition."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as sps

import dqm.monitors.stats.multiple_testing as multiple_testing

SEEDS = [0, 1, 2]


@pytest.mark.parametrize("seed", SEEDS)
def test_adjusted_p_values_match_scipy(seed: int) -> None:
    p = np.random.default_rng(seed).random(17) ** 3
    np.testing.assert_allclose(
        multiple_testing.adjust_p_values(p.tolist(), "bh"),
        sps.false_discovery_control(p),
        rtol=1e-12,
    )
    np.testing.assert_allclose(
        multiple_testing.adjust_p_values(p.tolist(), "bonferroni"), np.minimum(p * 17, 1.0)
    )


def test_benjamini_hochberg_by_hand() -> None:
    # Sorted: 0.01, 0.03, 0.04, 0.5 -> m p / rank = 0.04, 0.06, 0.0533, 0.5; the running
    # minimum from the largest rank down gives 0.04, 0.0533, 0.0533, 0.5.
    got = multiple_testing.adjust_p_values([0.01, 0.04, 0.03, 0.5], "bh")
    np.testing.assert_allclose(got, [0.04, 0.16 / 3, 0.16 / 3, 0.5], rtol=1e-12)


def test_empty_input_and_unknown_method() -> None:
    assert multiple_testing.adjust_p_values([], "bh").size == 0
    assert multiple_testing.adjust_p_values([], "bonferroni").size == 0
    with pytest.raises(ValueError, match="unknown multiple-testing method"):
        multiple_testing.adjust_p_values([0.5], "holm")
