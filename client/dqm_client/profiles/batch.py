"""The profile of a batch: one mergeable profile per monitored column.

>>> import pyarrow as pa
>>> from dqm.monitors.schema import ColumnSpec, Schema
>>> schema = Schema(columns=[ColumnSpec(name="id", type="categorical", role="id"),
...     ColumnSpec(name="age", type="numerical"), ColumnSpec(name="city", type="categorical")])
>>> table = pa.table({"id": ["a", "b"], "age": [30.0, None], "city": ["paris", "paris"]})
>>> p = profile_table(table, schema)
>>> p.rows, sorted(p.columns), p.columns["age"].nulls, p.columns["city"].counts()
(2, ['age', 'city'], 1, {'paris': 2})
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import reduce

import pyarrow as pa

from dqm.monitors.columns import FloatArray, category_counts, numeric_values
from dqm.monitors.errors import InvalidInputError
from dqm.monitors.schema import ColumnSpec, Schema
from dqm.monitors.sketches.categorical import CategoricalProfile
from dqm.monitors.sketches.numeric import NumericProfile

FORMAT_VERSION = 1
ColumnProfile = NumericProfile | CategoricalProfile
# Columns whose values are summarised; ids and timestamps are not monitored, and text,
# embeddings and datetimes need rows.
PROFILED_TYPES = ("numerical", "categorical")
UNPROFILED_ROLES = ("id", "timestamp")


def is_profiled(spec: ColumnSpec) -> bool:
    return spec.type in PROFILED_TYPES and spec.role not in UNPROFILED_ROLES


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


def profile_table(
    table: pa.Table,
    schema: Schema,
    edges: Mapping[str, FloatArray] | None = None,
    reference_version: int | None = None,
) -> BatchProfile:
    """Profile every monitored numerical and categorical column of ``table``.

    ``edges`` (per column, fixed by ``reference_version``) adds exact counts on those bins.
    """
    profile = BatchProfile(rows=table.num_rows, reference_version=reference_version)
    for spec in schema.columns:
        if not is_profiled(spec) or spec.name not in table.column_names:
            continue
        if spec.type == "numerical":
            bins = None if edges is None else edges.get(spec.name)
            profile.columns[spec.name] = NumericProfile.of(numeric_values(table, spec.name), bins)
        else:
            cats, counts, nulls = category_counts(table, spec.name)
            exact = dict(zip(cats.tolist(), counts.tolist(), strict=True))
            profile.columns[spec.name] = CategoricalProfile.from_counts(exact, nulls)
    return profile


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
    raise InvalidInputError(
        f"column {name!r} is numerical in one profile and categorical in the other",
        [{"column": name}],
    )
