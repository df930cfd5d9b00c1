"""Labeling-function statistics against Snorkel's LFAnalysis definitions, computed by loops."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from dqm.monitors.errors import InvalidInputError
from dqm.monitors.labels.weak_supervision import (
    label_coverage,
    labeling_function_metrics,
    lf_conflicts,
    lf_coverage,
    lf_overlaps,
)


def _by_definition(matrix: np.ndarray) -> tuple[list[float], list[float], list[float]]:
    """Snorkel's definitions, one row and one function at a time."""
    n, m = matrix.shape
    cov, ovl, con = [0.0] * m, [0.0] * m, [0.0] * m
    for row in matrix:
        votes = [v for v in row if v != -1]
        for j in range(m):
            if row[j] == -1:
                continue
            cov[j] += 1 / n
            if len(votes) > 1:
                ovl[j] += 1 / n
            if len(set(votes)) > 1:
                con[j] += 1 / n
    return cov, ovl, con


@pytest.mark.parametrize("seed", range(5))
def test_statistics_match_the_definitions(seed: int) -> None:
    rng = np.random.default_rng(seed)
    matrix = rng.integers(-1, 3, size=(80, 5))
    matrix[rng.random((80, 5)) < 0.4] = -1
    cov, ovl, con = _by_definition(matrix)
    np.testing.assert_allclose(lf_coverage(matrix), cov)
    np.testing.assert_allclose(lf_overlaps(matrix), ovl)
    np.testing.assert_allclose(lf_conflicts(matrix), con)
    assert label_coverage(matrix) == pytest.approx(np.mean([(r != -1).any() for r in matrix]))


def test_nan_is_an_abstention() -> None:
    matrix = np.array([[0.0, np.nan], [1.0, 1.0], [np.nan, np.nan]])
    assert lf_coverage(matrix).tolist() == pytest.approx([2 / 3, 1 / 3])
    assert label_coverage(matrix) == pytest.approx(2 / 3)


def test_empty_matrix_is_rejected() -> None:
    with pytest.raises(InvalidInputError):
        lf_coverage(np.zeros((0, 2)))


def test_metrics_from_a_table() -> None:
    table = pa.table({"lf_a": [0, 1, -1, None], "lf_b": [0, 0, -1, 1]})
    got = {(m.name, m.column): m.value for m in labeling_function_metrics(table, ["lf_a", "lf_b"])}
    assert got[("lf_label_coverage", None)] == 0.75
    assert got[("lf_coverage", "lf_a")] == 0.5
    assert got[("lf_overlaps", "lf_b")] == 0.5
    assert got[("lf_conflicts", "lf_a")] == 0.25
    assert labeling_function_metrics(table, []) == []
    missing = labeling_function_metrics(table, ["lf_x"])
    assert missing[0].value is None and missing[0].status.startswith("skipped")
