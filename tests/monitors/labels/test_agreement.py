"""Agreement statistics against sklearn and published worked examples."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from sklearn.metrics import cohen_kappa_score

from dqm.monitors.errors import InvalidInputError
from dqm.monitors.labels.agreement import (
    agreement_metrics,
    cohen_kappa,
    fleiss_kappa,
    krippendorff_alpha,
    per_item_rating_counts,
)
from tests.monitors.labels.krippendorff_examples import KRIPPENDORFF_A, KRIPPENDORFF_C

# Wikipedia, "Fleiss' kappa", worked example: 10 subjects, 14 raters, kappa = 0.210.
FLEISS_WIKIPEDIA = np.array(
    [
        [0, 0, 0, 0, 14],
        [0, 2, 6, 4, 2],
        [0, 0, 3, 5, 6],
        [0, 3, 9, 2, 0],
        [2, 2, 8, 1, 1],
        [7, 7, 0, 0, 0],
        [3, 2, 6, 3, 0],
        [2, 5, 3, 2, 2],
        [6, 5, 2, 1, 0],
        [0, 2, 2, 3, 7],
    ]
)


def test_krippendorff_published_examples() -> None:
    assert krippendorff_alpha(KRIPPENDORFF_C) == pytest.approx(0.743, abs=5e-4)
    assert krippendorff_alpha(KRIPPENDORFF_A) == pytest.approx(0.095, abs=5e-4)


def test_krippendorff_ignores_unpairable_units_and_perfect_agreement_is_one() -> None:
    ratings = np.array([["a", "a"], ["b", "b"], ["c", None]], dtype=np.object_)
    assert krippendorff_alpha(ratings) == 1.0
    assert np.isnan(krippendorff_alpha(np.array([["a", None]], dtype=np.object_)))


def test_fleiss_wikipedia_example() -> None:
    assert fleiss_kappa(FLEISS_WIKIPEDIA) == pytest.approx(0.2099, abs=1e-4)


def test_fleiss_needs_equal_raters() -> None:
    with pytest.raises(InvalidInputError):
        fleiss_kappa(np.array([[2, 0], [1, 0]]))


def test_fleiss_of_two_raters_from_ratings() -> None:
    # With complete data Fleiss' kappa for 2 raters is Scott's pi: (p_o - p_e) / (1 - p_e) with
    # pooled marginals. Here p_o = 0.75, pooled shares a = 3/8, b = 5/8.
    ratings = np.array([["a", "a"], ["b", "b"], ["a", "b"], ["b", "b"]], dtype=np.object_)
    p_e = (3 / 8) ** 2 + (5 / 8) ** 2
    assert fleiss_kappa(per_item_rating_counts(ratings)) == pytest.approx((0.75 - p_e) / (1 - p_e))


@pytest.mark.parametrize("seed", range(5))
def test_cohen_equals_sklearn(seed: int) -> None:
    rng = np.random.default_rng(seed)
    a = rng.choice(["x", "y", "z"], size=200)
    b = np.where(rng.random(200) < 0.6, a, rng.choice(["x", "y", "z"], size=200))
    expected = cohen_kappa_score(a, b)
    assert cohen_kappa(a.astype(object), b.astype(object)) == pytest.approx(expected)


def test_cohen_uses_items_both_rated() -> None:
    a = np.array(["x", "y", None, "x"], dtype=np.object_)
    b = np.array(["x", "y", "y", None], dtype=np.object_)
    assert cohen_kappa(a, b) == pytest.approx(cohen_kappa_score(["x", "y"], ["x", "y"]))


def test_agreement_metrics_from_a_table() -> None:
    table = pa.table(
        {
            "ann1": ["a", "b", "a", "b", None],
            "ann2": ["a", "b", "b", "b", "a"],
            "ann3": ["a", "b", "a", None, "a"],
        }
    )
    two = {m.name: m.value for m in agreement_metrics(table, ["ann1", "ann2"])}
    assert two["cohen_kappa"] == pytest.approx(
        cohen_kappa_score(["a", "b", "a", "b"], ["a", "b", "b", "b"])
    )
    three = {m.name: m for m in agreement_metrics(table, ["ann1", "ann2", "ann3"])}
    assert "cohen_kappa" not in three
    complete = np.array([["a", "a", "a"], ["b", "b", "b"], ["a", "b", "a"]], dtype=np.object_)
    assert three["fleiss_kappa"].value == pytest.approx(
        fleiss_kappa(per_item_rating_counts(complete))
    )
    assert three["krippendorff_alpha"].value is not None
    assert agreement_metrics(table, []) == []
    skipped = agreement_metrics(table, ["ann1", "nope"])
    assert all(m.value is None and m.status.startswith("skipped") for m in skipped)
