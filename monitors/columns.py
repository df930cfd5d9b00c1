"""Arrow columns to numpy, the way every monitor reads them.

Numerical columns become float64 with nulls and ±inf as NaN (Evidently replaces ±inf by NaN
before testing); categorical columns become object arrays of strings with nulls as None.

>>> import pyarrow as pa
>>> numeric_values(pa.table({"x": [1, None, float("inf")]}), "x")
array([ 1., nan, nan])
>>> category_values(pa.table({"c": ["a", None]}), "c").tolist()
['a', None]
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

FloatArray = npt.NDArray[np.float64]
ObjectArray = npt.NDArray[np.object_]
IntArray = npt.NDArray[np.int64]


def numeric_values(table: pa.Table, column: str) -> FloatArray:
    """The column as float64 with nulls and infinities replaced by NaN."""
    chunked = table.column(column)
    if not pa.types.is_floating(chunked.type):
        chunked = pc.cast(chunked, pa.float64())
    values = np.asarray(chunked.to_numpy(), dtype=np.float64)
    if not values.flags.writeable:
        values = values.copy()
    values[np.isinf(values)] = np.nan
    return values


def category_values(table: pa.Table, column: str) -> ObjectArray:
    """The column as an object array of strings (None for null)."""
    chunked = table.column(column)
    if not pa.types.is_string(chunked.type) and not pa.types.is_large_string(chunked.type):
        chunked = pc.cast(chunked, pa.string())
    return np.asarray(chunked.to_numpy(zero_copy_only=False), dtype=object)
