"""The profile of a batch: one mergeable profile per profiled column.

>>> import pyarrow as pa
>>> table = pa.table({"age": [30.0, None], "city": ["paris", "paris"]})
>>> p = profile_arrow(table, {"age": "numerical", "city": "categorical"})
>>> p.rows, sorted(p.columns), p.columns["age"].nulls, p.columns["city"].counts()
(2, ['age', 'city'], 1, {'paris': 2})
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import reduce
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dqm_client.profiles.categorical import CategoricalProfile
from dqm_client.profiles.numeric import NumericProfile
from dqm_client.profiles.types import FloatArray

FORMAT_VERSION = 1
ColumnProfile = NumericProfile | CategoricalProfile
ProfiledType = Literal["numerical", "categorical"]
# ids and timestamps are not monitored; text, embeddings and datetimes need rows.
UNPROFILED_ROLES = ("id", "timestamp")


def profiled_types(schema: Mapping[str, Any]) -> dict[str, ProfiledType]:
    """The columns a profile of a dataset holds, from its schema as the API returns it.

    >>> profiled_types({"columns": [{"name": "id", "type": "categorical", "role": "id"},
    ...     {"name": "age", "type": "numerical"}, {"name": "note", "type": "text"}]})
    {'age': 'numerical'}
    """
    types: dict[str, ProfiledType] = {}
    for column in schema["columns"]:
        kind, role = column["type"], column.get("role", "feature")
        if kind in ("numerical", "categorical") and role not in UNPROFILED_ROLES:
            types[str(column["name"])] = kind
    return types


@dataclass
class BatchProfile:
    """Rows seen, the reference version whose bins the histograms use, and column profiles."""

    rows: int = 0
    reference_version: int | None = None
    columns: dict[str, ColumnProfile] = field(default_factory=dict)

    def merge(self, other: BatchProfile) -> BatchProfile:
        """The profile of both batches; a column missing on one side keeps the other's."""
        names = list(self.columns) + [n for n in other.columns if n not in self.columns]
        merged = BatchProfile(rows=self.rows + other.rows)
        versions = {self.reference_version, other.reference_version} - {None}
        merged.reference_version = versions.pop() if len(versions) == 1 else None
        for name in names:
            mine, theirs = self.columns.get(name), other.columns.get(name)
            merged.columns[name] = _merge_column(name, mine, theirs)
        return merged


def merge_all(profiles: Iterable[BatchProfile]) -> BatchProfile:
    """The profile of every batch in ``profiles`` (empty: an empty profile)."""
    return reduce(BatchProfile.merge, profiles, BatchProfile())


def profile_arrow(
    table: pa.Table,
    types: Mapping[str, ProfiledType],
    edges: Mapping[str, FloatArray] | None = None,
    reference_version: int | None = None,
) -> BatchProfile:
    """Profile the columns of ``table`` named in ``types`` (absent ones are left out).

    Numbers are read as float64 (null, NaN and infinities count as nulls); categories by
    their string form. ``edges`` (per column, fixed by ``reference_version``) adds exact
    counts on those bins.
    """
    profile = BatchProfile(rows=table.num_rows, reference_version=reference_version)
    for name, kind in types.items():
        if name not in table.column_names:
            continue
        column = table.column(name)
        if kind == "numerical":
            bins = None if edges is None else edges.get(name)
            profile.columns[name] = NumericProfile.of(_floats(column), bins)
        else:
            profile.columns[name] = _categories(column)
    return profile


def _floats(column: pa.ChunkedArray) -> FloatArray:
    values = np.asarray(
        pc.cast(column, pa.float64()).to_numpy(zero_copy_only=False), dtype=np.float64
    )
    return np.where(np.isinf(values), np.nan, values)


def _categories(column: pa.ChunkedArray) -> CategoricalProfile:
    if not pa.types.is_string(column.type) and not pa.types.is_large_string(column.type):
        column = pc.cast(column, pa.string())
    counted = pc.value_counts(pc.drop_null(column))
    values = counted.field("values").to_pylist()
    counts = counted.field("counts").to_pylist()
    return CategoricalProfile.from_counts(dict(zip(values, counts, strict=True)), column.null_count)


def _merge_column(
    name: str, mine: ColumnProfile | None, theirs: ColumnProfile | None
) -> ColumnProfile:
    if mine is None or theirs is None:
        kept = mine if theirs is None else theirs
        assert kept is not None
        return kept
    if isinstance(mine, NumericProfile) and isinstance(theirs, NumericProfile):
        return mine.merge(theirs)
    if isinstance(mine, CategoricalProfile) and isinstance(theirs, CategoricalProfile):
        return mine.merge(theirs)
    raise ValueError(f"column {name!r} is numerical in one profile and categorical in the other")
