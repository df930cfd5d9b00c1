"""Ordinal and interval Krippendorff alpha and weighted Cohen's kappa against the `krippendorff`
package, sklearn and Krippendorff's published example."""

from __future__ import annotations

import warnings
from typing import Literal

import krippendorff
import numpy as np
import pyarrow as pa
import pytest
from sklearn.metrics import cohen_kappa_score

from dqm.monitors.errors import InvalidInputError
from dqm.monitors.labels.agreement import (
    AgreementLevel,
    krippendorff_alpha_level,
    numeric_ratings,
    weighted_cohen_kappa,
)
from dqm.monitors.labels.monitor import LabelQualityMonitor, LabelQualityParams
from dqm.monitors.schema import ColumnSpec, Schema
from tests.monitors.labels.krippendorff_examples import KRIPPENDORFF_C


def _oracle_alpha(ratings: np.ndarray, level: AgreementLevel) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the package warns when nothing is pairable
        return float(
            krippendorff.alpha(
                reliability_data=numeric_ratings(ratings).T, level_of_measurement=level
            )
        )


@pytest.mark.parametrize(
    ("level", "published"), [("nominal", 0.743), ("ordinal", 0.815), ("interval", 0.849)]
)
def test_canonical_example(level: AgreementLevel, published: float) -> None:
    got = krippendorff_alpha_level(KRIPPENDORFF_C, level)
    assert got == pytest.approx(published, abs=5e-4)
    assert got == pytest.approx(_oracle_alpha(KRIPPENDORFF_C, level), rel=1e-12)


def _random_ratings(rng: np.random.Generator) -> np.ndarray:
    n, raters = int(rng.integers(2, 40)), int(rng.integers(2, 6))
    scale = rng.normal(0, 3, int(rng.integers(2, 7))).round(1)
    values = rng.choice(scale, size=(n, raters)).astype(object)
    values[rng.random((n, raters)) < 0.3] = None
    return values


@pytest.mark.parametrize("level", ["ordinal", "interval", "nominal"])
def test_alpha_equals_the_krippendorff_package_on_random_matrices(level: AgreementLevel) -> None:
    rng = np.random.default_rng(11)
    compared = 0
    for _i in range(200):
        ratings = _random_ratings(rng)
        got = krippendorff_alpha_level(ratings, level)
        try:
            want = _oracle_alpha(ratings, level)
        except ValueError:  # the package refuses fewer than 2 distinct values
            assert np.isnan(got) or got == 1.0
            continue
        if np.isnan(want):
            assert np.isnan(got)
            continue
        assert got == pytest.approx(want, rel=1e-9, abs=1e-12)
        compared += 1
    assert compared > 150


@pytest.mark.parametrize("weights", ["linear", "quadratic"])
def test_weighted_kappa_equals_sklearn(weights: Literal["linear", "quadratic"]) -> None:
    rng = np.random.default_rng(4)
    for _i in range(100):
        n = int(rng.integers(5, 80))
        a = rng.integers(1, 6, n)
        b = np.clip(a + rng.integers(-2, 3, n), 1, 5)
        aa, bb = a.astype(object), b.astype(object)
        aa[rng.random(n) < 0.2] = None
        both = np.array([x is not None for x in aa])
        if np.unique(np.r_[a[both], b[both]]).size < 2:
            continue
        want = cohen_kappa_score(a[both], b[both], weights=weights)
        assert weighted_cohen_kappa(aa, bb, weights) == pytest.approx(want, rel=1e-12)


def test_non_numeric_ratings_are_refused_at_ordinal_level() -> None:
    with pytest.raises(InvalidInputError, match="need numbers"):
        krippendorff_alpha_level(np.array([["low", "high"]], dtype=object), "ordinal")


def _schema() -> Schema:
    return Schema(
        columns=[
            ColumnSpec(name="y", type="numerical", role="target"),
            ColumnSpec(name="r1", type="numerical"),
            ColumnSpec(name="r2", type="numerical"),
        ]
    )


@pytest.mark.parametrize("level", ["ordinal", "interval"])
def test_label_quality_reports_the_chosen_level(level: AgreementLevel) -> None:
    rng = np.random.default_rng(2)
    r1 = rng.integers(1, 6, 120).astype(float)
    r2 = np.clip(r1 + rng.integers(-1, 2, 120), 1, 5)
    table = pa.table({"y": r1, "r1": r1, "r2": r2})
    params = LabelQualityParams(annotator_columns=["r1", "r2"], agreement_level=level)
    result = LabelQualityMonitor().run(table, table, _schema(), params)
    alpha = result.metric("krippendorff_alpha")
    want = krippendorff.alpha(reliability_data=np.vstack([r1, r2]), level_of_measurement=level)
    assert alpha.method == level and alpha.value == pytest.approx(want, rel=1e-12)
    for weights in ("linear", "quadratic"):
        m = result.metric(f"cohen_kappa_{weights}")
        assert m.method == weights
        assert m.value == pytest.approx(cohen_kappa_score(r1, r2, weights=weights), rel=1e-12)
    assert result.metric("cohen_kappa").value == pytest.approx(cohen_kappa_score(r1, r2))


def test_label_quality_default_level_is_nominal() -> None:
    table = pa.table(
        {"y": [1.0, 2.0, 3.0, 1.0], "r1": [1.0, 2.0, 3.0, 1.0], "r2": [1.0, 2.0, 2.0, 1.0]}
    )
    params = LabelQualityParams(annotator_columns=["r1", "r2"])
    result = LabelQualityMonitor().run(table, table, _schema(), params)
    names = {m.name for m in result.metrics}
    assert "cohen_kappa_linear" not in names
    want = krippendorff.alpha(
        reliability_data=np.array([[1, 2, 3, 1], [1, 2, 2, 1]], dtype=float),
        level_of_measurement="nominal",
    )
    assert result.metric("krippendorff_alpha").value == pytest.approx(want, rel=1e-12)
