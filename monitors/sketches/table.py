"""Profile a table by its dataset schema, and read a profile sent by a client.

>>> import pyarrow as pa
>>> from dqm.monitors.schema import ColumnSpec, Schema
>>> schema = Schema(columns=[ColumnSpec(name="id", type="categorical", role="id"),
...     ColumnSpec(name="age", type="numerical"), ColumnSpec(name="city", type="categorical")])
>>> table = pa.table({"id": ["a", "b"], "age": [30.0, None], "city": ["paris", "paris"]})
>>> sorted(profile_table(table, schema).columns)
['age', 'city']
"""

from __future__ import annotations

from collections.abc import Mapping

import pyarrow as pa

from dqm.monitors.columns import FloatArray
from dqm.monitors.errors import InvalidInputError
from dqm.monitors.schema import Schema
from dqm_client.profiles import BatchProfile, codec, profile_arrow
from dqm_client.profiles import profiled_types as client_profiled_types
from dqm_client.profiles.batch import ProfiledType
from dqm_client.profiles.numeric import NumericProfile


def profiled_types(schema: Schema) -> dict[str, ProfiledType]:
    """The columns a profile of this dataset holds, with their type."""
    return client_profiled_types(schema.model_dump(by_alias=True))


def profile_table(
    table: pa.Table,
    schema: Schema,
    edges: Mapping[str, FloatArray] | None = None,
    reference_version: int | None = None,
) -> BatchProfile:
    """The profile of every monitored numerical and categorical column of ``table``."""
    return profile_arrow(table, profiled_types(schema), edges, reference_version)


def read_profile(data: bytes, schema: Schema) -> BatchProfile:
    """Decode a client's profile and check it against the schema (422 on a mismatch)."""
    try:
        profile = codec.decode(data)
    except codec.ProfileFormatError as exc:
        raise InvalidInputError(str(exc)) from exc
    expected = profiled_types(schema)
    unknown = sorted(set(profile.columns) - set(expected))
    if unknown:
        raise InvalidInputError(
            f"the profile has columns the schema does not monitor: {unknown}",
            [{"column": c} for c in unknown],
        )
    wrong = [
        {"column": name, "expected": expected[name]}
        for name, column in profile.columns.items()
        if (expected[name] == "numerical") != isinstance(column, NumericProfile)
    ]
    if wrong:
        raise InvalidInputError("profile columns of the wrong type", wrong)
    return profile
