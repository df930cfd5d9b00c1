"""Multivariate drift: how well a classifier tells current rows from reference rows.

A domain classifier (L2-regularized logistic regression on standardized numerical columns,
their squares and pairwise products, missing indicators and one-hot categories) is fitted with
2-fold cross-fitting; its out-of-fold ROC AUC is ``domain_classifier_auc``. 0.5 means the
windows are indistinguishable; shifts in correlations, invisible column by column, show here.

Reference: Rabanser, Gunnemann, Lipton (2019), "Failing loudly: an empirical study of methods
for detecting dataset shift", section 3.3.

>>> rng = np.random.default_rng(0)
>>> same = classifier_auc(rng.normal(0, 1, (500, 2)), rng.normal(0, 1, (500, 2)))
>>> shifted = classifier_auc(rng.normal(0, 1, (500, 2)), rng.normal(1, 1, (500, 2)))
>>> bool(abs(same - 0.5) < 0.05), bool(shifted > 0.7)
(True, True)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa

from dqm.monitors.base import Metric
from dqm.monitors.columns import FloatArray, category_values, numeric_values
from dqm.monitors.learners.logistic import fit_logistic
from dqm.monitors.learners.roc_auc import binary_roc_auc
from dqm.monitors.schema import ColumnSpec

MAX_ROWS_PER_SIDE = 5000
MAX_CATEGORIES = 10
MAX_INTERACTING_COLUMNS = 8
MAX_EMBEDDING_DIMS = 32
SEED = 0


def design_matrix(tables: Sequence[pa.Table], specs: Sequence[ColumnSpec]) -> FloatArray:
    """Standardized features of the stacked tables (no intercept column)."""
    numeric = [s.name for s in specs if s.type == "numerical"]
    base: list[FloatArray] = []
    indicators: list[FloatArray] = []
    for name in numeric:
        v = np.concatenate([numeric_values(t, name) for t in tables])
        missing = np.isnan(v)
        base.append(np.where(missing, 0.0, _standardize(v)))
        if missing.any():
            indicators.append(missing.astype(np.float64))
    few = base[:MAX_INTERACTING_COLUMNS]
    blocks = [*base, *indicators, *(b * b for b in base)]
    blocks += [few[i] * few[j] for i in range(len(few)) for j in range(i + 1, len(few))]
    for s in specs:
        if s.type == "categorical":
            blocks += _one_hot(np.concatenate([category_values(t, s.name) for t in tables]))
    n = sum(t.num_rows for t in tables)
    features = [_standardize(b) for b in blocks if np.ptp(b) > 0]
    return np.column_stack(features) if features else np.zeros((n, 0))


def _standardize(v: FloatArray) -> FloatArray:
    present = v[~np.isnan(v)]
    if present.size == 0:
        return np.zeros_like(v)
    std = float(present.std())
    return (v - float(present.mean())) / (std if std > 0 else 1.0)


def _one_hot(values: np.ndarray) -> list[FloatArray]:
    text = np.asarray([("" if v is None else str(v)) for v in values], dtype=object)
    cats, counts = np.unique(text, return_counts=True)
    top = cats[np.argsort(-counts, kind="stable")][:MAX_CATEGORIES]
    return [(text == c).astype(np.float64) for c in top]


def domain_classifier_auc(
    reference: pa.Table, current: pa.Table, specs: Sequence[ColumnSpec]
) -> float:
    """Out-of-fold ROC AUC of a reference-vs-current classifier on table columns."""
    rng = np.random.default_rng(SEED)
    ref = _subsample(reference, rng)
    cur = _subsample(current, rng)
    x = design_matrix([ref, cur], specs)
    return classifier_auc(x[: ref.num_rows], x[ref.num_rows :])


def classifier_auc(ref: FloatArray, cur: FloatArray) -> float:
    """Out-of-fold ROC AUC (2-fold, seeded) of logistic regression telling rows of cur from ref.

    Rows are (seeded) subsampled to at most 5000 per side; an intercept column is added.
    """
    rng = np.random.default_rng(SEED)
    ref, cur = _subsample_rows(ref, rng), _subsample_rows(cur, rng)
    x = np.vstack([ref, cur])
    x = np.column_stack([np.ones(len(x)), x])
    y = np.concatenate([np.zeros(len(ref), np.int64), np.ones(len(cur), np.int64)])
    fold = rng.permutation(y.size) % 2
    scores = np.empty(y.size)
    for k in (0, 1):
        w = fit_logistic(x[fold != k], y[fold != k])
        scores[fold == k] = x[fold == k] @ w
    return binary_roc_auc(y == 1, scores)


def embedding_auc(ref: FloatArray, cur: FloatArray) -> float:
    """Domain-classifier AUC of two sets of embedding vectors ((n, d) arrays).

    Vectors are projected to at most 32 dimensions (seeded Gaussian random projection, which
    preserves distances approximately; Johnson, Lindenstrauss 1984) and standardized.
    """
    rng = np.random.default_rng(SEED)
    ref, cur = _subsample_rows(ref, rng), _subsample_rows(cur, rng)
    if ref.shape[1] > MAX_EMBEDDING_DIMS:
        projection = rng.normal(0.0, 1.0, (ref.shape[1], MAX_EMBEDDING_DIMS))
        ref, cur = ref @ projection, cur @ projection
    pooled = np.vstack([ref, cur])
    scale = pooled.std(axis=0)
    pooled = (pooled - pooled.mean(axis=0)) / np.where(scale > 0, scale, 1.0)
    return classifier_auc(pooled[: len(ref)], pooled[len(ref) :])


def _subsample_rows(x: FloatArray, rng: np.random.Generator) -> FloatArray:
    if len(x) <= MAX_ROWS_PER_SIDE:
        return x
    return x[np.sort(rng.choice(len(x), MAX_ROWS_PER_SIDE, replace=False))]


def _subsample(table: pa.Table, rng: np.random.Generator) -> pa.Table:
    if table.num_rows <= MAX_ROWS_PER_SIDE:
        return table
    return table.take(np.sort(rng.choice(table.num_rows, MAX_ROWS_PER_SIDE, replace=False)))


def domain_classifier_metric(
    reference: pa.Table, current: pa.Table, specs: Sequence[ColumnSpec], threshold: float
) -> Metric:
    """``domain_classifier_auc`` over the numerical and categorical columns among ``specs``.

    Drift when the AUC is at least ``threshold`` (``DriftParams.domain_classifier_threshold``).
    """
    usable = [
        s
        for s in specs
        if s.type in ("numerical", "categorical")
        and s.name in reference.column_names
        and s.name in current.column_names
    ]
    if not usable:
        return Metric("domain_classifier_auc", None, status="skipped: no usable columns")
    auc = domain_classifier_auc(reference, current, usable)
    details = {"columns": [s.name for s in usable], "folds": 2, "max_rows": MAX_ROWS_PER_SIDE}
    return Metric(
        "domain_classifier_auc",
        auc,
        method="domain_classifier",
        threshold=threshold,
        drifted=auc >= threshold,
        details=details,
    )
