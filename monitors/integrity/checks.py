"""Row-level integrity masks: missing values, duplicates, out-of-domain and out-of-range values.

Each function returns a boolean mask over the rows of a table, so that per-column shares and the
per-row problem count come from the same arrays.

>>> import pyarrow as pa
>>> duplicate_mask(pa.table({"a": [1, 1, 2], "b": ["x", "x", "x"]}), ["a", "b"]).tolist()
[False, True, False]
>>> out_of_range_mask(pa.table({"v": [0.0, 5.0, None, 11.0]}), "v", 0.0, 10.0).tolist()
[False, False, False, True]
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from dqm.monitors.columns import numeric_values
from dqm.monitors.schema import ColumnSpec

BoolArray = npt.NDArray[np.bool_]
ROW = "__dqm_row__"


def _to_bool(values: pa.ChunkedArray | pa.Array) -> BoolArray:
    return np.asarray(values.to_numpy(zero_copy_only=False), dtype=bool)


def missing_mask(table: pa.Table, spec: ColumnSpec) -> BoolArray:
    """Rows where the column is null (or NaN/±inf when numerical); all rows if absent."""
    if spec.name not in table.column_names:
        return np.ones(table.num_rows, dtype=bool)
    if spec.type == "numerical":
        return np.isnan(numeric_values(table, spec.name))
    return _to_bool(pc.is_null(table.column(spec.name)))


def is_constant(table: pa.Table, spec: ColumnSpec) -> bool:
    """Whether the column has at most one distinct non-missing value."""
    if spec.type == "numerical":
        values = numeric_values(table, spec.name)
        values = values[~np.isnan(values)]
        return values.size == 0 or bool(values.min() == values.max())
    column = _hashable(table.column(spec.name))
    return int(pc.count_distinct(column, mode="only_valid").as_py()) <= 1


def _hashable(column: pa.ChunkedArray) -> pa.ChunkedArray | pa.Array:
    """A column Arrow can hash: floats with NaN as null and -0.0 as 0.0."""
    if pa.types.is_floating(column.type):
        column = pc.add(column, pa.scalar(0.0, column.type))  # -0.0 + 0.0 == 0.0
        return pc.if_else(pc.is_nan(column), pa.scalar(None, column.type), column)
    return column


def _keys(column: pa.ChunkedArray) -> list[pa.ChunkedArray | pa.Array]:
    """Group-by keys standing for a column; vectors (list types) become two 64-bit hashes."""
    if pa.types.is_list(column.type) or pa.types.is_large_list(column.type):
        return _vector_keys(column)
    if pa.types.is_fixed_size_list(column.type):
        return _vector_keys(column)
    return [_hashable(column)]


def _vector_keys(column: pa.ChunkedArray) -> list[pa.ChunkedArray | pa.Array]:
    array = column.combine_chunks()
    valid = np.asarray(array.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
    lengths = np.asarray(pc.fill_null(pc.list_value_length(array), 0).to_numpy())[valid]
    if not (lengths.size and np.all(lengths == lengths[0])):
        # Ragged vectors: compare their text form (slow, but exact).
        return [pa.array([None if v is None else repr(v) for v in array.to_pylist()])]
    flat = pc.list_flatten(array.filter(pa.array(valid)))
    rows = np.asarray(flat.to_numpy(zero_copy_only=False), dtype=np.float64)
    rows = rows.reshape(lengths.size, -1) + 0.0  # -0.0 + 0.0 == 0.0
    rows[np.isnan(rows)] = np.nan  # one NaN bit pattern
    keys: list[pa.ChunkedArray | pa.Array] = []
    for h in _row_hashes(rows):
        full = np.zeros(len(array), dtype=np.uint64)
        full[valid] = h
        keys.append(pa.array(full, mask=~valid))
    return keys


def _row_hashes(rows: npt.NDArray[np.float64]) -> list[npt.NDArray[np.uint64]]:
    """Two 64-bit hashes per row: splitmix64 of the position-salted bits, then two weighted sums.

    Rows with equal values always hash equal; different rows collide on both sums with
    probability about 2**-128 (random odd weights), i.e. never in practice.
    """
    rng = np.random.default_rng(0x5EED)
    d = rows.shape[1]
    salt = rng.integers(0, 2**63, size=d, dtype=np.uint64)
    weight = rng.integers(0, 2**63, size=d, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
    x = np.ascontiguousarray(rows).view(np.uint64) ^ salt
    x ^= x >> np.uint64(30)
    x *= np.uint64(0xBF58476D1CE4E5B9)
    x ^= x >> np.uint64(27)
    x *= np.uint64(0x94D049BB133111EB)
    x ^= x >> np.uint64(31)
    first = x.sum(axis=1, dtype=np.uint64)
    x *= weight
    return [first, x.sum(axis=1, dtype=np.uint64)]


def duplicate_mask(table: pa.Table, columns: list[str]) -> BoolArray:
    """Rows equal on ``columns`` to an earlier row (pandas ``duplicated(keep="first")``).

    Missing values (null, NaN) compare equal to each other, as in pandas.
    """
    arrays = [key for c in columns for key in _keys(table.column(c))]
    names = [f"k{i}" for i in range(len(arrays))]
    keys = pa.table(dict(zip(names, arrays, strict=True)))
    keys = keys.append_column(ROW, pa.array(np.arange(table.num_rows, dtype=np.int64)))
    firsts = keys.group_by(names, use_threads=False).aggregate([(ROW, "min")])
    mask = np.ones(table.num_rows, dtype=bool)
    mask[np.asarray(firsts.column(f"{ROW}_min").to_numpy(), dtype=np.int64)] = False
    return mask


def out_of_domain_mask(table: pa.Table, column: str, domain: list[str]) -> BoolArray:
    """Non-null rows whose value (as a string) is not in ``domain``."""
    values = table.column(column)
    if not pa.types.is_string(values.type) and not pa.types.is_large_string(values.type):
        values = pc.cast(values, pa.string())
    inside = pc.is_in(values, value_set=pa.array(domain, type=pa.string()))
    return _to_bool(pc.and_(pc.is_valid(values), pc.invert(inside)))


def out_of_range_mask(table: pa.Table, column: str, lo: float, hi: float) -> BoolArray:
    """Non-missing rows whose value lies outside ``[lo, hi]``."""
    values = numeric_values(table, column)
    with np.errstate(invalid="ignore"):
        return (values < lo) | (values > hi)
