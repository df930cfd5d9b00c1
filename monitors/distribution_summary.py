"""Compact per-column distributions of a reference and a window, stored with a drift run so its
page can draw reference against window from what the run saw (not from data read again later).

Numerical columns: counts in ``bins`` equal-width bins spanning both sides' finite values
(from the smaller minimum to the larger maximum, so a shifted window stays on the chart; the
last bin is closed, as ``numpy.histogram``). Categorical columns: counts of the ``top``
categories most frequent over both sides together (ties by name), the rest summed as
``other``. Both record the non-missing count ``n`` and the ``missing`` count of each side.

>>> import pyarrow as pa
>>> from dqm.monitors.schema import ColumnSpec, Schema
>>> schema = Schema(columns=[ColumnSpec(name="x", type="numerical"),
...                          ColumnSpec(name="c", type="categorical")])
>>> ref = pa.table({"x": [0.0, 1.0, 2.0, 3.0], "c": ["a", "a", "b", None]})
>>> cur = pa.table({"x": [2.0, 4.0, None], "c": ["b", "c", "c"]})
>>> s = summarize(ref, cur, schema, schema.columns, bins=4, top=2)
>>> x = s["columns"]["x"]
>>> x["min"], x["max"], x["reference"], x["current"], x["current_missing"]
(0.0, 4.0, [1, 1, 1, 1], [0, 0, 1, 1], 1)
>>> c = s["columns"]["c"]
>>> c["categories"], c["reference"], c["current"], c["reference_other"], c["current_other"]
(['a', 'b'], [2, 1], [0, 1], 0, 2)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pyarrow as pa

from dqm.monitors.base import as_profile
from dqm.monitors.columns import FloatArray, IntArray, string_column
from dqm.monitors.profile import ReferenceProfile
from dqm.monitors.schema import ColumnSpec, Schema

VERSION = 1
BINS = 30
TOP = 20


def summarize(
    reference: ReferenceProfile | pa.Table,
    current: pa.Table,
    schema: Schema,
    specs: Sequence[ColumnSpec],
    bins: int = BINS,
    top: int = TOP,
) -> dict[str, Any]:
    """``{"version", "bins", "top", "columns": {name: summary}}`` for the numerical and
    categorical ``specs`` present on both sides (other columns are left out)."""
    profile = as_profile(reference, schema)
    columns: dict[str, Any] = {}
    for spec in specs:
        if spec.name not in profile.table.column_names or spec.name not in current.column_names:
            continue
        if spec.type == "numerical":
            columns[spec.name] = numerical_summary(profile, current, spec.name, bins)
        elif spec.type == "categorical":
            columns[spec.name] = categorical_summary(profile, current, spec.name, top)
    return {"version": VERSION, "bins": bins, "top": top, "columns": columns}


def _finite(table: pa.Table, column: str) -> FloatArray:
    chunked = table.column(column)
    if not pa.types.is_floating(chunked.type):
        chunked = chunked.cast(pa.float64())
    values = np.asarray(chunked.to_numpy(), dtype=np.float64)
    return values[np.isfinite(values)]


def numerical_summary(
    profile: ReferenceProfile, current: pa.Table, column: str, bins: int
) -> dict[str, Any]:
    """Counts of both sides over ``bins`` equal-width bins spanning both (see the module)."""
    ref = profile.numeric(column).sorted_values  # sorted once per reference version
    cur = _finite(current, column)
    out: dict[str, Any] = {
        "type": "numerical",
        "reference_n": int(ref.size),
        "current_n": int(cur.size),
        "reference_missing": profile.num_rows - int(ref.size),
        "current_missing": current.num_rows - int(cur.size),
    }
    if ref.size == 0 and cur.size == 0:
        return out
    ends: list[float] = []
    if ref.size:
        ends += [float(ref[0]), float(ref[-1])]
    if cur.size:
        ends += [float(cur.min()), float(cur.max())]
    lo, hi = min(ends), max(ends)
    edges = np.linspace(lo, hi, bins + 1) if hi > lo else np.array([lo, lo])
    out.update(min=lo, max=hi, reference=_sorted_counts(ref, edges), current=_counts(cur, edges))
    return out


def _sorted_counts(values: FloatArray, edges: FloatArray) -> list[int]:
    """``numpy.histogram`` counts of already sorted values (binary search per edge)."""
    at = np.searchsorted(values, edges, side="left")
    at[-1] = values.size  # the last bin is closed; every value is <= the last edge
    counts: IntArray = np.diff(at).astype(np.int64)
    return [int(c) for c in counts]


def _counts(values: FloatArray, edges: FloatArray) -> list[int]:
    if edges[0] == edges[-1]:
        return [int(values.size)]
    counts, _ = np.histogram(values, bins=edges)
    return [int(c) for c in counts]


def categorical_summary(
    profile: ReferenceProfile, current: pa.Table, column: str, top: int
) -> dict[str, Any]:
    """Counts of the ``top`` most frequent categories over both sides, the rest as other."""
    keys, ref, cur = profile.categorical(column).aligned(string_column(current, column))
    total = ref + cur
    order = np.lexsort((keys, -total))[:top]  # by total count descending, then by name
    kept_ref, kept_cur = ref[order], cur[order]
    return {
        "type": "categorical",
        "reference_n": int(ref.sum()),
        "current_n": int(cur.sum()),
        "reference_missing": profile.num_rows - int(ref.sum()),
        "current_missing": current.num_rows - int(cur.sum()),
        "categories": [str(k) for k in keys[order]],
        "reference": [int(c) for c in kept_ref],
        "current": [int(c) for c in kept_cur],
        "reference_other": int(ref.sum() - kept_ref.sum()),
        "current_other": int(cur.sum() - kept_cur.sum()),
    }
