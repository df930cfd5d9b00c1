"""Inter-annotator agreement: Cohen's kappa, Fleiss' kappa, Krippendorff's alpha (nominal).

Ratings are an ``(n_items, n_raters)`` object array, one column per annotator, ``None`` where
an annotator gave no rating; values are compared as strings.

>>> import numpy as np
>>> r = np.array([["a", "a"], ["b", "b"], ["a", "b"], ["b", "b"]], dtype=object)
>>> round(cohen_kappa(r[:, 0], r[:, 1]), 4), round(krippendorff_alpha(r), 4)
(0.5, 0.5333)
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from dqm.monitors.base import Metric
from dqm.monitors.columns import IntArray, ObjectArray, category_values
from dqm.monitors.errors import InvalidInputError


def _is_missing(v: object) -> bool:
    return v is None or (isinstance(v, float) and np.isnan(v))


def per_item_rating_counts(ratings: ObjectArray) -> IntArray:
    """``(n_items, n_categories)`` counts of how many raters put each item in each category."""
    if ratings.ndim != 2:
        raise InvalidInputError("ratings must be a 2-d (items x raters) array")
    flat = ratings.ravel()
    present = np.array([not _is_missing(v) for v in flat], dtype=bool)
    items = np.repeat(np.arange(ratings.shape[0]), ratings.shape[1])[present]
    values = np.array([str(v) for v in flat[present]], dtype=object)
    cats, codes = np.unique(values.astype(str), return_inverse=True)
    k = max(cats.size, 1)
    flat_counts = np.bincount(items * k + codes, minlength=ratings.shape[0] * k)
    return flat_counts.reshape(ratings.shape[0], k).astype(np.int64)


def cohen_kappa(a: ObjectArray, b: ObjectArray) -> float:
    """Cohen's kappa of two raters over the items both rated (Cohen 1960).

    kappa = (p_o - p_e) / (1 - p_e); NaN when chance agreement is 1 (a single category).
    """
    both = np.array([not (_is_missing(x) or _is_missing(y)) for x, y in zip(a, b, strict=True)])
    if not both.any():
        return float("nan")
    x = np.asarray(a[both]).astype(str)
    y = np.asarray(b[both]).astype(str)
    cats, codes = np.unique(np.concatenate([x, y]), return_inverse=True)
    cx, cy = codes[: x.size], codes[x.size :]
    p_o = float(np.mean(cx == cy))
    p_e = float(
        np.dot(np.bincount(cx, minlength=cats.size), np.bincount(cy, minlength=cats.size))
    ) / (x.size**2)
    return float("nan") if p_e == 1.0 else (p_o - p_e) / (1.0 - p_e)


def fleiss_kappa(counts: IntArray) -> float:
    """Fleiss' kappa from ``(n_items, n_categories)`` counts, same raters per item (Fleiss 1971).

    Wikipedia's worked example (10 items, 14 raters, 5 categories) gives 0.210:

    >>> table = np.array([[0, 0, 0, 0, 14], [0, 2, 6, 4, 2], [0, 0, 3, 5, 6], [0, 3, 9, 2, 0],
    ...     [2, 2, 8, 1, 1], [7, 7, 0, 0, 0], [3, 2, 6, 3, 0], [2, 5, 3, 2, 2],
    ...     [6, 5, 2, 1, 0], [0, 2, 2, 3, 7]])
    >>> round(fleiss_kappa(table), 3)
    0.21
    """
    per_item = counts.sum(axis=1)
    if counts.shape[0] == 0 or per_item.min() != per_item.max() or per_item[0] < 2:
        raise InvalidInputError("Fleiss' kappa needs the same number (>= 2) of raters per item")
    n = float(per_item[0])
    p_i = ((counts.astype(np.float64) ** 2).sum(axis=1) - n) / (n * (n - 1))
    p_j = counts.sum(axis=0) / counts.sum()
    p_bar, p_e = float(p_i.mean()), float((p_j**2).sum())
    return float("nan") if p_e == 1.0 else (p_bar - p_e) / (1.0 - p_e)


def krippendorff_alpha(ratings: ObjectArray) -> float:
    """Krippendorff's alpha for nominal data; missing ratings allowed (Krippendorff 2011).

    Items with fewer than two ratings are not pairable and are left out. Krippendorff's
    canonical reliability data (4 observers, 12 units, missing values) give 0.743:

    >>> _ = None
    >>> data = np.array([[1, 2, 3, 3, 2, 1, 4, 1, 2, _, _, _],
    ...                  [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, _, 3],
    ...                  [_, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, _],
    ...                  [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, _]], dtype=object)
    >>> round(krippendorff_alpha(data.T), 3)
    0.743
    """
    counts = per_item_rating_counts(ratings).astype(np.float64)
    m_u = counts.sum(axis=1)
    pairable = m_u >= 2
    counts, m_u = counts[pairable], m_u[pairable]
    n_c = counts.sum(axis=0)
    n = float(n_c.sum())
    if n < 2:
        return float("nan")
    observed = float(((m_u**2 - (counts**2).sum(axis=1)) / (m_u - 1)).sum())
    expected = (n**2 - float((n_c**2).sum())) / (n - 1)
    return float("nan") if expected == 0 else 1.0 - observed / expected


def agreement_metrics(table: pa.Table, columns: list[str]) -> list[Metric]:
    """``cohen_kappa`` (exactly two annotators), ``fleiss_kappa`` (rows rated by all) and
    ``krippendorff_alpha`` (missing ratings allowed) over the annotator ``columns``."""
    if not columns:
        return []
    missing = [c for c in columns if c not in table.column_names]
    if missing or len(columns) < 2:
        reason = f"annotator columns not in the window: {missing}" if missing else "one annotator"
        names = ("cohen_kappa", "fleiss_kappa", "krippendorff_alpha")
        return [Metric(name=n, value=None, status=f"skipped: {reason}") for n in names]
    ratings = np.column_stack([category_values(table, c) for c in columns])
    out = []
    if len(columns) == 2:
        out.append(_metric("cohen_kappa", cohen_kappa(ratings[:, 0], ratings[:, 1])))
    complete = np.array([all(not _is_missing(v) for v in row) for row in ratings], dtype=bool)
    fleiss = float("nan")
    if complete.any():
        fleiss = fleiss_kappa(per_item_rating_counts(ratings[complete]))
    out.append(_metric("fleiss_kappa", fleiss))
    out.append(_metric("krippendorff_alpha", krippendorff_alpha(ratings)))
    return out


def _metric(name: str, value: float) -> Metric:
    if np.isnan(value):
        return Metric(name=name, value=None, status="skipped: undefined (no pairable ratings)")
    return Metric(name=name, value=value, method="nominal")
