"""Labeling-function statistics with Snorkel's ``LFAnalysis`` definitions.

``L`` is an ``(n_rows, n_functions)`` label matrix; ``-1`` (or NaN) means the function
abstained on that row.

>>> import numpy as np
>>> L = np.array([[0, -1, 0], [1, 0, -1], [-1, -1, -1], [1, 1, 1]])
>>> lf_coverage(L).tolist(), lf_overlaps(L).tolist(), lf_conflicts(L).tolist()
([0.75, 0.5, 0.5], [0.75, 0.5, 0.5], [0.25, 0.25, 0.0])
>>> label_coverage(L)
0.75
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from dqm.monitors.base import Metric
from dqm.monitors.columns import numeric_values
from dqm.monitors.errors import InvalidInputError

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
ABSTAIN = -1


def _voted(label_matrix: npt.NDArray[np.float64] | npt.NDArray[np.int64]) -> BoolArray:
    if label_matrix.ndim != 2 or label_matrix.shape[0] == 0:
        raise InvalidInputError("the label matrix must be 2-d with at least one row")
    m = np.asarray(label_matrix, dtype=np.float64)
    return np.asarray(~np.isnan(m) & (m != ABSTAIN), dtype=bool)


def lf_coverage(label_matrix: npt.NDArray[np.float64] | npt.NDArray[np.int64]) -> FloatArray:
    """Per function: share of rows it labels (does not abstain on)."""
    return np.asarray(_voted(label_matrix).mean(axis=0), dtype=np.float64)


def lf_overlaps(label_matrix: npt.NDArray[np.float64] | npt.NDArray[np.int64]) -> FloatArray:
    """Per function: share of rows it labels that at least one other function also labels."""
    voted = _voted(label_matrix)
    overlapped = voted.sum(axis=1) > 1
    return np.asarray((voted & overlapped[:, None]).mean(axis=0), dtype=np.float64)


def lf_conflicts(label_matrix: npt.NDArray[np.float64] | npt.NDArray[np.int64]) -> FloatArray:
    """Per function: share of rows it labels where the non-abstaining labels disagree."""
    voted = _voted(label_matrix)
    m = np.asarray(label_matrix, dtype=np.float64)
    hi = np.where(voted, m, -np.inf).max(axis=1)
    lo = np.where(voted, m, np.inf).min(axis=1)
    conflicted = voted.any(axis=1) & (hi != lo)
    return np.asarray((voted & conflicted[:, None]).mean(axis=0), dtype=np.float64)


def label_coverage(label_matrix: npt.NDArray[np.float64] | npt.NDArray[np.int64]) -> float:
    """Share of rows that at least one function labels."""
    return float(_voted(label_matrix).any(axis=1).mean())


def labeling_function_metrics(table: pa.Table, columns: list[str]) -> list[Metric]:
    """Per-function ``lf_coverage``, ``lf_overlaps``, ``lf_conflicts`` (column = function) and
    the dataset-level ``lf_label_coverage``; nulls count as abstentions."""
    if not columns:
        return []
    missing = [c for c in columns if c not in table.column_names]
    if missing:
        return [
            Metric(
                name="lf_label_coverage",
                value=None,
                status=f"skipped: labeling function columns not in the window: {missing}",
            )
        ]
    matrix = np.column_stack([numeric_values(table, c) for c in columns])
    out = [Metric(name="lf_label_coverage", value=label_coverage(matrix))]
    for name, values in (
        ("lf_coverage", lf_coverage(matrix)),
        ("lf_overlaps", lf_overlaps(matrix)),
        ("lf_conflicts", lf_conflicts(matrix)),
    ):
        out += [
            Metric(name=name, value=float(v), column=c)
            for c, v in zip(columns, values, strict=True)
        ]
    return out
